"""Crash-safe shards of ``measure serve`` runs: one JSON Lines file per run, one line per
finished level, flushed and fsynced before the next level starts (the writer is the
sweep's :class:`~measure.sweep.shards.ShardWriter`; a torn last line is ignored and cut).

Record types: ``header`` (first; ``kind: "serve"``, run_id, config, config_hash,
provenance, started_at), ``session`` (a resume), ``idle`` (idle power measured before the
first level), ``level`` (one row in the store's ``serving`` columns), ``end``.

``kill -9`` loses at most the level in flight; ``--resume`` measures only the levels the
shard lacks, and ingesting is idempotent (rows are keyed by ``(run_id, row_key)``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from measure.store import SERVING_COLUMNS, RunRecord, Store, WriteResult
from measure.sweep.shards import (
    ShardError,
    ShardRun,
    ShardWriter,
    read_records,
)

FORMAT_VERSION = 1
KIND = "serve"

__all__ = [
    "FORMAT_VERSION",
    "KIND",
    "ServeShard",
    "ShardError",
    "ShardWriter",
    "ingest_serve_shard",
    "is_serve_shard",
    "read_serve_shard",
]


@dataclass
class ServeShard(ShardRun):
    path: Path
    header: dict
    levels: list[dict] = field(default_factory=list)  # each with "_line"
    sessions: int = 1
    idle_power_w: float | None = None  # GPU channels only (None without NVML)
    idle: dict | None = None  # the idle record: the meter's whole figure, source and scope
    finished_at: str | None = None
    torn_tail: bool = False

    @property
    def done_keys(self) -> set[str]:
        return {row["row_key"] for row in self.levels}


def is_serve_shard(path: Path | str) -> bool:
    """True when the file's first line is a ``measure serve`` shard header."""
    try:
        with open(path, encoding="utf-8") as handle:
            header = json.loads(handle.readline())
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(header, dict) and header.get("kind") == KIND


def read_serve_shard(path: Path | str) -> ServeShard:
    """Parse a shard; a torn last line is ignored, any other bad line raises ShardError."""
    path = Path(path)
    records, torn = read_records(path)
    shard: ServeShard | None = None
    for number, record in records:
        kind = record["type"]
        if shard is None:
            if kind != "header" or record.get("kind") != KIND:
                raise ShardError(path, 1, "the first record is not a measure serve shard header")
            for key in ("run_id", "config", "provenance"):
                if key not in record:
                    raise ShardError(path, 1, f"the header has no {key!r}")
            shard = ServeShard(path, record, torn_tail=torn)
        elif kind == "level":
            row = record.get("row")
            if not isinstance(row, dict) or "row_key" not in row:
                raise ShardError(path, number, "a level record without its row")
            shard.levels.append({**row, "_line": number})
        elif kind == "idle":
            shard.idle_power_w = record.get("idle_power_w")
            shard.idle = {k: v for k, v in record.items() if k != "type"}
        elif kind == "session":
            shard.sessions += 1
        elif kind == "end":
            shard.finished_at = record.get("finished_at")
        else:
            raise ShardError(path, number, f"unknown record type {kind!r}")
    if shard is None:
        raise ShardError(path, 1, "empty shard (no header)")
    return shard


def shard_frames(shard: ServeShard) -> tuple[RunRecord, pd.DataFrame]:
    header = shard.header
    run = shard.run_record(
        KIND,
        f"measure serve shard {shard.path.name}",
        header.get("system"),
        header["provenance"].get("client_host"),
        idle_power_w=shard.idle_power_w,
        idle=shard.idle,
    )
    records = []
    for row in shard.levels:
        record = {c: row.get(c) for c in SERVING_COLUMNS if c != "run_id"}
        record["source_file"] = str(shard.path)
        record["source_position"] = f"line {row['_line']}"
        records.append(record)
    frame = pd.DataFrame.from_records(
        records, columns=[c for c in SERVING_COLUMNS if c != "run_id"]
    )
    frame["measured_at"] = pd.to_datetime(frame["measured_at"])
    return run, frame


def ingest_serve_shard(shard: ServeShard | Path | str, store: Store) -> WriteResult:
    """Add a shard's rows not yet in the store, in one short transaction (idempotent)."""
    if not isinstance(shard, ServeShard):
        shard = read_serve_shard(shard)
    run, rows = shard_frames(shard)
    return store.write_serving(run, rows, skip_existing_rows=True)
