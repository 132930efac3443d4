"""Crash-safe sweep shards: one JSON Lines file per run, and their ingestion into the store.

A sweep appends one JSON object per line and flushes and fsyncs after each, so a finished
trial is on disk before the next one starts.  ``kill -9`` can leave at most a torn last
line, which readers ignore and a resuming writer cuts off before appending.  Record types:

- ``header`` (first line): run_id, config, config_hash, provenance, started_at
- ``session``: a resume of the run (host, time)
- ``startup``: a start-up phase (model load, warm-up, idle) with its energy
- ``idle``: the idle power per domain measured before the first trial (subtracted)
- ``trial``: one measured batch, in the store's ``measurements`` columns (+ ``repetitions``)
- ``cell``: a grid cell is complete (trial count, runtime CI half-width, why it stopped)
- ``end``: the grid is complete

Shards are the unit of exchange between machines: ``python -m measure merge`` ingests any
number of them, idempotently (rows are keyed by ``(run_id, trial_key)``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from measure.store import MEASUREMENT_COLUMNS, STARTUP_COLUMNS, RunRecord, Store, WriteResult

FORMAT_VERSION = 1


class ShardError(ValueError):
    """A shard cannot be read; the message names the file and line."""

    def __init__(self, file: Path | str, line: int | None, problem: str):
        self.file, self.line = str(file), line
        where = f"{file}, line {line}" if line else str(file)
        super().__init__(f"{where}: {problem}")


class ShardWriter:
    """Appends records durably (flush + fsync per record)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        _cut_torn_tail(self.path)
        self._file = open(self.path, "a", encoding="utf-8")
        self.n_lines = _count_lines(self.path)
        if created:
            _fsync_dir(self.path.parent)

    def write(self, record: dict) -> int:
        """Write one record durably; returns its 1-based line number."""
        self._file.write(json.dumps(record, default=str, allow_nan=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        self.n_lines += 1
        return self.n_lines

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> ShardWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass
class Shard:
    path: Path
    header: dict
    trials: list[dict] = field(default_factory=list)  # each with "_line"
    startup: list[dict] = field(default_factory=list)
    cells: dict[tuple[int, int], dict] = field(default_factory=dict)
    sessions: int = 1
    finished_at: str | None = None
    torn_tail: bool = False

    @property
    def run_id(self) -> str:
        return self.header["run_id"]

    @property
    def complete(self) -> bool:
        return self.finished_at is not None


def read_shard(path: Path | str) -> Shard:
    """Parse a shard; a torn last line is ignored, any other bad line raises ShardError."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise ShardError(path, None, f"cannot read shard: {exc}") from exc
    torn = lines[-1] != ""  # no final newline: the last write was cut short
    body = lines[:-1]  # the newline is each record's commit mark
    records = []
    for number, text in enumerate(body, start=1):
        try:
            record = json.loads(text, parse_constant=_refuse_constant)
            if not isinstance(record, dict) or "type" not in record:
                raise ValueError("not a shard record")
        except ValueError as exc:
            raise ShardError(path, number, f"malformed record ({exc})") from None
        records.append((number, record))
    return _assemble(path, records, torn)


def _refuse_constant(name: str):
    """NaN and Infinity are no measurement: a shard written by a sweep never holds them."""
    raise ValueError(f"a non-finite number ({name})")


def _assemble(path: Path, records: list[tuple[int, dict]], torn: bool) -> Shard:
    if not records or records[0][1]["type"] != "header":
        raise ShardError(path, 1, "the first record is not a shard header")
    header = records[0][1]
    for key in ("run_id", "config", "provenance"):
        if key not in header:
            raise ShardError(path, 1, f"the header has no {key!r}")
    shard = Shard(path, header, torn_tail=torn)
    for number, record in records[1:]:
        kind = record["type"]
        if kind == "trial":
            shard.trials.append({**record, "_line": number})
        elif kind == "startup":
            shard.startup.append({**record, "_line": number})
        elif kind == "cell":
            shard.cells[(int(record["input_tokens"]), int(record["output_tokens"]))] = record
        elif kind == "session":
            shard.sessions += 1
        elif kind == "idle":
            header["idle_power_w"] = record.get("idle_power_w") or {}
        elif kind == "end":
            shard.finished_at = record.get("finished_at")
        else:
            raise ShardError(path, number, f"unknown record type {kind!r}")
    return shard


def shard_frames(shard: Shard) -> tuple[RunRecord, pd.DataFrame, pd.DataFrame]:
    """The run record and the store frames for a shard's rows."""
    header = shard.header
    run = RunRecord(
        run_id=shard.run_id,
        kind="sweep",
        source=f"sweep shard {shard.path.name}",
        system=header["config"].get("system"),
        host=header["provenance"].get("host"),
        started_at=_ts(header.get("started_at")),
        finished_at=_ts(shard.finished_at),
        provenance={
            **header["provenance"],
            "config": header["config"],
            "config_hash": header.get("config_hash"),
            "shard": str(shard.path),
        },
    )
    return (
        run,
        _frame(shard.trials, shard.path, MEASUREMENT_COLUMNS),
        _frame(shard.startup, shard.path, STARTUP_COLUMNS),
    )


def _frame(rows: list[dict], path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    records = []
    for row in rows:
        record = {c: row.get(c) for c in columns if c != "run_id"}
        record["source_file"] = str(path)
        record["source_line"] = row["_line"]
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=[c for c in columns if c != "run_id"])
    if "measured_at" in frame:
        frame["measured_at"] = pd.to_datetime(frame["measured_at"])
    return frame


def ingest_shard(shard: Shard | Path | str, store: Store) -> WriteResult:
    """Add a shard's new rows to the store in one short transaction (idempotent)."""
    if not isinstance(shard, Shard):
        shard = read_shard(shard)
    run, measurements, startup = shard_frames(shard)
    return store.write_run(run, measurements, startup, skip_existing_rows=True)


def _ts(value) -> pd.Timestamp | None:
    return pd.Timestamp(value) if value else None


def _cut_torn_tail(path: Path) -> None:
    """Truncate a file that does not end with a newline back to its last complete line."""
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb+") as handle:
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return
        data = handle.seek(0) or handle.read()
        handle.truncate(data.rfind(b"\n") + 1)
        handle.flush()
        os.fsync(handle.fileno())


def _count_lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return sum(1 for _ in handle)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
