"""Where the dashboard's store lives: ``--db PATH`` after ``--``, env PLANNER_DB, or the
default; and which stores a browser may switch to (those in the launch store's folder)."""

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


def store_folder(launch_store: Path) -> Path:
    """The folder a store chosen in the browser must lie in: that of the store the app was
    started on (``--db``, ``$PLANNER_DB``, else the project's ``data/``), symlinks resolved.
    Whoever starts the server picks any path; a browser only picks among that folder's."""
    return Path(launch_store).expanduser().absolute().parent.resolve()


def shown_store_path(path: Path, folder: Path) -> str:
    """``path`` as the sidebar's field shows it: relative to ``folder`` when inside it (how a
    typed relative path is read), else as it is."""
    path = Path(path).expanduser().absolute()
    try:
        return str((path.parent.resolve() / path.name).relative_to(folder))
    except ValueError:
        return str(path)


def check_store_path(text: str, launch_store: Path) -> Path:
    """The store file a path typed in the sidebar names, symlinks and ``..`` resolved.

    A relative path is read inside ``store_folder(launch_store)``; whatever it resolves to
    must stay inside that folder (or be the launch store itself).  Raises StorePathError
    naming the path and the problem; nothing is created here.
    """
    text = (text or "").strip()
    if not text:
        raise StorePathError("Enter the path of a DuckDB store file, e.g. energy.duckdb.")
    folder = store_folder(launch_store)
    typed = Path(text).expanduser()
    path = (folder / typed).resolve()  # an absolute ``typed`` replaces ``folder``
    if path != Path(launch_store).expanduser().resolve() and not path.is_relative_to(folder):
        resolved = "" if str(path) == text else f" (it resolves to {path})"
        raise StorePathError(
            f"{text} is outside the data folder {folder}{resolved}: a store chosen here "
            "must be inside that folder. To use another folder, start the app with --db PATH."
        )
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
