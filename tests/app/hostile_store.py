"""A paper-format measurement file whose model and system names hold HTML and markdown, and
a store it is imported into, for the tests that check every page and export shows such
names as plain text."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

# A system named as in the issue: a link Plotly would draw live if it read the name as markup.
LINK_SYSTEM = '<a href="https://example.com/phish">Swing A100 (click for specs)</a>'
MARKDOWN_SYSTEM = "[M1 specs](https://example.com/md-system) **fast**"
# An LLM no accuracy default covers (the Planner asks for its A_K), HTML and markdown both.
LINK_MODEL = '<a href="https://example.com/model">Llama</a> [docs](https://example.com/md-model)'
# Markdown around a leaderboard name: its accuracy default still applies.
BOLD_MODEL = "**Llama-2 (7B)**"
EVIL_DOMAIN = "example.com"
ARMS = ((LINK_MODEL, LINK_SYSTEM), (LINK_MODEL, MARKDOWN_SYSTEM), (BOLD_MODEL, LINK_SYSTEM))
TOKENS = (8, 32, 128, 512)
HEADER = (
    "Phase",
    "Runtime (s)",
    "CPU Energy (J)",
    "GPU Energy (J)",
    "Number of Output Tokens",
    "Number of Input Tokens",
    "Model",
    "System",
)


def hostile_csv() -> bytes:
    """A 4 x 4 (input, output) grid per arm, energies and runtimes near a paper-form curve."""
    rng = np.random.default_rng(11)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for k, (model, system) in enumerate(ARMS):
        scale = 1.0 + 0.5 * k
        for tin in TOKENS:
            for tout in TOKENS:
                noise = rng.uniform(0.97, 1.03, size=3)
                gpu_j = scale * (0.2 * tin + 30.0 * tout + 0.04 * tin * tout) * noise[0]
                cpu_j = scale * (0.05 * tin + 3.0 * tout) * noise[1]
                runtime_s = scale * (0.001 * tin + 0.08 * tout) * noise[2]
                writer.writerow(
                    (f"inference-{tin}-{tout}", runtime_s, cpu_j, gpu_j, tout, tin, model, system)
                )
    return out.getvalue().encode("utf-8")


def hostile_store(path: Path) -> Path:
    """``path``, a new store holding the hostile file's measurements."""
    from measure.importers import import_file
    from measure.store import Store

    summary = import_file(
        "hostile.csv", Store(path), display_name="hostile.csv", data=hostile_csv()
    )
    assert summary.n_measurements == len(ARMS) * len(TOKENS) ** 2, summary
    assert not summary.flag_counts, summary.flag_counts
    return path
