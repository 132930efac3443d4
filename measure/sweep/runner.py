"""Running a sweep: check the configuration, find the run's shard (a new one, or the one a
resume continues), build the meter, and hand over to one :class:`SweepRun` session.

The method, after the paper: for each run the model is loaded (a start-up phase, metered),
optionally idle power is measured, a warm-up runs, then grid cells are visited in a
seeded random order; each cell is repeated until the 95% confidence half-width of its
runtime is within ``ci_halfwidth_s`` (after at least ``min_trials``) or ``max_trials`` is
reached.  A trial shorter than the meter's resolution (``min_window_s``) repeats its
generation inside one metered window and divides, so it is never reported as ~0 J.
Energies are per batch; energy per query is energy / ``batch_size``.

Every finished trial is fsynced to the run's own shard (:mod:`measure.sweep.shards`) before
the next starts, and the shard is ingested into the store in short transactions every
``ingest_every_s`` seconds and at the end, so readers of the store never meet a lock held
for long.  ``resume=True`` continues the latest unfinished shard with the same
configuration.  Ctrl-C stops after the trial in flight.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from measure.llm import check_device
from measure.meters import build_meter
from measure.paths import DEFAULT_SHARD_DIR
from measure.store import Store
from measure.sweep.config import SweepConfig, SweepError, SweepResult
from measure.sweep.session import StopFlag, SweepRun
from measure.sweep.shards import Shard, latest_shard, read_shard, shard_target, slug


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


def find_resumable(shard_dir: Path, config_hash: str) -> Shard | None:
    """The latest shard in ``shard_dir`` with this configuration, unfinished ones first."""
    return latest_shard(shard_dir, config_hash, read_shard)


def _check_writable(folder: Path, what: str) -> None:
    """Fail before any measuring when a folder the sweep writes to cannot be made."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SweepError(f"cannot create the {what} {folder}: {exc.strerror or exc}") from None


def _shard_target(config: SweepConfig, shard_dir: Path) -> tuple[Path, Shard | None]:
    """The shard this session writes to, and the run so far when it continues one."""
    digest = config.config_hash()
    target = shard_target(
        shard_dir,
        config.run_id,
        digest,
        config.resume,
        read_shard,
        error=SweepError,
        tool="measure sweep",
    )
    if target is not None:
        return target
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    run_id = (
        f"sweep-{slug(config.model_name or Path(config.model).name)}-"
        f"{slug(config.system)}-{digest[:8]}-{stamp}-{os.urandom(2).hex()}"
    )
    return shard_dir / f"{run_id}.jsonl", None
