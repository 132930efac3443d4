"""The measurement store: one plain DuckDB file that users may query themselves.

Tables (documented in the README):

- ``runs``: one row per import of a file or per measurement sweep, with provenance.
- ``measurements``: one row per measured query batch (the paper's "inference" phases).
- ``startup_phases``: tokenizer and model-load costs, kept apart from query measurements.

Energies are per measured batch, in joules; ``batch_size`` says how many queries the
batch held, so energy per query is ``energy / batch_size``.  ``energy_source`` names
where the energy came from: a sweep's meter (``nvml``, ``rapl``, ``estimated``, or one GPU
and one CPU meter joined, as ``nvml+rapl``; see :mod:`measure.meters`) or ``imported``;
``flags`` lists what an importer or meter found suspicious (for example
``negative_cpu_energy``); flagged rows stay in the store and are kept out of fits by
default.

DuckDB allows one writing process per file, and a read-only open fails while another
process holds the file for writing, so every method opens a connection for its own use
only, and read paths retry briefly on a lock conflict.  No connection leaves this class:
every SQL statement on the store lives here.  Writers (imports, shard merges)
hold the file for the length of one transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from measure.paths import DEFAULT_DB_PATH
from measure.store.schema import (
    MEASUREMENT_COLUMNS,
    RUN_COLUMNS,
    SCHEMA_SQL,
    STARTUP_COLUMNS,
)

LOCK_RETRY_SECONDS = 10.0
# Columns that make two measurements the same measurement (see Store.stored_duplicates).
DUPLICATE_KEY = (
    "model",
    "system",
    "input_tokens",
    "output_tokens",
    "runtime_s",
    "gpu_energy_j",
    "cpu_energy_j",
)


class StoreError(RuntimeError):
    """A store operation failed; the message names the file and what went wrong."""


@dataclass
class RunRecord:
    """One import or sweep, as it lands in ``runs``."""

    run_id: str
    kind: str
    source: str
    source_sha256: str | None = None
    system: str | None = None
    host: str | None = None
    started_at: pd.Timestamp | None = None
    finished_at: pd.Timestamp | None = None
    provenance: dict = field(default_factory=dict)


@dataclass
class WriteResult:
    run_id: str
    inserted_measurements: int
    inserted_startup: int
    already_present: bool


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "being used" in text


class Store:
    """A DuckDB measurement store at ``path`` (created with its schema on first write)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else DEFAULT_DB_PATH

    # -- connections -------------------------------------------------------------------
    @contextmanager
    def _connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """One connection for one use; retries while another process holds a write lock."""
        if read_only and not self.path.exists():
            raise StoreError(f"store {self.path} does not exist yet")
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + LOCK_RETRY_SECONDS
        delay = 0.02
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                break
            except duckdb.Error as exc:  # IOException on a lock conflict
                if not _is_lock_error(exc) or time.monotonic() > deadline:
                    raise StoreError(f"cannot open store {self.path}: {exc}") from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        try:
            if not read_only:
                con.execute(SCHEMA_SQL).fetchall()
            yield con
        finally:
            con.close()

    def exists(self) -> bool:
        return self.path.exists()

    # -- writes ------------------------------------------------------------------------
    def has_run(self, run_id: str | None = None, source_sha256: str | None = None) -> bool:
        if not self.exists():
            return False
        with self._connect(read_only=True) as con:
            if not _table_exists(con, "runs"):
                return False
            row = con.execute(
                "SELECT count(*) FROM runs WHERE run_id = ? OR source_sha256 = ?",
                [run_id, source_sha256],
            ).fetchall()[0]
        return bool(row and row[0])

    def write_run(
        self,
        run: RunRecord,
        measurements: pd.DataFrame,
        startup: pd.DataFrame | None = None,
        skip_existing_rows: bool = False,
    ) -> WriteResult:
        """Write a run and its rows in one transaction: all land, or none do.

        A run whose ``run_id`` or ``source_sha256`` is already present adds nothing
        (``already_present``), unless ``skip_existing_rows`` is set, in which case rows whose
        ``(run_id, trial_key)`` are new are added (a resumed or re-merged sweep).
        """
        meas = _frame_with_columns(measurements, MEASUREMENT_COLUMNS, run.run_id)
        start = _frame_with_columns(
            startup if startup is not None else pd.DataFrame(), STARTUP_COLUMNS, run.run_id
        )
        with self._connect() as con:
            present = con.execute(
                "SELECT count(*) FROM runs WHERE run_id = ? OR source_sha256 = ?",
                [run.run_id, run.source_sha256],
            ).fetchall()[0][0]
            if present and not skip_existing_rows:
                return WriteResult(run.run_id, 0, 0, already_present=True)
            con.execute("BEGIN TRANSACTION")
            try:
                if not present:
                    _insert_run(con, run, len(meas))
                n_meas = _insert_new_rows(con, "measurements", meas, MEASUREMENT_COLUMNS)
                n_start = _insert_new_rows(con, "startup_phases", start, STARTUP_COLUMNS)
                con.execute(
                    "UPDATE runs SET n_measurements = (SELECT count(*) FROM measurements m "
                    "WHERE m.run_id = runs.run_id), finished_at = coalesce(?, finished_at) "
                    "WHERE run_id = ?",
                    [run.finished_at, run.run_id],
                ).fetchall()
                con.execute("COMMIT")
            except Exception as exc:
                con.execute("ROLLBACK")
                raise StoreError(f"writing run {run.run_id} to {self.path} failed: {exc}") from exc
        return WriteResult(run.run_id, n_meas, n_start, already_present=bool(present))

    # -- reads -------------------------------------------------------------------------
    def measurements(
        self,
        models: list[str] | None = None,
        systems: list[str] | None = None,
        include_flagged: bool = True,
    ) -> pd.DataFrame:
        """Query measurements as a DataFrame (empty, with columns, if the store is empty)."""
        sql = "SELECT * FROM measurements WHERE 1=1"
        params: list = []
        if models:
            sql += " AND list_contains(?, model)"
            params.append(list(models))
        if systems:
            sql += " AND list_contains(?, system)"
            params.append(list(systems))
        if not include_flagged:
            sql += " AND len(flags) = 0"
        sql += " ORDER BY model, system, run_id, source_line, trial_key"
        return self._read(sql, params, MEASUREMENT_COLUMNS)

    def stored_duplicates(self, frame: pd.DataFrame) -> list[bool]:
        """For each row of ``frame``, whether the store already holds a measurement with the
        same model, system, token counts, runtime and energies (a re-exported file with a new
        hash would otherwise count the same measurements twice)."""
        if frame.empty or not self.exists():
            return [False] * len(frame)
        candidates = frame[list(DUPLICATE_KEY)].assign(candidate_row=range(len(frame)))
        same = " AND ".join(f"c.{col} IS NOT DISTINCT FROM m.{col}" for col in DUPLICATE_KEY)
        with self._connect(read_only=True) as con:
            if not _table_exists(con, "measurements"):
                return [False] * len(frame)
            con.register("candidate_rows", candidates)
            rows = con.execute(
                f"SELECT DISTINCT c.candidate_row FROM candidate_rows c "
                f"JOIN measurements m ON {same}"
            ).fetchall()
            con.unregister("candidate_rows")
        found = {r[0] for r in rows}
        return [i in found for i in range(len(frame))]

    def measurement_count(self, run_id: str) -> int:
        """How many measurement rows run ``run_id`` has (0 before the store exists)."""
        if not self.exists():
            return 0
        with self._connect(read_only=True) as con:
            if not _table_exists(con, "measurements"):
                return 0
            row = con.execute(
                "SELECT count(*) FROM measurements WHERE run_id = ?", [run_id]
            ).fetchall()[0]
        return int(row[0])

    def startup_phases(self) -> pd.DataFrame:
        return self._read(
            "SELECT * FROM startup_phases ORDER BY run_id, trial_key", [], STARTUP_COLUMNS
        )

    def runs(self) -> pd.DataFrame:
        return self._read(
            "SELECT * FROM runs ORDER BY ingested_at, run_id", [], RUN_COLUMNS + ("ingested_at",)
        )

    def arms(self) -> pd.DataFrame:
        """Distinct (model, system) pairs with counts, energy sources and flag counts."""
        sql = (
            "SELECT model, system, count(*) AS n, "
            "count(*) FILTER (WHERE len(flags) > 0) AS n_flagged, "
            "string_agg(DISTINCT energy_source, ',' ORDER BY energy_source) AS energy_sources "
            "FROM measurements GROUP BY model, system ORDER BY model, system"
        )
        return self._read(sql, [], ("model", "system", "n", "n_flagged", "energy_sources"))

    def _read(self, sql: str, params: list, columns: tuple[str, ...]) -> pd.DataFrame:
        if not self.exists():
            return pd.DataFrame(columns=list(columns))
        with self._connect(read_only=True) as con:
            if not _table_exists(con, "measurements"):
                return pd.DataFrame(columns=list(columns))
            return con.execute(sql, params).df()


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchall()[0]
    return bool(row and row[0])


