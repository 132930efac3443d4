"""What a sweep is asked to do and what it reports: the configuration, its identity, the
grid's order, the rule that ends a cell, and the result.

Nothing here touches a model, a meter, a shard or the store, so a configuration can be
built, checked and hashed (to find a shard to resume) before anything is measured.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import socket
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from measure.llm import TINY_MODEL_ID, canonical_dtype
from measure.meters import DEFAULT_WATTS_PER_CORE

DEFAULT_GRID = (8, 16, 32, 64, 128, 256, 512, 1024, 2048)
# The settings a resumed run must share with its shard (compared through config_hash).
IDENTITY_FIELDS = (
    "model",
    "model_name",
    "system",
    "inputs",
    "outputs",
    "batch_size",
    "kv_cache",
    "dtype",
    "device",
    "max_trials",
    "min_trials",
    "ci_halfwidth_s",
    "seed",
    "meters",
    "watts_per_core",
    "gpu_indices",
    "threads",
)


class SweepError(ValueError):
    """A sweep cannot start as configured; the message names the setting."""


@dataclass
class SweepConfig:
    model: str = TINY_MODEL_ID
    system: str | None = None  # None: "<host>-<device>"
    inputs: Sequence[int] = DEFAULT_GRID
    outputs: Sequence[int] = DEFAULT_GRID
    batch_size: int = 1
    kv_cache: bool = True
    dtype: str = "float32"
    device: str = "cpu"
    max_trials: int = 25
    ci_halfwidth_s: float = 0.5
    seed: int = 0
    db: str | Path | None = None  # None: the default store
    shard_dir: str | Path | None = None  # None: measure.paths.DEFAULT_SHARD_DIR
    resume: bool = False
    min_trials: int = 3
    warmup: int = 2
    meters: str = "auto"
    watts_per_core: float = DEFAULT_WATTS_PER_CORE
    gpu_indices: list[int] | None = None
    idle_s: float = 0.0  # > 0: measure idle power first and subtract it
    min_window_s: float | None = None  # None: the meter's own
    run_id: str | None = None
    model_name: str | None = None
    ingest_every_s: float = 5.0
    show_progress: bool = True
    ingest: bool = True  # False: shard only (merge later, e.g. on Slurm)
    threads: int | None = None  # torch CPU threads (None: torch's default)

    def validated(self) -> SweepConfig:
        grid = {}
        for name in ("inputs", "outputs"):
            values = sorted({int(v) for v in getattr(self, name)})
            if not values or values[0] < 1:
                raise SweepError(
                    f"{name} must be positive token counts, got {getattr(self, name)!r}"
                )
            grid[name] = values
        for name in ("batch_size", "max_trials", "min_trials"):
            if int(getattr(self, name)) < 1:
                raise SweepError(f"{name} must be at least 1, got {getattr(self, name)!r}")
        if not self.ci_halfwidth_s > 0:
            raise SweepError(f"ci_halfwidth_s must be positive, got {self.ci_halfwidth_s!r}")
        if self.threads is not None and int(self.threads) < 1:
            raise SweepError(f"threads must be at least 1, got {self.threads!r}")
        if self.idle_s < 0 or self.warmup < 0:
            raise SweepError("idle_s and warmup must not be negative")
        try:
            dtype = canonical_dtype(self.dtype)
        except ValueError as exc:
            raise SweepError(str(exc)) from None
        system = self.system or f"{socket.gethostname()}-{self.device}"
        return replace(
            self,
            **grid,
            dtype=dtype,
            system=system,
            min_trials=min(int(self.min_trials), int(self.max_trials)),
        )

    def identity(self) -> dict:
        return {name: getattr(self, name) for name in IDENTITY_FIELDS}

    def config_hash(self) -> str:
        text = json.dumps(self.identity(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class SweepResult:
    run_id: str
    shard_path: Path
    n_trials: int  # trials in the shard (all sessions)
    rows_in_store: int  # this run's measurement rows in the store
    new_trials: int = 0  # trials measured by this call
    cells_done: int = 0
    cells_total: int = 0
    interrupted: bool = False
    energy_source: str = ""
    ingest_errors: list[str] = field(default_factory=list)  # store updates that failed
    # the last store update failed, so the store lacks trials the shard has (earlier
    # failures alone are made good by the next update, which adds every trial not yet in)
    store_behind: bool = False


def config_record(config: SweepConfig) -> dict:
    """The configuration as a shard header stores it (paths as text)."""
    record = asdict(config)
    record["db"] = str(record["db"]) if record["db"] else None
    record["shard_dir"] = str(record["shard_dir"]) if record["shard_dir"] else None
    return record


def grid_order(config: SweepConfig) -> list[tuple[int, int]]:
    """The grid's cells in a seeded random order (the paper's method); the same seed gives
    the same order, so a resumed run continues the same sequence."""
    cells = [(i, o) for i in config.inputs for o in config.outputs]
    random.Random(config.seed).shuffle(cells)
    return cells


def runtime_ci_halfwidth_s(runtimes_s: Sequence[float]) -> float:
    """Half-width of the 95% Student-t confidence interval of the mean runtime."""
    n = len(runtimes_s)
    if n < 2:
        return math.inf
    # scipy loads here, not with the module: every `python -m measure` command (an import,
    # too) builds the sweep's parser, which reads this module's defaults.
    from scipy import stats

    sd = float(np.std(runtimes_s, ddof=1))
    return float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n))


def cell_stop_reason(runtimes_s: Sequence[float], config: SweepConfig) -> str | None:
    """Why a cell is complete (``"ci"``, ``"max_trials"``), or None to keep measuring."""
    n = len(runtimes_s)
    if n >= config.max_trials:
        return "max_trials"
    if (
        n >= max(config.min_trials, 2)
        and runtime_ci_halfwidth_s(runtimes_s) <= config.ci_halfwidth_s
    ):
        return "ci"
    return None
