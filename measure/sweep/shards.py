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
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from measure.store import (
    MEASUREMENT_COLUMNS,
    STARTUP_COLUMNS,
    RunRecord,
    Store,
    StoreError,
    WriteResult,
)

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


class ShardRun:
    """What every kind of shard says of its run (a sweep's here, ``measure serve``'s too)."""

    path: Path
    header: dict
    finished_at: str | None

    @property
    def run_id(self) -> str:
        return self.header["run_id"]

    @property
    def complete(self) -> bool:
        return self.finished_at is not None

    def run_record(
        self, kind: str, source: str, system: str | None, host: str | None, **provenance
    ) -> RunRecord:
        """The store's run of this shard: its header's provenance, config and config hash,
        the shard's path, then ``provenance``."""
        header = self.header
        return RunRecord(
            run_id=self.run_id,
            kind=kind,
            source=source,
            system=system,
            host=host,
            started_at=shard_time(header.get("started_at")),
            finished_at=shard_time(self.finished_at),
            provenance={
                **header["provenance"],
                "config": header["config"],
                "config_hash": header.get("config_hash"),
                "shard": str(self.path),
                **provenance,
            },
        )


@dataclass
class Shard(ShardRun):
    path: Path
    header: dict
    trials: list[dict] = field(default_factory=list)  # each with "_line"
    startup: list[dict] = field(default_factory=list)
    cells: dict[tuple[int, int], dict] = field(default_factory=dict)
    sessions: int = 1
    finished_at: str | None = None
    torn_tail: bool = False


def read_shard(path: Path | str) -> Shard:
    """Parse a shard; a torn last line is ignored, any other bad line raises ShardError."""
    path = Path(path)
    records, torn = read_records(path)
    return _assemble(path, records, torn)


def read_records(path: Path) -> tuple[list[tuple[int, dict]], bool]:
    """A shard file's records with their 1-based line numbers, and whether its last line is
    torn (``measure serve`` shards are read here too): the newline is each record's commit
    mark, so a last line without one is left out; any other line that is not a JSON object
    with a ``type`` raises ShardError."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise ShardError(path, None, f"cannot read shard: {exc}") from exc
    torn = lines[-1] != ""  # no final newline: the last write was cut short
    records = []
    for number, text in enumerate(lines[:-1], start=1):
        try:
            record = json.loads(text, parse_constant=_refuse_constant)
            if not isinstance(record, dict) or "type" not in record:
                raise ValueError("not a shard record")
        except ValueError as exc:
            raise ShardError(path, number, f"malformed record ({exc})") from None
        records.append((number, record))
    return records, torn


def _refuse_constant(name: str):
    """NaN and Infinity are no measurement: the writer (``allow_nan=False``) never writes them."""
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
    run = shard.run_record(
        "sweep",
        f"sweep shard {shard.path.name}",
        header["config"].get("system"),
        header["provenance"].get("host"),
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


def shard_target(
    shard_dir: Path,
    run_id: str | None,
    digest: str,
    resume: bool,
    read: Callable[[Path], ShardRun],
    *,
    error: type[Exception],
    tool: str,
    kind: str | None = None,
) -> tuple[Path, ShardRun | None] | None:
    """The shard a session writes to and the run so far when it continues one (``measure
    sweep`` and ``measure serve`` alike); None when a new run starts and the caller names it.

    A named run (``run_id``) resumes only when asked and only with the settings it was made
    with (``digest``, the config hash in its header); otherwise ``error`` says so.  Resuming
    without a name takes the latest shard of that ``kind`` with these settings."""
    if run_id:
        path = shard_dir / f"{slug(run_id)}.jsonl"
        if not path.exists() or b"\n" not in path.read_bytes()[: 1 << 20]:
            return path, None  # absent, or killed before its header was complete
        if not resume:
            raise error(
                f"shard {path} exists already: pass resume (--resume) to continue "
                "it, or choose another run id"
            )
        shard = read(path)
        if shard.header.get("config_hash") != digest:
            raise error(
                f"shard {path} was made with another configuration "
                f"({shard.header.get('config')}); resume with the same settings"
            )
        return path, shard
    if resume:
        shard = latest_shard(shard_dir, digest, read, kind)
        if shard is not None:
            return shard.path, shard
        print(
            f"{tool}: no shard with these settings in {shard_dir}; starting a new run",
            file=sys.stderr,
        )
    return None


def latest_shard(
    shard_dir: Path,
    digest: str,
    read: Callable[[Path], ShardRun],
    kind: str | None = None,
) -> ShardRun | None:
    """The latest shard in ``shard_dir`` with this config hash (and header ``kind``, when
    given), unfinished ones first."""
    matches = []
    for path in sorted(Path(shard_dir).glob("*.jsonl")):
        try:
            with open(path, encoding="utf-8") as handle:
                header = json.loads(handle.readline())
        except (OSError, ValueError):
            continue
        if not isinstance(header, dict) or header.get("config_hash") != digest:
            continue
        if kind is None or header.get("kind") == kind:
            matches.append(read(path))
    matches.sort(key=lambda s: (not s.complete, s.header.get("started_at", "")))
    return matches[-1] if matches else None


def slug(text: str) -> str:
    """``text`` safe in a file name (a run id names its shard)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(text)).strip("_") or "x"


def ingest_or_keep(
    ingest: Callable[[], object], shard_path: Path, tool: str, what: str
) -> str | None:
    """Run ``ingest``; when the store cannot take the rows (another process holds it, the
    disk is full) say so on stderr and return why: the shard keeps every ``what`` and a
    later ingest or merge adds it (ingesting is idempotent)."""
    try:
        ingest()
    except (StoreError, OSError) as exc:
        print(
            f"{tool}: could not update the store ({exc}); the shard {shard_path} "
            f"keeps every {what}",
            file=sys.stderr,
        )
        return str(exc)
    return None


def shard_time(value) -> pd.Timestamp | None:
    """A shard's ISO time as a timestamp (None when it has none)."""
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
