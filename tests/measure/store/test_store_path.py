"""A store path holding something other than a DuckDB database is refused, plainly and untouched."""

from __future__ import annotations

import pytest

from measure.__main__ import main
from measure.store import RunRecord, Store, StoreError

GOOD_CSV = (
    "Phase,Runtime (s),GPU Energy (J),Number of Output Tokens,Number of Input Tokens,Model,"
    "System\ninference-1,1.0,100,8,8,m,s\n"
)


@pytest.fixture(params=["csv", "empty", "parquet-like", "text"])
def not_a_store(request, tmp_path):
    path = tmp_path / f"not-a-store.{request.param}"
    content = {
        "csv": GOOD_CSV.encode(),
        "empty": b"",
        "parquet-like": b"PAR1" + bytes(range(64)) + b"PAR1",
        "text": b"DUCK? no, just notes about ducks\n",
    }[request.param]
    path.write_bytes(content)
    return path, content


def test_reads_and_writes_say_the_path_is_not_a_duckdb_store(not_a_store):
    path, content = not_a_store
    store = Store(path)
    for call in (
        store.measurements,
        store.runs,
        lambda: store.stored_run("r1"),
        lambda: store.write_run(RunRecord("r1", "import", "f.csv"), _one_row()),
    ):
        with pytest.raises(StoreError) as info:
            call()
        assert f"{path} is not a DuckDB store" in str(info.value)
        assert "in-memory" not in str(info.value)
    assert path.read_bytes() == content


def test_import_with_db_pointing_at_a_csv_says_so_once_and_changes_nothing(
    not_a_store, tmp_path, capsys
):
    path, content = not_a_store
    csv = tmp_path / "measurements.csv"
    csv.write_text(GOOD_CSV, encoding="utf-8")
    code = main(["import", str(csv), str(csv), "--db", str(path)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines() == [
        f"error: {path} is not a DuckDB store "
        f"({'an empty file' if not content else 'not a DuckDB database file'}); give the path "
        "of a store, or a new path to create one"
    ]
    assert path.read_bytes() == content


def test_a_folder_is_not_a_store(tmp_path):
    with pytest.raises(StoreError, match="is a folder, not a DuckDB store"):
        Store(tmp_path).measurements()


def _one_row():
    import pandas as pd

    return pd.DataFrame(
        {
            "trial_key": ["1"],
            "model": ["m"],
            "system": ["s"],
            "input_tokens": [8],
            "output_tokens": [8],
            "runtime_s": [1.0],
            "energy_source": ["imported"],
        }
    )
