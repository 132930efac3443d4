"""Bounded caches around the data reads and solver objects the pages share.

Data reads use ``st.cache_data`` keyed on the store file's version (size and mtime of the
file and its WAL), so an import or sweep is seen on the next run; solver objects
(``Planner``, baseline plans, frontiers) use ``st.cache_resource`` keyed on the content of
their inputs (``digest``, ``workload_key``, ``reports_key``), so moving zeta re-solves the
cached Planner instead of rebuilding it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import streamlit as st

from measure.store import Store


def store_version(path: str | Path) -> tuple:
    """Changes whenever the store file (or its write-ahead log) changes."""
    out = []
    for p in (Path(path), Path(f"{path}.wal")):
        try:
            stat = p.stat()
            out.append((stat.st_size, stat.st_mtime_ns))
        except OSError:
            out.append(None)
    return tuple(out)


@st.cache_data(max_entries=4, ttl=600, show_spinner=False)
def measurements(path: str, version: tuple) -> pd.DataFrame:
    return Store(path).measurements()


@st.cache_data(max_entries=4, ttl=600, show_spinner=False)
def arms_summary(path: str, version: tuple) -> pd.DataFrame:
    return Store(path).arms()


@st.cache_data(max_entries=4, ttl=600, show_spinner=False)
def runs(path: str, version: tuple) -> pd.DataFrame:
    return Store(path).runs()


def n_measurements(path: str | Path) -> int:
    arms = arms_summary(str(path), store_version(path))
    return int(arms["n"].sum()) if len(arms) else 0


def clear_data() -> None:
    """After a write: forget the cached table reads.  They are keyed on the store file's
    version already; this only frees the stale entries at once.  Fits, the catalogue and
    every other session's entries stay (a process-wide clear would make every session
    refit)."""
    for read in (measurements, arms_summary, runs):
        read.clear()


@st.cache_data(max_entries=1, ttl=3600, show_spinner=False)
def catalogue_set():
    from app_pages.sources import catalogue_reports

    return catalogue_reports()


@st.cache_resource(max_entries=1, show_spinner="Fitting the serving catalogue…")
def serving_set():
    """The serving catalogue's fitted arms, shared read-only by every session (fitted once
    per process: a few CPU-seconds)."""
    from app_pages.sources import serving_set as load

    return load()


@st.cache_data(max_entries=4, ttl=3600, show_spinner="Fitting the store's measurements…")
def store_set(path: str, version: tuple):
    from app_pages.sources import store_reports

    return store_reports(path)


@st.cache_resource(max_entries=6, show_spinner=False)
def synthetic_workload(kind: str, n_queries: int, seed: int):
    from planner.workload.load import synthetic_workload as make

    return make(kind, int(n_queries), seed=int(seed))


def digest(*parts) -> str:
    """A short stable key for cache entries built from JSON-able parts."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def workload_key(workload) -> str:
    """The workload's content: token counts, task, count and, where the file had them,
    arrival times (two traces differing only in arrivals are different workloads)."""
    q = workload.queries
    columns = ["input_tokens", "output_tokens", "task", "count"]
    columns += [c for c in ("arrival_s",) if c in q.columns]
    hashed = pd.util.hash_pandas_object(q[columns], index=False)
    return digest(workload.name, len(q), int(hashed.sum() % (2**61)))


def reports_key(reports) -> str:
    return digest([r.to_json() for r in reports])


@st.cache_resource(max_entries=4, show_spinner="Building the planner…")
def planner_bundle(key: str, _arms, _workload, _fleet):
    """One PlannerBundle per content key (workload, arms, fleet without facility figures)."""
    from app_pages.bundle import PlannerBundle

    return PlannerBundle(_arms, _workload, _fleet)
