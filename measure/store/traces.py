"""A request trace (CSV or Parquet) aggregated into time slots by DuckDB, out of core.

Traces of tens of millions of requests (BurstGPT alone has 5.3 million) never enter
Python: one SQL statement reads the file, counts requests and sums tokens per slot (and,
with deferrable requests, per (slot, latest slot)), under a DuckDB ``memory_limit`` (it
spills to a temporary directory beyond it), so memory stays bounded whatever the file
size.  Slots lie on the trace's clock (whole multiples of the slot length), numbered
from the first that holds a request.  The planner chooses the columns (its workload module knows the traces'
spellings); this module only runs the SQL (every SQL statement lives in measure.store).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pandas as pd

__all__ = ["DEFAULT_TRACE_MEMORY_LIMIT", "TraceError", "aggregate_trace", "trace_columns"]

DEFAULT_TRACE_MEMORY_LIMIT = "1GB"
_TIME_TYPES = ("TIMESTAMP", "DATE", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS")


class TraceError(ValueError):
    """A trace cannot be aggregated; the message names the file and the column."""


def _reader(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "read_parquet($path)"
    if suffix in (".csv", ".tsv", ".txt"):
        return "read_csv($path, header = true)"
    raise TraceError(f"{path}: not a CSV or Parquet trace (suffix {suffix or 'none'})")


def _ident(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _connect(memory_limit: str, threads: int | None, spill: str) -> duckdb.DuckDBPyConnection:
    config = {
        "memory_limit": memory_limit,
        "temp_directory": spill,
        # order of rows within a group is irrelevant here, and keeping it costs memory
        "preserve_insertion_order": False,
    }
    if threads is not None:
        config["threads"] = int(threads)
    con = duckdb.connect(":memory:", config=config)
    con.execute("SET enable_progress_bar = false")
    return con


def trace_columns(path) -> dict[str, str]:
    """The trace's columns and their DuckDB types (the file's schema, not its rows)."""
    path = Path(path)
    if not path.exists():
        raise TraceError(f"{path}: no such file")
    with tempfile.TemporaryDirectory(prefix="trace-spill-") as spill:
        con = _connect(DEFAULT_TRACE_MEMORY_LIMIT, None, spill)
        try:
            rows = con.execute(
                f"DESCRIBE SELECT * FROM {_reader(path)}", {"path": str(path)}
            ).fetchall()
        except duckdb.Error as exc:
            raise TraceError(f"{path}: cannot read trace: {_first_line(exc)}") from exc
        finally:
            con.close()
    return {str(r[0]): str(r[1]) for r in rows}


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _arrival_sql(column: str, kind: str, unit_s: float) -> str:
    """Seconds as DOUBLE from a timestamp, date-time text or a number of $unit seconds."""
    col = _ident(column)
    if kind.upper() in _TIME_TYPES:
        return f"epoch_us({col}) / 1e6"
    if kind.upper() in ("VARCHAR", "TEXT"):
        return f"epoch_us(CAST({col} AS TIMESTAMP)) / 1e6"
    return f"CAST({col} AS DOUBLE)" if unit_s == 1 else f"CAST({col} AS DOUBLE) * $unit"


def aggregate_trace(
    path,
    *,
    arrival: str,
    output: str,
    input: str | None = None,  # noqa: A002 (the trace's input tokens)
    slot_s: float,
    arrival_unit_s: float = 1.0,
    deadline: str | None = None,
    slack_s: float | None = None,
    quantiles: bool = True,
    memory_limit: str = DEFAULT_TRACE_MEMORY_LIMIT,
    threads: int | None = None,
) -> pd.DataFrame:
    """Requests and tokens per slot of ``slot_s`` seconds, straight from the file.

    Columns: ``slot`` (from the first arrival), ``latest_slot`` (the last slot that ends
    by the request's deadline, NULL unless it may be deferred: ``deadline`` names a column
    of seconds after arrival, ``slack_s`` gives every request the same), ``requests``,
    ``input_tokens``, ``output_tokens``, and with ``quantiles`` ``p50_output_tokens`` and
    ``p90_output_tokens`` (DuckDB's approximate quantiles, which cost about as much again
    as the counting).  Arrival times may be timestamps, date-time text or numbers of
    ``arrival_unit_s`` seconds.  Slots lie on the trace's own clock (multiples of
    ``slot_s`` since its epoch, so hourly slots are clock hours), numbered from the
    first one holding a request; the file is read once.
    """
    path = Path(path)
    if not slot_s > 0:
        raise TraceError(f"slot length must be > 0 seconds, got {slot_s}")
    columns = trace_columns(path)
    for role, name in (("arrival", arrival), ("output", output), ("input", input)):
        if name is not None and name not in columns:
            raise TraceError(f"{path}: no {role} column {name!r} (columns: {', '.join(columns)})")
    if deadline is not None and deadline not in columns:
        raise TraceError(f"{path}: no deadline column {deadline!r} (columns: {', '.join(columns)})")
    a_sql = _arrival_sql(arrival, columns[arrival], arrival_unit_s)
    tin = f"CAST({_ident(input)} AS BIGINT)" if input else "CAST(0 AS BIGINT)"
    tout = f"CAST({_ident(output)} AS BIGINT)"
    params: dict = {"path": str(path), "slot": float(slot_s)}
    if "$unit" in a_sql:
        params["unit"] = float(arrival_unit_s)
    slack = None
    if deadline is not None:
        slack = f"CAST({_ident(deadline)} AS DOUBLE)"
    elif slack_s is not None:
        slack, params["slack"] = "$slack", float(slack_s)
    extra = "" if slack is None else f", {slack} AS slack"
    src = f"SELECT {a_sql} AS a, {tin} AS tin, {tout} AS tout{extra} FROM {_reader(path)}"
    latest = "CAST(NULL AS BIGINT)"  # no deadlines: no per-row work for them
    if slack is not None:
        latest = (
            "CASE WHEN slack > 0 THEN greatest(CAST(floor((a + slack) / $slot) AS BIGINT) - 1, "
            "CAST(floor(a / $slot) AS BIGINT)) END"
        )
    # one pass over the file: slots on the trace's own clock (multiples of $slot), and
    # the last slot that ends by each deferrable request's deadline; the small result is
    # then renumbered from the first slot that holds a request
    qsql = (
        ", approx_quantile(tout, 0.5) AS p50_output_tokens, "
        "approx_quantile(tout, 0.9) AS p90_output_tokens"
        if quantiles
        else ""
    )
    sql = (
        "WITH g AS (SELECT CAST(floor(a / $slot) AS BIGINT) AS k, "
        f"{latest} AS lk, "
        "count(*) AS requests, sum(tin) AS input_tokens, sum(tout) AS output_tokens"
        f"{qsql} FROM ({src}) GROUP BY ALL) "
        "SELECT k - min(k) OVER () AS slot, lk - min(k) OVER () AS latest_slot, "
        "* EXCLUDE (k, lk) FROM g ORDER BY slot, latest_slot NULLS FIRST"
    )
    with tempfile.TemporaryDirectory(prefix="trace-spill-") as spill:
        con = _connect(memory_limit, threads, spill)
        try:
            frame = con.execute(sql, params).df()
        except duckdb.Error as exc:
            raise TraceError(f"{path}: cannot aggregate trace: {_first_line(exc)}") from exc
        finally:
            con.close()
    if len(frame) and frame["requests"].sum() == 0:
        raise TraceError(f"{path}: no requests")
    bad = frame["slot"].isna()
    if bad.any():
        raise TraceError(f"{path}: column {arrival!r}: missing or unreadable arrival times")
    for col in ("input_tokens", "output_tokens"):
        frame[col] = frame[col].fillna(0).astype("int64")
        if (frame[col] < 0).any():
            raise TraceError(f"{path}: negative token counts in the trace")
    return frame
