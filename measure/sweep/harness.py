"""Measurement sweeps over an (input tokens x output tokens) grid, after the paper's method.

For each run: the model is loaded (a start-up phase, metered), optionally idle power is
measured, a warm-up runs, then grid cells are visited in a seeded random order; each cell
is repeated until the 95% confidence half-width of its runtime is within
``ci_halfwidth_s`` (after at least ``min_trials``) or ``max_trials`` is reached.  A trial
shorter than the meter's resolution (``min_window_s``) repeats its generation inside one
metered window and divides, so it is never reported as ~0 J.  Energies are per batch;
energy per query is energy / ``batch_size``.

Every finished trial is fsynced to the run's own shard (:mod:`measure.sweep.shards`) before the
next starts, and the shard is ingested into the store in short transactions every
``ingest_every_s`` seconds and at the end, so readers of the store never meet a lock held
for long.  ``resume=True`` continues the latest unfinished shard with the same
configuration.  Ctrl-C stops after the trial in flight.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import signal
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy import stats

from measure.llm import TINY_MODEL_ID, canonical_dtype, check_device
from measure.meters import DEFAULT_WATTS_PER_CORE, MeterReading, build_meter
from measure.paths import PROJECT_ROOT
from measure.store import Store, StoreError
from measure.sweep.shards import FORMAT_VERSION, Shard, ShardError, read_shard

DEFAULT_GRID = (8, 16, 32, 64, 128, 256, 512, 1024, 2048)
DEFAULT_SHARD_DIR = PROJECT_ROOT / "data" / "shards"
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
    shard_dir: str | Path | None = None  # None: data/shards
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
    ingest_errors: list[str] = field(default_factory=list)


def runtime_ci_halfwidth_s(runtimes_s: Sequence[float]) -> float:
    """Half-width of the 95% Student-t confidence interval of the mean runtime."""
    n = len(runtimes_s)
    if n < 2:
        return math.inf
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


def grid_order(config: SweepConfig) -> list[tuple[int, int]]:
    cells = [(i, o) for i in config.inputs for o in config.outputs]
    random.Random(config.seed).shuffle(cells)
    return cells


def run_sweep(
    config: SweepConfig,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> SweepResult:
    """Run (or resume) a sweep; see the module docstring.  ``progress(done, total)`` is
    called with completed grid cells; ``should_stop()`` returning True stops after the
    trial in flight, like Ctrl-C."""
    config = config.validated()
    shard_dir = Path(config.shard_dir) if config.shard_dir else DEFAULT_SHARD_DIR
    store = Store(config.db)
    _check_writable(shard_dir, "shard folder")
    if config.ingest:
        _check_writable(store.path.parent, "store's folder")
    try:
        check_device(config.device)
    except ValueError as exc:
        raise SweepError(str(exc)) from None
    shard_path, prior = _shard_target(config, shard_dir)
    from measure.sweep.run import SweepRun  # the per-run state machine

    meter = build_meter(
        config.meters,
        device=config.device,
        watts_per_core=config.watts_per_core,
        gpu_indices=config.gpu_indices,
    )
    try:
        with StopFlag(should_stop) as stop:
            return SweepRun(config, meter, store, shard_path, prior, stop, progress).run()
    finally:
        meter.close()


def _check_writable(folder: Path, what: str) -> None:
    """Fail before any measuring when a folder the sweep writes to cannot be made."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SweepError(f"cannot create the {what} {folder}: {exc.strerror or exc}") from None


def _shard_target(config: SweepConfig, shard_dir: Path) -> tuple[Path, Shard | None]:
    digest = config.config_hash()
    if config.run_id:
        path = shard_dir / f"{_slug(config.run_id)}.jsonl"
        if not path.exists() or b"\n" not in path.read_bytes()[: 1 << 20]:
            return path, None  # absent, or killed before its header was complete
        if not config.resume:
            raise SweepError(
                f"shard {path} exists already: pass resume (--resume) to continue "
                "it, or choose another run id"
            )
        shard = read_shard(path)
        if shard.header.get("config_hash") != digest:
            raise SweepError(
                f"shard {path} was made with another configuration "
                f"({shard.header.get('config')}); resume with the same settings"
            )
        return path, shard
    if config.resume:
        shard = find_resumable(shard_dir, digest)
        if shard is not None:
            return shard.path, shard
        print(
            f"measure sweep: no shard with this configuration in {shard_dir}; starting a new run",
            file=sys.stderr,
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    run_id = (
        f"sweep-{_slug(config.model_name or Path(config.model).name)}-"
        f"{_slug(config.system)}-{digest[:8]}-{stamp}-{os.urandom(2).hex()}"
    )
    return shard_dir / f"{run_id}.jsonl", None


def find_resumable(shard_dir: Path, config_hash: str) -> Shard | None:
    """The latest shard in ``shard_dir`` with this configuration, unfinished ones first."""
    matches = []
    for path in sorted(Path(shard_dir).glob("*.jsonl")):
        try:
            with open(path, encoding="utf-8") as handle:
                header = json.loads(handle.readline())
        except (OSError, ValueError):
            continue
        if isinstance(header, dict) and header.get("config_hash") == config_hash:
            matches.append(read_shard(path))
    matches.sort(key=lambda s: (not s.complete, s.header.get("started_at", "")))
    return matches[-1] if matches else None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_") or "x"


class StopFlag:
    """Ctrl-C (first press) or ``should_stop()`` asks to stop after the trial in flight."""

    def __init__(self, should_stop: Callable[[], bool] | None = None):
        self.should_stop = should_stop
        self._requested = False
        self._previous = None

    @property
    def requested(self) -> bool:
        return self._requested or bool(self.should_stop and self.should_stop())

    def _on_sigint(self, signum, frame) -> None:
        if self._requested:
            raise KeyboardInterrupt
        self._requested = True
        print(
            "\nmeasure sweep: stopping after the trial in flight (Ctrl-C again to stop at once)",
            file=sys.stderr,
        )

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def reading_row(reading: MeterReading) -> dict:
    """The store's energy columns from a (per-batch) meter reading."""
    return {
        "gpu_energy_j": reading.gpu_energy_j,
        "cpu_energy_j": reading.cpu_energy_j,
        "gpu_energy_per_device_j": reading.gpu_energy_per_device_j,
    }


def config_record(config: SweepConfig) -> dict:
    record = asdict(config)
    record["db"] = str(record["db"]) if record["db"] else None
    record["shard_dir"] = str(record["shard_dir"]) if record["shard_dir"] else None
    return record


__all__ = [
    "SweepConfig",
    "SweepResult",
    "SweepError",
    "run_sweep",
    "runtime_ci_halfwidth_s",
    "cell_stop_reason",
    "grid_order",
    "find_resumable",
    "StopFlag",
    "ShardError",
    "StoreError",
    "FORMAT_VERSION",
    "DEFAULT_GRID",
    "DEFAULT_SHARD_DIR",
]
