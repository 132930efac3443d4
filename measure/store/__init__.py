"""The DuckDB store: schema, reads and transactional writes (every SQL statement lives here)."""

from measure.store.schema import (
    MEASUREMENT_COLUMNS,
    RUN_COLUMNS,
    SERVING_COLUMNS,
    STARTUP_COLUMNS,
)
from measure.store.store import RunRecord, StagedRows, Store, StoredRun, StoreError, WriteResult
from measure.store.traces import TraceError, aggregate_trace, trace_columns

__all__ = [
    "Store",
    "StoreError",
    "RunRecord",
    "WriteResult",
    "StagedRows",
    "StoredRun",
    "MEASUREMENT_COLUMNS",
    "STARTUP_COLUMNS",
    "RUN_COLUMNS",
    "SERVING_COLUMNS",
    "TraceError",
    "aggregate_trace",
    "trace_columns",
]
