"""One identity per LLM: the names sources use, mapped to one canonical LLM and what is
known of it.

Sources spell one LLM differently: the paper's grid file says ``Mistral-7B-v0.1``, its
systems sweeps ``Mistral (7B)``, the hub ``mistralai/Mistral-7B-v0.1``.  The planner treats
them as one LLM (one accuracy score, one share, one ``[llm."X"]`` entry in a fleet file,
whichever spelling it uses); the data keep each source's spelling (the store, fit reports
and arms' ``model``), and an arm's ``llm`` is the canonical name.

Each entry records only what a public source gives, with that source:

- ``accuracy``: A_K in percent.  The seven LLMs of Wilkins, Keshav and Mortier carry the
  Open LLM Leaderboard averages the paper used.  The ML.ENERGY LLMs carry GPQA Diamond
  accuracy as their developers report it (model card or technical report, named with its URL
  and setting in ``accuracy_source``), GPQA Diamond being the benchmark reported for most of
  them and the one ML.ENERGY's ``gpqa`` task serves.  The two groups' scores come from
  different benchmarks and are not comparable with each other.  Where a source gives none,
  the score is None (none is invented), and the LLM is planned only once a score is given.
- ``context_tokens``: the longest sequence (input plus output tokens) one instance takes,
  from the model's ``config.json`` (``max_position_embeddings``) or model card.
- ``devices_per_instance``: the least GPUs one instance needs, where a source gives it.
- ``params_b`` (and ``active_params_b`` for mixtures of experts): parameters in billions.

Names match case-insensitively, ignoring everything but letters and digits
(``Falcon (7B)`` = ``falcon-7b``).  A name the registry does not know is its own LLM.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from measure.importers.mlenergy import CITATION as _MLENERGY_CITATION
from measure.llm import TINY_CONFIG, TINY_MODEL_ID

ACCURACY_CITATION = (
    "Open LLM Leaderboard average scores as used by Wilkins, Keshav and "
    "Mortier, HotCarbon '24 (thesis Table 4.1)"
)
DEVICES_CITATION = "minimum A100 40 GB GPUs per instance, Wilkins et al. (thesis Table 4.1)"
# parameter counts and architecture facts read from the leaderboard's index.json
MLENERGY_CITATION = f"index.json of {_MLENERGY_CITATION}"

# GPQA Diamond accuracy of the ML.ENERGY LLMs, each as its developer reports it.  Meta's
# Llama 3.3 card reports all four Llama 3.x instruct models in one table.  Qwen3's report
# gives each hybrid model in thinking and non-thinking mode; the thinking-mode figure is used
# (the models' default mode, and the one ML.ENERGY's GPQA Diamond task runs them in; its chat
# task runs them without thinking, so a fleet may give that task the non-thinking figure).
_LLAMA33_CARD = (
    "GPQA Diamond (CoT), 0-shot, acc, instruction-tuned models table of Meta's Llama 3.3 "
    "model card, https://github.com/meta-llama/llama-models/blob/main/models/llama3_3/"
    "MODEL_CARD.md"
)
_QWEN3_REPORT = (
    "GPQA-Diamond, thinking mode (non-thinking mode: {plain}), Qwen3 Technical Report "
    "(Qwen Team 2025) Table {table}, https://arxiv.org/abs/2505.09388"
)


@dataclass(frozen=True)
class LLMInfo:
    """One LLM: its canonical name, the other names sources use, and what is known of it
    (None where no source says)."""

    name: str
    family: str
    aliases: tuple[str, ...] = ()
    params_b: float | None = None
    active_params_b: float | None = None
    params_source: str | None = None
    accuracy: float | None = None
    accuracy_source: str | None = None
    context_tokens: int | None = None
    context_source: str | None = None
    devices_per_instance: int | None = None
    devices_source: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def _config(repo: str, value: int, extra: str = "") -> str:
    return f"max_position_embeddings = {value} in {repo}'s config.json{extra}"


def _wilkins(name, family, aliases, params_b, accuracy, context, context_source, devices, **kw):
    return LLMInfo(
        name=name,
        family=family,
        aliases=aliases,
        params_b=params_b,
        params_source=kw.pop("params_source", "the model's name"),
        accuracy=accuracy,
        accuracy_source=ACCURACY_CITATION,
        context_tokens=context,
        context_source=context_source,
        devices_per_instance=devices,
        devices_source=DEVICES_CITATION,
        **kw,
    )


_FALCON_CONTEXT = (
    "the 2048-token sequence length {repo} was trained with (its model card), which is "
    "also transformers' FalconConfig max_position_embeddings"
)


def _mlenergy(
    repo: str,
    family: str,
    nickname: str,
    params_b: float,
    context: int,
    accuracy: float | None = None,
    accuracy_source: str | None = None,
) -> LLMInfo:
    return LLMInfo(
        name=repo,
        family=family,
        aliases=(repo.split("/", 1)[1], nickname),
        params_b=params_b,
        params_source=MLENERGY_CITATION,
        accuracy=accuracy,
        accuracy_source=accuracy_source,
        context_tokens=context,
        context_source=_config(repo, context),
    )


LLMS: tuple[LLMInfo, ...] = (
    # The paper's seven LLMs, named as its accuracy table (thesis Table 4.1) names them.
    _wilkins(
        "Falcon (7B)",
        "Falcon",
        ("falcon-7b", "tiiuae/falcon-7b"),
        7.0,
        44.17,
        2048,
        _FALCON_CONTEXT.format(repo="tiiuae/falcon-7b"),
        1,
    ),
    _wilkins(
        "Falcon (40B)",
        "Falcon",
        ("falcon-40b", "tiiuae/falcon-40b"),
        40.0,
        58.07,
        2048,
        _FALCON_CONTEXT.format(repo="tiiuae/falcon-40b"),
        3,
    ),
    _wilkins(
        "Llama-2 (7B)",
        "Llama-2",
        ("Llama-2-7b-chat-hf", "meta-llama/Llama-2-7b-chat-hf"),
        7.0,
        50.97,
        4096,
        _config("meta-llama/Llama-2-7b-chat-hf", 4096),
        1,
    ),
    _wilkins(
        "Llama-2 (13B)",
        "Llama-2",
        ("Llama-2-13b-chat-hf", "meta-llama/Llama-2-13b-chat-hf"),
        13.0,
        55.69,
        4096,
        _config("meta-llama/Llama-2-13b-chat-hf", 4096),
        1,
    ),
    _wilkins(
        "Llama-2 (70B)",
        "Llama-2",
        ("Llama-2-70b-chat-hf", "meta-llama/Llama-2-70b-chat-hf"),
        70.0,
        64.52,
        4096,
        _config("meta-llama/Llama-2-70b-chat-hf", 4096),
        4,
    ),
    _wilkins(
        "Mistral (7B)",
        "Mistral",
        ("Mistral-7B-v0.1", "mistralai/Mistral-7B-v0.1"),
        7.0,
        60.97,
        32768,
        _config(
            "mistralai/Mistral-7B-v0.1",
            32768,
            " (attention is over a sliding window of 4096 tokens)",
        ),
        1,
    ),
    _wilkins(
        "Mixtral (8x7B)",
        "Mixtral",
        ("Mixtral-8x7B-v0.1", "mistralai/Mixtral-8x7B-v0.1"),
        46.7,
        68.47,
        32768,
        _config("mistralai/Mixtral-8x7B-v0.1", 32768),
        3,
        active_params_b=12.9,
        params_source="Mistral AI's Mixtral of Experts announcement (46.7B total, 12.9B per token)",
    ),
    # LLMs of the ML.ENERGY Leaderboard v3 (named as it names them), with GPQA Diamond scores.
    _mlenergy(
        "meta-llama/Llama-3.1-8B-Instruct",
        "Llama-3.1",
        "Llama 3.1 8B Instruct",
        8,
        131072,
        31.8,
        _LLAMA33_CARD,
    ),
    _mlenergy(
        "meta-llama/Llama-3.1-70B-Instruct",
        "Llama-3.1",
        "Llama 3.1 70B Instruct",
        70,
        131072,
        48.0,
        _LLAMA33_CARD,
    ),
    _mlenergy(
        "meta-llama/Llama-3.1-405B-Instruct",
        "Llama-3.1",
        "Llama 3.1 405B Instruct",
        405,
        131072,
        49.0,
        _LLAMA33_CARD,
    ),
    _mlenergy(
        "meta-llama/Llama-3.3-70B-Instruct",
        "Llama-3.3",
        "Llama 3.3 70B Instruct",
        70,
        131072,
        50.5,
        _LLAMA33_CARD,
    ),
    _mlenergy(
        "Qwen/Qwen3-8B",
        "Qwen3",
        "Qwen 3 8B",
        8,
        40960,
        62.0,
        _QWEN3_REPORT.format(plain=39.3, table=17),
    ),
    _mlenergy(
        "Qwen/Qwen3-14B",
        "Qwen3",
        "Qwen 3 14B",
        14,
        40960,
        64.0,
        _QWEN3_REPORT.format(plain=54.8, table=15),
    ),
    _mlenergy(
        "Qwen/Qwen3-32B",
        "Qwen3",
        "Qwen 3 32B",
        32,
        40960,
        68.4,
        _QWEN3_REPORT.format(plain=54.6, table=13),
    ),
    # The sweeps' built-in model: random weights, so no accuracy score means anything.
    LLMInfo(
        name=TINY_MODEL_ID,
        family="Llama (random weights, for testing)",
        context_tokens=int(TINY_CONFIG["max_position_embeddings"]),
        context_source="max_position_embeddings of measure.llm.TINY_CONFIG",
    ),
)


def normalise(name: str) -> str:
    """The form names are matched in: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]+", "", str(name).lower())


def _index() -> dict[str, LLMInfo]:
    out: dict[str, LLMInfo] = {}
    for info in LLMS:
        for name in info.names:
            key = normalise(name)
            if key in out and out[key] is not info:
                raise AssertionError(
                    f"registry: {name!r} names both {out[key].name} and {info.name}"
                )
            out[key] = info
    return out


_BY_NAME = _index()


def lookup(name: str) -> LLMInfo | None:
    """The registry's entry for an LLM named as any source names it, or None."""
    return _BY_NAME.get(normalise(name))


def canonical_llm(name: str) -> str:
    """The canonical name of the LLM a source calls ``name`` (``name`` itself if unknown)."""
    info = lookup(name)
    return info.name if info is not None else str(name)
