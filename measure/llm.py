"""Models for sweeps: the built-in ``tiny-llama`` (no download), local paths, hub ids.

``tiny-llama`` is a transformers Llama built from a small config (hidden 128, 2 layers,
4 heads, vocabulary 1,024) with seeded random weights: it generates real tokens through
the real ``generate`` loop, so tests and demos run a whole sweep on a CPU in seconds.
Its energy figures describe that toy network, nothing else.

A local directory is loaded with ``local_files_only``; anything else is treated as a
Hugging Face hub id and downloaded only then (it needs a network).  Prompts are token ids
(exactly ``tin`` per sequence) and generation produces exactly ``tout`` new tokens
(``min_new_tokens = max_new_tokens``, so end-of-sequence cannot stop it early).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

TINY_MODEL_ID = "tiny-llama"
TINY_CONFIG = dict(
    hidden_size=128,
    intermediate_size=256,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=4,
    vocab_size=1024,
    max_position_embeddings=8192,
    bos_token_id=1,
    eos_token_id=2,
    pad_token_id=0,
)
DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
}


class ModelLoadError(RuntimeError):
    """The model could not be built or loaded; the message says which and why."""


@dataclass
class LoadedModel:
    model: object
    name: str  # the name rows carry (the id the user gave; a path's folder)
    origin: str  # "built-in", a local path, or a hub id
    device: str
    dtype: str
    vocab_size: int
    excluded_ids: list[int] = field(default_factory=list)  # special tokens kept out of prompts
    pad_token_id: int = 0
    eos_token_id: int | list[int] | None = None

    def describe(self) -> dict:
        cfg = self.model.config
        return {
            "name": self.name,
            "origin": self.origin,
            "device": self.device,
            "dtype": self.dtype,
            "architecture": type(self.model).__name__,
            "vocab_size": self.vocab_size,
            "n_parameters": int(sum(p.numel() for p in self.model.parameters())),
            "hidden_size": getattr(cfg, "hidden_size", None),
            "num_hidden_layers": getattr(cfg, "num_hidden_layers", None),
        }


def canonical_dtype(dtype: str) -> str:
    try:
        return DTYPES[dtype.lower()]
    except KeyError:
        raise ValueError(
            f"unknown dtype {dtype!r}: choose one of {', '.join(sorted(set(DTYPES.values())))}"
        ) from None


def check_device(device: str) -> None:
    """Raise ValueError, naming the fix, unless torch can run on ``device`` here."""
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        raise ValueError(f"unknown device {device!r}: use cpu, cuda or cuda:N") from None
    if dev.type == "cpu":
        return
    if dev.type != "cuda":
        raise ValueError(f"device {device!r} is not supported: use cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise ValueError(
            f"device {device!r}: torch {torch.__version__} sees no CUDA GPU here "
            "(a CPU-only torch build, no NVIDIA driver, or CUDA_VISIBLE_DEVICES "
            "hides them): use --device cpu or run on a GPU node"
        )
    if dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(
            f"device {device!r}: torch sees only {torch.cuda.device_count()} "
            "CUDA GPU(s), numbered from 0"
        )


def import_backends() -> None:
    """Import torch and transformers (seconds, once) so a metered model load excludes it."""
    import torch  # noqa: F401
    import transformers  # noqa: F401


def build_tiny_llama(seed: int = 0, dtype: str = "float32", device: str = "cpu"):
    """The built-in toy Llama, identical for equal seeds."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    cpu_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = LlamaForCausalLM(LlamaConfig(**TINY_CONFIG))
    finally:
        torch.random.set_rng_state(cpu_state)
    # train(False) is eval mode: no dropout
    return model.to(device=device, dtype=getattr(torch, canonical_dtype(dtype))).train(False)


