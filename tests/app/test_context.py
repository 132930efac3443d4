from pathlib import Path

import pytest

from app_pages.context import ENV_VAR, StorePathError, check_store_path, resolve_store_path
from measure.paths import DEFAULT_DB_PATH


def test_db_argument_wins_over_environment():
    path = resolve_store_path(["--db", "/x/a.duckdb"], {ENV_VAR: "/y/b.duckdb"})
    assert path == Path("/x/a.duckdb")


def test_environment_then_default():
    assert resolve_store_path([], {ENV_VAR: "/y/b.duckdb"}) == Path("/y/b.duckdb")
    assert resolve_store_path(["-q", "tests/app"], {}) == DEFAULT_DB_PATH


def test_abbreviated_option_is_not_taken_for_db():
    assert resolve_store_path(["--d", "/x/a.duckdb"], {}) == DEFAULT_DB_PATH


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "Enter the path"),
        ("notes.txt", "does not look like a store"),
        ("/no/such/folder/s.duckdb", "does not exist"),
    ],
)
def test_bad_store_paths_are_named(text, problem):
    with pytest.raises(StorePathError, match=problem):
        check_store_path(text)


def test_new_store_in_existing_folder_is_accepted(tmp_path):
    assert check_store_path(str(tmp_path / "new.duckdb")) == tmp_path / "new.duckdb"
    (tmp_path / "dir.duckdb").mkdir()
    with pytest.raises(StorePathError, match="not a file"):
        check_store_path(str(tmp_path / "dir.duckdb"))


def test_a_file_that_is_not_duckdb_is_refused(tmp_path):
    (tmp_path / "text.duckdb").write_text("hello\n")
    (tmp_path / "empty.duckdb").write_bytes(b"")
    for name in ("text.duckdb", "empty.duckdb"):
        with pytest.raises(StorePathError, match="is not a DuckDB store file"):
            check_store_path(str(tmp_path / name))
