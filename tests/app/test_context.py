from pathlib import Path

import pytest

from app_pages.context import (
    ENV_VAR,
    StorePathError,
    check_store_path,
    resolve_store_path,
    shown_store_path,
    store_folder,
)
from measure.paths import DEFAULT_DB_PATH


def test_db_argument_wins_over_environment():
    path = resolve_store_path(["--db", "/x/a.duckdb"], {ENV_VAR: "/y/b.duckdb"})
    assert path == Path("/x/a.duckdb")


def test_environment_then_default():
    assert resolve_store_path([], {ENV_VAR: "/y/b.duckdb"}) == Path("/y/b.duckdb")
    assert resolve_store_path(["-q", "tests/app"], {}) == DEFAULT_DB_PATH


def test_abbreviated_option_is_not_taken_for_db():
    assert resolve_store_path(["--d", "/x/a.duckdb"], {}) == DEFAULT_DB_PATH


@pytest.fixture
def launch(tmp_path):
    """The store the app was started on: its folder is where the sidebar may open stores."""
    (tmp_path / "data").mkdir()
    return tmp_path / "data" / "energy.duckdb"


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "Enter the path"),
        ("notes.txt", "does not look like a store"),
        ("no/such/folder/s.duckdb", "does not exist"),
    ],
)
def test_bad_store_paths_are_named(launch, text, problem):
    with pytest.raises(StorePathError, match=problem):
        check_store_path(text, launch)


def test_new_store_in_the_data_folder_is_accepted(launch):
    folder = launch.parent.resolve()
    assert check_store_path("new.duckdb", launch) == folder / "new.duckdb"
    assert check_store_path(str(folder / "new.duckdb"), launch) == folder / "new.duckdb"
    (folder / "runs").mkdir()
    assert check_store_path("runs/../runs/a.duckdb", launch) == folder / "runs" / "a.duckdb"
    (folder / "dir.duckdb").mkdir()
    with pytest.raises(StorePathError, match="not a file"):
        check_store_path("dir.duckdb", launch)


def test_a_file_that_is_not_duckdb_is_refused(launch):
    (launch.parent / "text.duckdb").write_text("hello\n")
    (launch.parent / "empty.duckdb").write_bytes(b"")
    for name in ("text.duckdb", "empty.duckdb"):
        with pytest.raises(StorePathError, match="is not a DuckDB store file"):
            check_store_path(name, launch)


def test_paths_outside_the_data_folder_are_refused_by_name(launch, tmp_path):
    """``..``, absolute paths and symlinks (to a file or a folder) that lead out of the
    launch store's folder: refused with the path and the folder named, nothing created."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (launch.parent / "link.duckdb").symlink_to(outside / "evil.duckdb")
    (launch.parent / "linked").symlink_to(outside, target_is_directory=True)
    folder = str(launch.parent.resolve())
    for text in (
        "../outside/evil.duckdb",
        "../../../../../../../../etc/evil.duckdb",
        "/etc/evil.duckdb",
        str(outside / "evil.duckdb"),
        "link.duckdb",
        "linked/evil.duckdb",
        "~/evil.duckdb",
    ):
        with pytest.raises(StorePathError) as refused:
            check_store_path(text, launch)
        message = str(refused.value)
        assert text in message and f"outside the data folder {folder}" in message, message
    assert list(outside.iterdir()) == [] and not Path("/etc/evil.duckdb").exists()


def test_the_launch_store_stays_free_wherever_it_points(launch, tmp_path):
    """Whoever starts the server chose the launch store: a symlink to elsewhere is theirs."""
    elsewhere = tmp_path / "elsewhere.duckdb"
    launch.symlink_to(elsewhere)
    assert check_store_path("energy.duckdb", launch) == elsewhere.resolve()
    assert check_store_path(str(elsewhere), launch) == elsewhere.resolve()


def test_the_data_folder_is_the_launch_stores():
    assert store_folder(resolve_store_path([], {})) == DEFAULT_DB_PATH.parent.resolve()
    assert store_folder(Path("/x/y/a.duckdb")) == Path("/x/y")


def test_the_field_shows_paths_in_the_folder_relative_to_it(launch, tmp_path):
    folder = store_folder(launch)
    assert shown_store_path(launch, folder) == "energy.duckdb"
    assert shown_store_path(folder / "runs" / "b.duckdb", folder) == "runs/b.duckdb"
    assert shown_store_path(tmp_path / "x.duckdb", folder) == str(tmp_path / "x.duckdb")
    for path in (launch, folder / "b.duckdb"):  # what the field shows is read back the same
        assert check_store_path(shown_store_path(path, folder), launch) == path.resolve()
