"""Fixtures for the dashboard tests: stores holding the shared reference data."""

from __future__ import annotations

import pytest

from measure.importers.paper import import_file
from measure.store import Store


@pytest.fixture(scope="session")
def reference_store(shared_reference_dir, tmp_path_factory):
    """A store with both shared reference files imported (read it, do not write to it)."""
    path = tmp_path_factory.mktemp("reference") / "reference.duckdb"
    store = Store(path)
    import_file(shared_reference_dir / "swing-a100-grid.csv", store, system="argonne-swing")
    import_file(shared_reference_dir / "systems-sweeps.csv", store)
    return path


@pytest.fixture(autouse=True)
def no_first_chart_pause(monkeypatch):
    """The Planner page's once-per-session pause for the browser (0.3 s) has no browser to
    wait for under AppTest."""
    monkeypatch.setenv("PLANNER_FIRST_CHART_PAUSE_S", "0")


@pytest.fixture(scope="session", autouse=True)
def unfreeze_at_the_end():
    """AppTest runs the app in this process, so its heavy imports freeze objects here too
    (``app_pages.imports``); unfrozen at the end, the interpreter's last collection frees
    them (otherwise nanobind reports DuckDB's objects as leaked at exit)."""
    yield
    import gc

    gc.unfreeze()
