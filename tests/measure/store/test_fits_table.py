"""The store's fits table: opaque documents keyed by the version of the rows they fit."""

import pandas as pd
import pytest

from measure.store import RunRecord, Store, StoreError


def _rows(**overrides):
    base = {
        "trial_key": ["1", "2"],
        "model": ["m", "m"],
        "system": ["s", "s"],
        "input_tokens": [8, 16],
        "output_tokens": [8, 8],
        "runtime_s": [0.1, 0.2],
        "gpu_energy_j": [1.0, 2.0],
        "energy_source": ["imported"] * 2,
    }
    base.update(overrides)
    return pd.DataFrame(base)


def test_data_version_follows_the_rows(store_path, tmp_path):
    store = Store(store_path)
    assert store.data_version() == "" and not store_path.exists()
    store.write_run(RunRecord("r1", "import", "f.csv", "abc"), _rows())
    v1 = store.data_version()
    assert len(v1) == 16
    store.write_run(RunRecord("r2", "import", "f.csv", "abc"), _rows())  # same bytes again
    assert store.data_version() == v1
    store.write_run(
        RunRecord("r1", "import", "f.csv"),
        _rows(trial_key=["3"] * 2).head(1),
        skip_existing_rows=True,
    )
    v2 = store.data_version()
    assert v2 != v1
    version, rows = store.versioned_measurements()
    assert version == v2 and len(rows) == 3
    flagged = Store(tmp_path / "flagged.duckdb")  # the same rows, one of them flagged
    flagged.write_run(
        RunRecord("r1", "import", "f.csv", "abc"), _rows(flags=[[], ["negative_cpu_energy"]])
    )
    assert flagged.data_version() != v1
    assert len(flagged.versioned_measurements(include_flagged=False)[1]) == 1


def test_save_and_read_fits_documents(store_path):
    store = Store(store_path)
    store.write_run(RunRecord("r1", "import", "f.csv", "abc"), _rows())
    version = store.data_version()
    assert store.stored_fits("settings-a") == (version, None)
    assert store.save_fits(version, "settings-a", '{"doc": 1}')
    assert store.save_fits(version, "settings-b", "not even JSON")  # opaque to the store
    assert store.stored_fits("settings-a") == (version, '{"doc": 1}')
    assert store.save_fits(version, "settings-a", '{"doc": 2}')  # replaces
    assert store.stored_fits("settings-a")[1] == '{"doc": 2}'
    assert sorted(store.fits()["settings"]) == ["settings-a", "settings-b"]
    before = store.measurements()
    store.write_run(RunRecord("r2", "import", "g.csv", "def"), _rows(trial_key=["x", "y"]))
    new = store.data_version()
    assert store.stored_fits("settings-a") == (new, None)  # old fits are not current
    assert not store.save_fits(version, "settings-a", '{"doc": 3}')  # stale: not written
    assert sorted(store.fits()["document"]) == ["not even JSON", '{"doc": 2}']
    assert store.save_fits(new, "settings-a", '{"doc": 4}')
    assert list(store.fits()["document"]) == ['{"doc": 4}']  # other versions dropped
    assert len(store.measurements()) == len(before) + 2


def test_saving_fits_never_creates_a_store(tmp_path):
    store = Store(tmp_path / "none.duckdb")
    with pytest.raises(StoreError, match="does not exist"):
        store.save_fits("v", "s", "{}")
    assert not store.path.exists() and store.fits().empty
    assert store.stored_fits("s") == ("", None)
