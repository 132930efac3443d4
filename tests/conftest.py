"""Shared fixtures: the outside reference data in ../shared, and fresh stores."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_REFERENCE = PROJECT_ROOT.parent / "shared" / "reference" / "wilkins2024"


@pytest.fixture(scope="session")
def shared_reference_dir() -> Path:
    """The paper's published measurements; skips when ../shared is not beside the clone."""
    if not (SHARED_REFERENCE / "swing-a100-grid.csv").exists():
        pytest.skip(
            f"../shared reference data absent ({SHARED_REFERENCE}); "
            "clone the project beside shared/ to run the outside checks"
        )
    return SHARED_REFERENCE


@pytest.fixture
def store_path(tmp_path) -> Path:
    """A path for a fresh DuckDB store (not yet created)."""
    return tmp_path / "store.duckdb"
