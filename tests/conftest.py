"""Shared fixtures: the outside reference data in ../shared, and fresh stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from measure.paths import PROJECT_ROOT

SHARED_REFERENCE = PROJECT_ROOT.parent / "shared" / "reference" / "wilkins2024"
MLENERGY_REFERENCE = PROJECT_ROOT.parent / "shared" / "reference" / "mlenergy-v3"


@pytest.fixture(scope="session")
def shared_reference_dir() -> Path:
    """The paper's published measurements; skips when ../shared is not beside the clone."""
    if not (SHARED_REFERENCE / "swing-a100-grid.csv").exists():
        pytest.skip(
            f"../shared reference data absent ({SHARED_REFERENCE}); "
            "clone the project beside shared/ to run the outside checks"
        )
    return SHARED_REFERENCE


@pytest.fixture(scope="session")
def mlenergy_dir() -> Path:
    """The ML.ENERGY Leaderboard v3 files; skips when ../shared is not beside the clone."""
    if not (MLENERGY_REFERENCE / "tasks" / "lm-arena-chat.json").exists():
        pytest.skip(
            f"../shared ML.ENERGY reference data absent ({MLENERGY_REFERENCE}); "
            "clone the project beside shared/ to run the outside checks"
        )
    return MLENERGY_REFERENCE


@pytest.fixture(scope="session")
def reference_store(shared_reference_dir, tmp_path_factory):
    """A store with both shared reference files imported (add no measurements to it; the
    app may save its fits there, as it does in any store)."""
    from measure.importers import import_file
    from measure.store import Store

    path = tmp_path_factory.mktemp("reference") / "reference.duckdb"
    store = Store(path)
    import_file(shared_reference_dir / "swing-a100-grid.csv", store, system="argonne-swing")
    import_file(shared_reference_dir / "systems-sweeps.csv", store)
    return path


@pytest.fixture
def store_path(tmp_path) -> Path:
    """A path for a fresh DuckDB store (not yet created)."""
    return tmp_path / "store.duckdb"