def load_model(
    model_id: str,
    device: str = "cpu",
    dtype: str = "float32",
    seed: int = 0,
    name: str | None = None,
) -> LoadedModel:
    """Build ``tiny-llama``, or load a local path, or (online) a hub id."""
    dtype = canonical_dtype(dtype)
    if model_id == TINY_MODEL_ID:
        model = build_tiny_llama(seed, dtype, device)
        return _loaded(model, name or TINY_MODEL_ID, "built-in", device, dtype, [])
    path = Path(model_id).expanduser()
    local = path.exists()
    try:
        import torch
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(
            str(path) if local else model_id, dtype=getattr(torch, dtype), local_files_only=local
        )
    except (OSError, ValueError) as exc:
        where = f"local path {path}" if local else f"hub id {model_id!r} (needs a network)"
        raise ModelLoadError(f"cannot load model from {where}: {exc}".splitlines()[0]) from exc
    model = model.to(device).train(False)  # eval mode: no dropout
    excluded = _special_ids(str(path) if local else model_id, local, model.config)
    return _loaded(
        model,
        name or (path.name if local else model_id),
        str(path.resolve()) if local else model_id,
        device,
        dtype,
        excluded,
    )


def check_context_length(loaded: LoadedModel, longest_tokens: int) -> None:
    """Refuse a grid whose longest sequence (input + output tokens) exceeds the model's
    context: transformers only warns, and a real model then fails mid-sweep."""
    limit = getattr(loaded.model.config, "max_position_embeddings", None)
    if isinstance(limit, int) and longest_tokens > limit:
        raise ModelLoadError(
            f"the grid's longest sequence ({longest_tokens} tokens: largest input + largest "
            f"output) exceeds {loaded.name}'s context of {limit} tokens; shrink --inputs/--outputs"
        )


def _special_ids(source: str, local: bool, config) -> list[int]:
    ids = {getattr(config, k, None) for k in ("bos_token_id", "eos_token_id", "pad_token_id")}
    try:
        from transformers import AutoTokenizer

        ids |= set(AutoTokenizer.from_pretrained(source, local_files_only=local).all_special_ids)
    except (OSError, ValueError):
        pass  # no tokenizer: the config's special ids are kept out of prompts
    flat: set[int] = set()
    for value in ids:
        flat |= set(value) if isinstance(value, (list, tuple)) else {value}
    return sorted(i for i in flat if isinstance(i, int))


def _loaded(model, name, origin, device, dtype, excluded) -> LoadedModel:
    cfg = model.config
    excluded = sorted(
        set(excluded)
        | {i for i in (cfg.bos_token_id, cfg.pad_token_id, cfg.eos_token_id) if isinstance(i, int)}
    )
    pad = (
        cfg.pad_token_id
        if cfg.pad_token_id is not None
        else (cfg.eos_token_id if isinstance(cfg.eos_token_id, int) else 0)
    )
    return LoadedModel(
        model,
        name,
        origin,
        device,
        dtype,
        int(cfg.vocab_size),
        excluded,
        int(pad),
        cfg.eos_token_id,
    )


def make_prompt(loaded: LoadedModel, tin: int, batch_size: int, seed_parts: tuple[int, ...]):
    """``batch_size`` prompts of exactly ``tin`` random non-special token ids (seeded)."""
    import torch

    rng = np.random.default_rng(list(seed_parts))
    allowed = np.setdiff1d(np.arange(loaded.vocab_size), loaded.excluded_ids)
    ids = rng.choice(allowed, size=(batch_size, tin), replace=True)
    return torch.as_tensor(ids, dtype=torch.long, device=loaded.device)


def generate_exact(loaded: LoadedModel, input_ids, tout: int, kv_cache: bool = True) -> int:
    """Generate exactly ``tout`` new tokens per sequence; returns the count generated
    (the shortest sequence's, which equals ``tout`` unless the model refused)."""
    import torch
    from transformers import GenerationConfig

    config = GenerationConfig(
        max_new_tokens=tout,
        min_new_tokens=tout,
        do_sample=False,
        use_cache=kv_cache,
        pad_token_id=loaded.pad_token_id,
        eos_token_id=loaded.eos_token_id,
    )
    with torch.inference_mode():
        out = loaded.model.generate(
            input_ids=input_ids, attention_mask=torch.ones_like(input_ids), generation_config=config
        )
    if str(loaded.device).startswith("cuda"):
        torch.cuda.synchronize()
    return int(out.shape[1] - input_ids.shape[1])
