"""The Planner page's first chart comes before pandas, DuckDB and the solver load: what it
imports stays light, and it draws the same workload the plan uses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from planner.report.html import workload_figure
from planner.workload.histogram import token_histogram
from planner.workload.load import synthetic_workload
from planner.workload.synthetic import synthetic_tokens

ROOT = Path(__file__).resolve().parents[2]


def test_first_view_modules_import_no_pandas_duckdb_or_solver():
    code = (
        "import sys; sys.argv = ['app']; import streamlit; "
        "import app_pages.settings, app_pages.state, app_pages.imports, "
        "planner.workload.synthetic, planner.workload.histogram, measure.paths; "
        "print(sorted(m for m in ('pandas', 'duckdb', 'cvxpy', 'scipy', 'sklearn') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_synthetic_tokens_are_the_planned_workloads():
    tin, tout = synthetic_tokens("math", 500, seed=7)
    q = synthetic_workload("math", 500, seed=7).queries
    assert np.array_equal(tin, q["input_tokens"]) and np.array_equal(tout, q["output_tokens"])


def test_token_histogram_counts_every_query_once_per_trace():
    tin, tout = synthetic_tokens("chat", 3000, seed=1)
    fig = token_histogram(tin, tout)
    assert [sum(t.y) for t in fig.data] == [3000, 3000]
    weighted = token_histogram(np.array([5, 50]), np.array([10, 100]), np.array([2.0, 3.0]))
    assert [sum(t.y) for t in weighted.data] == [5.0, 5.0]
    q = synthetic_workload("chat", 3000, seed=1).queries
    assert [list(t.y) for t in workload_figure(q).data] == [list(t.y) for t in fig.data]


def test_heavy_imports_run_without_the_collector_and_are_frozen_once():
    import gc
    import importlib
    import sys as _sys

    from app_pages.imports import collector_paused

    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled() and gc.get_freeze_count() == frozen  # nothing new: no freeze
    _sys.modules.pop("colorsys", None)
    with collector_paused():
        importlib.import_module("colorsys")  # a first import
    assert gc.isenabled() and gc.get_freeze_count() > frozen
    gc.unfreeze()
