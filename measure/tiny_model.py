"""`python -m measure tiny-model --out DIR`: the built-in tiny Llama as a folder any server
loads (``transformers serve DIR``, vLLM, ``measure sweep --model DIR``).

The folder holds the model of :func:`measure.llm.build_tiny_llama` (same config, same seeded
random weights), a word-level tokenizer whose words are ``w<id>`` (one word, one token, so
a prompt of n words is n tokens), and a trivial chat template.  No download is needed.

One change to the weights, and why: the output row of the end-of-sequence token is zeroed,
so its logit is 0 while the largest of the other 1,023 random logits is positive in
practice.  Greedy decoding then never ends early, and servers that refuse vLLM's
``ignore_eos`` / ``min_tokens`` (``transformers serve`` answers 422) still generate exactly
``max_tokens`` tokens.  The figures it yields describe this toy network, nothing else.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from measure.llm import TINY_CONFIG, build_tiny_llama

SPECIAL_TOKENS = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3}
# Roles and content joined by newlines: enough for /v1/chat/completions to work.
CHAT_TEMPLATE = (
    "{% for message in messages %}{{ message['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}{% endif %}"
)


def word(token_id: int) -> str:
    """The tokenizer's word for a token id (ids 0-3 are the special tokens)."""
    return f"w{token_id}"


def build_tokenizer(vocab_size: int = TINY_CONFIG["vocab_size"]):
    """A fast word-level tokenizer: ``"w17 w940"`` is the ids [17, 940], no BOS added."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = dict(SPECIAL_TOKENS)
    vocab.update({word(i): i for i in range(len(SPECIAL_TOKENS), vocab_size)})
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def write_tiny_model(out: Path | str, seed: int = 0) -> Path:
    """Write config, weights, generation config and tokenizer to ``out``; returns it."""
    import torch

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = build_tiny_llama(seed)
    with torch.no_grad():
        model.lm_head.weight[TINY_CONFIG["eos_token_id"]].zero_()
    model.generation_config.do_sample = False
    model.save_pretrained(out)
    build_tokenizer().save_pretrained(out)
    return out


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "tiny-model",
        help="write the built-in tiny Llama (config, random weights, tokenizer) to a folder",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", required=True, help="folder to write (created if absent)")
    p.add_argument("--seed", type=int, default=0, help="weights' seed (default %(default)s)")
    p.set_defaults(func=cmd_tiny_model)


def cmd_tiny_model(args) -> int:
    try:
        path = write_tiny_model(args.out, args.seed)
    except OSError as exc:
        print(f"error: cannot write the tiny model to {args.out}: {exc}", file=sys.stderr)
        return 1
    print(f"tiny model written to {path} (serve it with: transformers serve {path})")
    return 0
