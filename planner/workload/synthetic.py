"""Synthetic workload shapes as token-count arrays, with numpy only (no pandas), so the
dashboard can draw a synthetic workload before its heavier imports."""

from __future__ import annotations

import numpy as np

SYNTHETIC_SHAPES = {
    # kind: (median input, sigma, input clip), (median output, sigma, output clip)
    # Shapes only, not data: Alpaca-like chat (short prompts, answers of a few hundred
    # tokens), GSM8K-like math (a paragraph in, a worked answer out) and code generation.
    "chat": ((20, 0.7, (4, 512)), (180, 0.6, (8, 1024))),
    "math": ((70, 0.35, (20, 400)), (130, 0.4, (30, 512))),
    "code": ((130, 0.6, (16, 1024)), (250, 0.6, (16, 1024))),
}


def synthetic_tokens(kind: str, n_queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(input tokens, output tokens) of a seeded made-up workload, one entry per query."""
    if kind not in SYNTHETIC_SHAPES:
        raise ValueError(
            f"unknown synthetic workload {kind!r}: use one of {', '.join(SYNTHETIC_SHAPES)}"
        )
    if int(n_queries) < 1:
        raise ValueError(f"n_queries must be at least 1, got {n_queries}")
    rng = np.random.default_rng(seed)
    cols = []
    for median, sigma, (lo, hi) in SYNTHETIC_SHAPES[kind]:
        draw = rng.lognormal(np.log(median), sigma, int(n_queries))
        cols.append(np.clip(np.round(draw), lo, hi).astype(np.int64))
    return cols[0], cols[1]
