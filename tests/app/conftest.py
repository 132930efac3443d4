"""Fixtures for the dashboard tests (the shared reference store is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.app.launch import chromium_launch_options, chromium_path


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through Playwright, one per browser test module (closed
    before the module's neighbours run, so Playwright's event loop outlives no test)."""
    if chromium_path() is None:
        pytest.skip(
            "no chromium on this machine (Debian: apt-get install chromium); "
            "playwright install cannot download browsers here"
        )
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(**chromium_launch_options())
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def no_first_chart_pause(monkeypatch):
    """The Planner page's pause for the browser, until the process has loaded the solver,
    has no browser to wait for under AppTest."""
    monkeypatch.setenv("PLANNER_FIRST_CHART_PAUSE_S", "0")


@pytest.fixture(scope="session", autouse=True)
def unfreeze_at_the_end():
    """AppTest runs the app in this process, so its heavy imports freeze objects here too
    (``app_pages.imports``); unfrozen at the end, the interpreter's last collection frees
    them (otherwise nanobind reports DuckDB's objects as leaked at exit)."""
    yield
    import gc

    gc.unfreeze()
