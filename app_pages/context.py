"""Where the dashboard's store lives: ``--db PATH`` after ``--``, env PLANNER_DB, or the default."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from measure.paths import DEFAULT_DB_PATH

ENV_VAR = "PLANNER_DB"
STORE_SUFFIXES = (".duckdb", ".db")
DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


class StorePathError(ValueError):
    """A store path the user typed cannot be used; the message says why."""


def resolve_store_path(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """``streamlit run app.py -- --db PATH`` wins, then ``$PLANNER_DB``, then the default."""
    argv = list(argv or [])
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--db", default=None)
    args, _unknown = parser.parse_known_args(argv)
    if args.db:
        return Path(args.db).expanduser()
    if environ.get(ENV_VAR):
        return Path(environ[ENV_VAR]).expanduser()
    return DEFAULT_DB_PATH


def check_store_path(text: str) -> Path:
    """Validate a store path typed in the sidebar; raises StorePathError naming the problem."""
    text = (text or "").strip()
    if not text:
        raise StorePathError("Enter the path of a DuckDB store file, e.g. data/energy.duckdb.")
    path = Path(text).expanduser()
    if path.suffix.lower() not in STORE_SUFFIXES:
        raise StorePathError(
            f"{path.name!r} does not look like a store file: use a name ending in .duckdb"
        )
    if path.exists() and not path.is_file():
        raise StorePathError(f"{path} exists but is not a file")
    if not path.exists() and not path.parent.exists():
        raise StorePathError(f"folder {path.parent} does not exist")
    if path.exists() and not is_duckdb_file(path):
        raise StorePathError(
            f"{path} is not a DuckDB store file; choose another file, or a "
            "new name to start an empty store"
        )
    return path


def is_duckdb_file(path: Path) -> bool:
    """True when the file starts like a DuckDB database (or cannot be read to tell)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except PermissionError:
        return True  # the store's own error will name the problem
    except OSError:
        return False
    return len(head) == 12 and head[8:12] == DUCKDB_MAGIC
