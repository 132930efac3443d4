"""The Planner page's first chart comes before pandas, DuckDB and the solver load: what it
imports stays light, and the heavy imports after it run without the garbage collector.
(That the chart draws the workload the plan uses is tested in tests/planner/workload.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