def _frame_with_columns(df: pd.DataFrame, columns: tuple[str, ...], run_id: str) -> pd.DataFrame:
    unknown = set(df.columns) - set(columns)
    if unknown:
        raise StoreError(f"unknown columns for the store: {sorted(unknown)}")
    out = df.copy()
    for col in columns:
        if col not in out.columns:
            out[col] = None
    out["run_id"] = run_id
    if "batch_size" in columns:
        out["batch_size"] = out["batch_size"].fillna(1).astype("int64")
    if "flags" in columns:
        out["flags"] = [list(f) if isinstance(f, (list, tuple)) else [] for f in out["flags"]]
    return out[list(columns)]


def _insert_run(con: duckdb.DuckDBPyConnection, run: RunRecord, n_rows: int) -> None:
    con.execute(
        f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' * len(RUN_COLUMNS))})",
        [
            run.run_id,
            run.kind,
            run.source,
            run.source_sha256,
            run.system,
            run.host,
            run.started_at,
            run.finished_at,
            n_rows,
            json.dumps(run.provenance, default=str),
        ],
    ).fetchall()


def _insert_new_rows(con, table: str, frame: pd.DataFrame, columns: tuple[str, ...]) -> int:
    """Insert rows whose (run_id, trial_key) are new; returns how many were inserted."""
    if frame.empty:
        return 0
    cols = ", ".join(columns)
    con.register("incoming_rows", frame)
    try:
        inserted = con.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM incoming_rows i "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} t "
            f"WHERE t.run_id = i.run_id AND t.trial_key = i.trial_key)"
        ).fetchall()
    except duckdb.Error as exc:
        raise StoreError(f"inserting into {table}: {exc}") from exc
    finally:
        try:
            con.unregister("incoming_rows")
        except duckdb.Error:
            pass  # the transaction is aborted; the rollback clears it
    return int(inserted[0][0]) if inserted else 0
