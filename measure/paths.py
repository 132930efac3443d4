"""Where the project's files live, importable without the store's dependencies (DuckDB,
pandas): the dashboard's first view resolves the store path before it needs either."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DB_PATH = PROJECT_ROOT / "data" / "energy.duckdb"
DEFAULT_SHARD_DIR = PROJECT_ROOT / "data" / "shards"
