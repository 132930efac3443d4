"""The serving setup: the key that one operating-point model is fitted on.

A setup is one LLM (the source's own spelling) on ``n_gpus`` GPUs of one kind, with one
weight precision, serving one task's prompt mix with one engine.  Its rows differ only in
the batch the server ran at (ML.ENERGY: vLLM's ``max_num_seqs``; measure-serve: the
concurrency or arrival rate), so they trace energy, throughput and latency against batch.
Parallelism (tensor / expert / data) is not part of the key: in ML.ENERGY v3 a (model,
system, n_gpus) triple has one parallel layout, and rows that repeat a batch are repeats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.fleet.registry import canonical_llm

SETUP_COLUMNS = ("model", "system", "n_gpus", "weight_precision", "task", "engine")
# Two rows whose mean batches differ by less than this fraction are the same batch size
# measured twice (ML.ENERGY repeats a few configurations: 255.80 and 255.70 requests at
# max_num_seqs 256); distinct batch sizes in the data differ by 10 % or more.
SAME_BATCH_FRACTION = 0.01


@dataclass(frozen=True, order=True)
class ServingSetup:
    """One serving arm's key (model in the store's spelling, never renamed)."""

    model: str
    system: str
    n_gpus: int
    weight_precision: str
    task: str
    engine: str

    @property
    def llm(self) -> str:
        """The canonical LLM this model is (``planner.fleet.registry``)."""
        return canonical_llm(self.model)

    @property
    def label(self) -> str:
        return f"{self.model} @ {self.system} x{self.n_gpus} ({self.weight_precision}, {self.task})"


def _key_value(value, column: str):
    if column == "n_gpus":
        return int(value)
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def group_setups(df: pd.DataFrame) -> dict[ServingSetup, pd.DataFrame]:
    """Serving rows per setup, each sorted by ``mean_batch`` (index kept, so a row can be
    traced back); setups in sorted order.  A missing key column is an error naming it; a
    missing value (NULL precision, task or engine) keys as ''."""
    missing = [c for c in ("model", "system", "n_gpus", "mean_batch") if c not in df.columns]
    if missing:
        raise ValueError(f"serving rows lack column(s) {missing}")
    frame = df.copy()
    for column in SETUP_COLUMNS:
        if column not in frame.columns:
            frame[column] = ""
    keys = frame[list(SETUP_COLUMNS)].astype(object).where(frame[list(SETUP_COLUMNS)].notna(), "")
    out: dict[ServingSetup, pd.DataFrame] = {}
    for values, rows in frame.groupby([keys[c] for c in SETUP_COLUMNS], sort=True):
        setup = ServingSetup(*(_key_value(v, c) for v, c in zip(values, SETUP_COLUMNS)))
        out[setup] = rows.sort_values("mean_batch", kind="stable")
    return dict(sorted(out.items()))


def merge_batches(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct batch size, sorted by ``mean_batch``: rows within
    ``SAME_BATCH_FRACTION`` of the first of their run are averaged (numeric columns only;
    a NULL figure stays out of its mean).  Column ``n_rows`` says how many were merged."""
    numeric = rows.select_dtypes(include="number").sort_values("mean_batch", kind="stable")
    batch = numeric["mean_batch"].to_numpy(dtype=float)
    group = np.zeros(len(batch), dtype=int)
    start = 0
    for i in range(1, len(batch)):
        if batch[i] > batch[start] * (1.0 + SAME_BATCH_FRACTION):
            start = i
            group[i] = group[i - 1] + 1
        else:
            group[i] = group[i - 1]
    merged = numeric.groupby(group).mean()
    merged["n_rows"] = np.bincount(group)
    return merged.reset_index(drop=True)
