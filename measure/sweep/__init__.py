"""Measurement sweeps over token grids.

``config`` says what a sweep is asked to do (and when a cell is done); ``runner`` starts or
resumes a run and ``session`` measures it; ``shards`` keeps every trial crash-safe on disk
and ingests shards into the store; ``cli`` is ``python -m measure meters | sweep | merge``.

The names below load on first use: ``python -m measure`` imports ``measure.sweep.cli`` for
every subcommand, and the runner brings in scipy, DuckDB and pandas.
"""

from importlib import import_module

_PUBLIC = {
    "DEFAULT_GRID": "measure.sweep.config",
    "SweepConfig": "measure.sweep.config",
    "SweepError": "measure.sweep.config",
    "SweepResult": "measure.sweep.config",
    "cell_stop_reason": "measure.sweep.config",
    "grid_order": "measure.sweep.config",
    "runtime_ci_halfwidth_s": "measure.sweep.config",
    "find_resumable": "measure.sweep.runner",
    "run_sweep": "measure.sweep.runner",
    "FORMAT_VERSION": "measure.sweep.shards",
    "Shard": "measure.sweep.shards",
    "ShardError": "measure.sweep.shards",
    "ingest_shard": "measure.sweep.shards",
    "read_shard": "measure.sweep.shards",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
