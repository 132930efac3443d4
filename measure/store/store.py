"""The measurement store: one plain DuckDB file that users may query themselves.

Tables (documented in the README):

- ``runs``: one row per import of a file or per measurement sweep, with provenance.
- ``measurements``: one row per measured query batch (the paper's "inference" phases).
- ``startup_phases``: tokenizer and model-load costs, kept apart from query measurements.
- ``serving``: one row per measured serving configuration (an engine batching requests
  continuously, at one batch limit, concurrency or arrival rate): energy per output token,
  throughput, latency percentiles, power.  Imported (ML.ENERGY) or measured
  (``measure serve``); its run's ``kind`` is ``serving-import`` or ``serve``.
- ``fits``: fitted models as JSON documents the planner writes and reads, keyed by the
  ``data_version`` of the rows they came from and the planner's fit settings; the store
  never looks inside them.

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
hold the file for the length of one transaction; an import stages its rows in a temporary
DuckDB file first (:class:`StagedRows`), so that transaction is one bulk copy, however long
parsing took.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from measure.flags import INFORMATIONAL_FLAGS
from measure.paths import DEFAULT_DB_PATH
from measure.store.schema import (
    FIT_COLUMNS,
    MEASUREMENT_COLUMNS,
    RUN_COLUMNS,
    SCHEMA_SQL,
    SERVING_COLUMNS,
    SERVING_REQUIRED,
    STARTUP_COLUMNS,
)

LOCK_RETRY_SECONDS = 10.0
# Columns that make two rows the same measurement, or the same start-up phase (see
# Store.write_staged).
DUPLICATE_KEY = (
    "model",
    "system",
    "input_tokens",
    "output_tokens",
    "runtime_s",
    "gpu_energy_j",
    "cpu_energy_j",
)
STARTUP_DUPLICATE_KEY = ("model", "system", "phase", "runtime_s", "gpu_energy_j", "cpu_energy_j")
STAGING_MEMORY_LIMIT = "256MB"
# Every DuckDB database file has these bytes at this offset (after its header's checksum).
DUCKDB_MAGIC, DUCKDB_MAGIC_OFFSET = b"DUCK", 8


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


@dataclass
class StoredRun:
    """What the store holds of one run: counts, names and flag counts."""

    run_id: str
    source: str
    n_measurements: int
    n_startup: int
    models: list[str]
    systems: list[str]
    flag_counts: dict[str, int]
    startup_flag_counts: dict[str, int]


class StagedRows:
    """The rows of one run, gathered chunk by chunk in a temporary DuckDB file (beside the
    store where its folder exists), so memory stays bounded whatever the run's size, then
    copied into the store in one transaction by :meth:`Store.write_staged`.  The tables have
    the store's columns and types, without its keys."""

    def __init__(self, run_id: str, folder: Path | None = None):
        self.run_id = run_id
        self.folder = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder))
        self.path = self.folder / "staged.duckdb"
        self._con: duckdb.DuckDBPyConnection | None = duckdb.connect(str(self.path))
        # appends to a file of its own can always go to disk: a small buffer pool keeps the
        # importer's memory flat however large the file (the store's own connection keeps
        # DuckDB's default, which a commit must not run out of)
        self._con.execute(f"SET memory_limit = '{STAGING_MEMORY_LIMIT}'")
        self._con.execute("ATTACH ':memory:' AS template")
        self._con.execute("USE template")
        self._con.execute(SCHEMA_SQL).fetchall()
        self._con.execute("USE staged")
        for table in ("measurements", "startup_phases"):
            self._con.execute(
                f"CREATE TABLE staged.main.{table} AS SELECT * FROM template.main.{table} LIMIT 0"
            )
        self._con.execute("DETACH template")

    def add(self, measurements: pd.DataFrame, startup: pd.DataFrame | None = None) -> None:
        """Append rows (store columns; missing ones are NULL)."""
        for table, frame, columns in (
            ("measurements", measurements, MEASUREMENT_COLUMNS),
            ("startup_phases", startup, STARTUP_COLUMNS),
        ):
            if frame is None or frame.empty:
                continue
            rows = _frame_with_columns(frame, columns, self.run_id)
            self._con.register("chunk_rows", rows)
            try:
                cols = ", ".join(columns)
                self._con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM chunk_rows")
            except duckdb.Error as exc:
                raise StoreError(f"staging rows of run {self.run_id}: {exc}") from exc
            finally:
                self._con.unregister("chunk_rows")

    def close(self) -> None:
        """Close the file (it is then complete on disk, for the store to read)."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def remove(self) -> None:
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> StagedRows:
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return "lock" in text or "conflicting" in text or "being used" in text


class Store:
    """A DuckDB measurement store at ``path`` (created with its schema on first write)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path is not None else DEFAULT_DB_PATH

    # -- connections -------------------------------------------------------------------
    @contextmanager
    def _connect(
        self, read_only: bool = False, lock_wait_s: float = LOCK_RETRY_SECONDS
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """One connection for one use; retries for ``lock_wait_s`` while another process
        holds a write lock."""
        if read_only and not self.path.exists():
            raise StoreError(f"store {self.path} does not exist yet")
        self.check()
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + lock_wait_s
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
            # DuckDB would draw a progress bar on the caller's stdout during a long statement
            con.execute("SET enable_progress_bar = false")
            if not read_only:
                con.execute(SCHEMA_SQL).fetchall()
            yield con
        finally:
            con.close()

    def exists(self) -> bool:
        return self.path.exists()

    def check(self) -> None:
        """Refuse, untouched, a path that holds something other than a DuckDB database (a
        CSV given as the store, say): DuckDB's own message for it does not say so."""
        if not self.path.exists():
            return
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder, not a DuckDB store")
        try:
            with open(self.path, "rb") as handle:
                head = handle.read(DUCKDB_MAGIC_OFFSET + len(DUCKDB_MAGIC))
        except OSError as exc:
            raise StoreError(f"cannot read store {self.path}: {exc.strerror}") from None
        if head[DUCKDB_MAGIC_OFFSET:] != DUCKDB_MAGIC:
            what = "an empty file" if not head else "not a DuckDB database file"
            raise StoreError(
                f"{self.path} is not a DuckDB store ({what}); give the path of a store, "
                "or a new path to create one"
            )

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

        def insert(con) -> tuple[int, int]:
            return (
                _insert_new_rows(con, "measurements", meas, MEASUREMENT_COLUMNS),
                _insert_new_rows(con, "startup_phases", start, STARTUP_COLUMNS),
            )

        return self._write_run_rows(run, len(meas), "measurements", insert, skip_existing_rows)

    def _write_run_rows(
        self, run: RunRecord, n_rows: int, table: str, insert, skip_existing_rows: bool
    ) -> WriteResult:
        """The one write sequence of ``write_run`` and ``write_serving``: a run already
        present (by ``run_id`` or ``source_sha256``) adds nothing unless
        ``skip_existing_rows``; else, in one transaction, the run's record (when new), its
        rows (``insert(con) -> (rows inserted, startup rows inserted)``) and its row count
        from ``table``, all committed or none."""
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
                    _insert_run(con, run, n_rows)
                n_main, n_start = insert(con)
                con.execute(
                    f"UPDATE runs SET n_measurements = (SELECT count(*) FROM {table} r "
                    "WHERE r.run_id = runs.run_id), finished_at = coalesce(?, finished_at) "
                    "WHERE run_id = ?",
                    [run.finished_at, run.run_id],
                ).fetchall()
                con.execute("COMMIT")
            except Exception as exc:
                con.execute("ROLLBACK")
                raise StoreError(f"writing run {run.run_id} to {self.path} failed: {exc}") from exc
        return WriteResult(run.run_id, n_main, n_start, already_present=bool(present))

    def staging(self, run_id: str) -> StagedRows:
        """A :class:`StagedRows` for run ``run_id`` (a context manager that removes it)."""
        return StagedRows(run_id, self.path.parent if self.path.parent.is_dir() else None)

    def write_staged(
        self, run: RunRecord, staged: StagedRows, duplicate_flag: str | None = None
    ) -> WriteResult:
        """Copy a new run's staged rows into the store in one transaction: all land, or none.

        A run whose ``run_id`` or ``source_sha256`` is already present adds nothing
        (``already_present``).  With ``duplicate_flag``, a staged row equal to a stored one
        (``DUPLICATE_KEY``, ``STARTUP_DUPLICATE_KEY``; NULLs equal) gets that flag, so a
        re-exported copy of stored rows does not count twice."""
        staged.close()
        with self._connect() as con:
            present = con.execute(
                "SELECT count(*) FROM runs WHERE run_id = ? OR source_sha256 = ?",
                [run.run_id, run.source_sha256],
            ).fetchall()[0][0]
            if present:
                return WriteResult(run.run_id, 0, 0, already_present=True)
            path = str(staged.path).replace("'", "''")
            con.execute(f"ATTACH '{path}' AS staged (READ_ONLY)")
            try:
                con.execute("BEGIN TRANSACTION")
                try:
                    n_meas = _insert_staged(
                        con, "measurements", MEASUREMENT_COLUMNS, DUPLICATE_KEY, duplicate_flag
                    )
                    n_start = _insert_staged(
                        con,
                        "startup_phases",
                        STARTUP_COLUMNS,
                        STARTUP_DUPLICATE_KEY,
                        duplicate_flag,
                    )
                    _insert_run(con, run, n_meas)
                    con.execute("COMMIT")
                except Exception as exc:
                    con.execute("ROLLBACK")
                    raise StoreError(
                        f"writing run {run.run_id} to {self.path} failed: {exc}"
                    ) from exc
            finally:
                con.execute("DETACH staged")
        return WriteResult(run.run_id, n_meas, n_start, already_present=False)

    # -- reads -------------------------------------------------------------------------
    def stored_run(
        self, run_id: str | None = None, source_sha256: str | None = None
    ) -> StoredRun | None:
        """The run with this id or source hash, with its rows' counts, names and flags; None
        when the store (or the run) does not exist."""
        if not self.exists():
            return None
        with self._connect(read_only=True) as con:
            if not _table_exists(con, "runs"):
                return None
            found = con.execute(
                "SELECT run_id, source FROM runs WHERE run_id = ? OR source_sha256 = ? "
                "ORDER BY ingested_at LIMIT 1",
                [run_id, source_sha256],
            ).fetchall()
            if not found:
                return None
            run_id, source = found[0]
            n_meas, models, systems = con.execute(
                "SELECT count(*), list(DISTINCT model ORDER BY model), "
                "list(DISTINCT system ORDER BY system) FROM measurements WHERE run_id = ?",
                [run_id],
            ).fetchall()[0]
            n_start = con.execute(
                "SELECT count(*) FROM startup_phases WHERE run_id = ?", [run_id]
            ).fetchall()[0][0]
            flags = {
                table: dict(
                    con.execute(
                        f"SELECT flag, count(*) FROM (SELECT unnest(flags) AS flag FROM {table} "
                        "WHERE run_id = ?) GROUP BY flag ORDER BY flag",
                        [run_id],
                    ).fetchall()
                )
                for table in ("measurements", "startup_phases")
            }
        return StoredRun(
            run_id,
            source,
            int(n_meas),
            int(n_start),
            list(models or []),
            list(systems or []),
            flags["measurements"],
            flags["startup_phases"],
        )

    def measurements(
        self,
        models: list[str] | None = None,
        systems: list[str] | None = None,
        include_flagged: bool = True,
    ) -> pd.DataFrame:
        """Query measurements as a DataFrame (empty, with columns, if the store is empty)."""
        sql, params = _measurements_sql(models, systems, include_flagged)
        return self._read(sql, params, MEASUREMENT_COLUMNS)

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
        """Distinct (model, system) pairs with counts, energy sources and how many rows are
        flagged out of fits (informational flags do not count)."""
        sql = (
            "SELECT model, system, count(*) AS n, "
            "count(*) FILTER (WHERE NOT list_has_all(?, flags)) AS n_flagged, "
            "string_agg(DISTINCT energy_source, ',' ORDER BY energy_source) AS energy_sources "
            "FROM measurements GROUP BY model, system ORDER BY model, system"
        )
        columns = ("model", "system", "n", "n_flagged", "energy_sources")
        return self._read(sql, [sorted(INFORMATIONAL_FLAGS)], columns)

    # -- serving configurations (continuous batching) ---------------------------------
    def write_serving(
        self, run: RunRecord, rows: pd.DataFrame, skip_existing_rows: bool = False
    ) -> WriteResult:
        """Write a serving run and its rows in one transaction: all land, or none do.

        A run whose ``run_id`` or ``source_sha256`` is already present adds nothing
        (``already_present``), unless ``skip_existing_rows`` is set: then rows whose
        ``(run_id, row_key)`` are new are added (a resumed or re-merged ``measure serve``).
        ``inserted_measurements`` counts the serving rows inserted."""
        frame = _frame_with_columns(rows, SERVING_COLUMNS, run.run_id)
        missing = [c for c in SERVING_REQUIRED if frame[c].isna().any()]
        if missing:
            raise StoreError(f"serving rows of run {run.run_id} lack {', '.join(missing)}")
        keyed_frame = frame.rename(columns={"row_key": "trial_key"})
        keyed = tuple("trial_key" if c == "row_key" else c for c in SERVING_COLUMNS)

        def insert(con) -> tuple[int, int]:
            return _insert_new_rows(con, "serving", keyed_frame, keyed, key="row_key"), 0

        return self._write_run_rows(run, len(frame), "serving", insert, skip_existing_rows)

    def serving(
        self,
        models: list[str] | None = None,
        systems: list[str] | None = None,
        include_flagged: bool = True,
    ) -> pd.DataFrame:
        """Serving rows as a DataFrame (empty, with columns, if there are none), ordered by
        model, system, GPUs, precision, task and batch."""
        where, params = [], []
        if models:
            where.append(f"model IN ({', '.join('?' * len(models))})")
            params += list(models)
        if systems:
            where.append(f"system IN ({', '.join('?' * len(systems))})")
            params += list(systems)
        if not include_flagged:
            where.append("list_has_all(?, flags)")
            params.append(sorted(INFORMATIONAL_FLAGS))
        sql = "SELECT * FROM serving" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY model, system, n_gpus, weight_precision, task, mean_batch, row_key"
        return self._read(sql, params, SERVING_COLUMNS)

    def idle_power(self) -> pd.DataFrame:
        """Measured idle power per GPU kind: (system, idle_power_w, n, sources), the median
        of what sweeps (``measurements.idle_power_w``) and serving runs
        (``serving.idle_power_w``, per instance, divided by its GPUs) recorded."""
        sql = (
            "SELECT system, median(w) AS idle_power_w, count(*) AS n, "
            "string_agg(DISTINCT src, ',' ORDER BY src) AS sources FROM ("
            "SELECT system, idle_power_w / greatest(coalesce(n_gpus, 1), 1) AS w, "
            "energy_source AS src FROM measurements WHERE idle_power_w > 0 "
            "UNION ALL SELECT system, idle_power_w / greatest(n_gpus, 1), energy_source "
            "FROM serving WHERE idle_power_w > 0) GROUP BY system ORDER BY system"
        )
        return self._read(sql, [], ("system", "idle_power_w", "n", "sources"))

    # -- stored fits: JSON documents the planner writes, keyed by the rows they fit -----
    def data_version(self) -> str:
        """A digest of every measurement row (run ids, row counts and each row's content,
        flags included): it changes whenever an import, a sweep or an edit changes rows a
        fit could see.  "" for a store without measurements."""
        if not self.exists():
            return ""
        with self._connect(read_only=True) as con:
            return _data_version(con)

    def versioned_measurements(self, include_flagged: bool = True) -> tuple[str, pd.DataFrame]:
        """(data_version, measurements) read in one transaction, so that the version names
        exactly the rows returned."""
        empty = pd.DataFrame(columns=list(MEASUREMENT_COLUMNS))
        if not self.exists():
            return "", empty
        with self._connect(read_only=True) as con:
            if not _table_exists(con, "measurements"):
                return "", empty
            con.execute("BEGIN TRANSACTION")
            version = _data_version(con)
            sql, params = _measurements_sql(None, None, include_flagged)
            rows = con.execute(sql, params).df()
            con.execute("COMMIT")
        return version, rows

    def stored_fits(self, settings: str) -> tuple[str, str | None]:
        """(data_version, document): the store's current data version and the document
        saved for it under ``settings`` (None when there is none)."""
        if not self.exists():
            return "", None
        with self._connect(read_only=True) as con:
            version = _data_version(con)
            if not version or not _table_exists(con, "fits"):
                return version, None
            found = con.execute(
                "SELECT document FROM fits WHERE data_version = ? AND settings = ?",
                [version, settings],
            ).fetchall()
        return version, (found[0][0] if found else None)

    def save_fits(
        self,
        data_version: str,
        settings: str,
        document: str,
        lock_wait_s: float = LOCK_RETRY_SECONDS,
    ) -> bool:
        """Save ``document`` as the fits of ``data_version`` under ``settings``, dropping
        fits of every other data version (they can no longer be current).  Returns False,
        writing nothing, when the rows changed after ``data_version`` was read; raises
        StoreError when the store cannot be written (locked for over ``lock_wait_s``,
        read-only, missing)."""
        if not self.exists():
            raise StoreError(f"store {self.path} does not exist")
        try:
            with self._connect(lock_wait_s=lock_wait_s) as con:
                con.execute("BEGIN TRANSACTION")
                try:
                    if _data_version(con) != data_version:
                        con.execute("ROLLBACK")
                        return False
                    con.execute(
                        "DELETE FROM fits WHERE data_version <> ? OR settings = ?",
                        [data_version, settings],
                    ).fetchall()
                    con.execute(
                        "INSERT INTO fits (data_version, settings, document) VALUES (?, ?, ?)",
                        [data_version, settings, document],
                    ).fetchall()
                    con.execute("COMMIT")
                except duckdb.Error:
                    con.execute("ROLLBACK")
                    raise
        except duckdb.Error as exc:
            raise StoreError(f"saving fits in store {self.path} failed: {exc}") from exc
        return True

    def fits(self) -> pd.DataFrame:
        """Every saved fits document with its data version and settings."""
        if not self.exists():
            return pd.DataFrame(columns=list(FIT_COLUMNS))
        with self._connect(read_only=True) as con:
            if not _table_exists(con, "fits"):
                return pd.DataFrame(columns=list(FIT_COLUMNS))
            return con.execute(
                f"SELECT {', '.join(FIT_COLUMNS)} FROM fits ORDER BY fitted_at, settings"
            ).df()

    def _read(self, sql: str, params: list, columns: tuple[str, ...]) -> pd.DataFrame:
        if not self.exists():
            return pd.DataFrame(columns=list(columns))
        with self._connect(read_only=True) as con:
            if not _table_exists(con, "measurements"):
                return pd.DataFrame(columns=list(columns))
            return con.execute(sql, params).df()


def _measurements_sql(models, systems, include_flagged: bool) -> tuple[str, list]:
    sql = "SELECT * FROM measurements WHERE 1=1"
    params: list = []
    if models:
        sql += " AND list_contains(?, model)"
        params.append(list(models))
    if systems:
        sql += " AND list_contains(?, system)"
        params.append(list(systems))
    if not include_flagged:  # no flags but informational ones (measure.flags)
        sql += " AND list_has_all(?, flags)"
        params.append(sorted(INFORMATIONAL_FLAGS))
    sql += " ORDER BY model, system, run_id, source_line, trial_key"
    return sql, params


def _data_version(con: duckdb.DuckDBPyConnection) -> str:
    """See ``Store.data_version``: per run, its row count and the sum of its rows' hashes
    (order-free, and no two rows of a run hash alike: (run_id, trial_key) is unique)."""
    if not _table_exists(con, "measurements"):
        return ""
    per_run = con.execute(
        f"SELECT run_id, count(*), sum(hash({', '.join(MEASUREMENT_COLUMNS)}))::VARCHAR "
        "FROM measurements GROUP BY run_id ORDER BY run_id"
    ).fetchall()
    if not per_run:
        return ""
    return hashlib.sha256(json.dumps(per_run).encode()).hexdigest()[:16]


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


def _insert_new_rows(
    con, table: str, frame: pd.DataFrame, columns: tuple[str, ...], key: str = "trial_key"
) -> int:
    """Insert rows whose (run_id, trial_key) are new; returns how many were inserted.  The
    frame's row key is ``trial_key``; ``key`` is the table's name for it."""
    if frame.empty:
        return 0
    cols = ", ".join(columns)
    target = ", ".join(key if c == "trial_key" else c for c in columns)
    con.register("incoming_rows", frame)
    try:
        inserted = con.execute(
            f"INSERT INTO {table} ({target}) SELECT {cols} FROM incoming_rows i "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table} t "
            f"WHERE t.run_id = i.run_id AND t.{key} = i.trial_key)"
        ).fetchall()
    except duckdb.Error as exc:
        raise StoreError(f"inserting into {table}: {exc}") from exc
    finally:
        try:
            con.unregister("incoming_rows")
        except duckdb.Error:
            pass  # the transaction is aborted; the rollback clears it
    return int(inserted[0][0]) if inserted else 0


def _insert_staged(con, table: str, columns: tuple[str, ...], key, duplicate_flag) -> int:
    """Insert the attached ``staged`` database's rows of ``table``; with ``duplicate_flag``,
    rows equal on ``key`` to a stored row get that flag.  Returns how many were inserted."""
    values = ", ".join(f"s.{c}" for c in columns)
    source = f"staged.main.{table} s"
    params: list = []
    if duplicate_flag:
        same = " AND ".join(f"s.{c} IS NOT DISTINCT FROM d.{c}" for c in key)
        flags = "CASE WHEN d.stored THEN list_append(s.flags, ?) ELSE s.flags END"
        values = ", ".join(flags if c == "flags" else f"s.{c}" for c in columns)
        source += (
            f" LEFT JOIN (SELECT DISTINCT {', '.join(key)}, true AS stored FROM {table}) d "
            f"ON {same}"
        )
        params.append(duplicate_flag)
    inserted = con.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} FROM {source}", params
    ).fetchall()
    return int(inserted[0][0]) if inserted else 0
