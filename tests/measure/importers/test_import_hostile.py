"""Hostile numbers in every numeric column of every format the importer reads: each is refused
with the file and line, or stored finite and flagged out of fits, never stored as inf or NaN."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from measure.__main__ import main
from measure.flags import disqualifies
from measure.importers import MalformedFileError, import_file, parse_file
from measure.store import Store

# One file per format: (header, a start-up row, a measurement row); the hostile value replaces
# one column of one row, which is on line 3 (start-up) or line 4 (measurement).
FORMATS = {
    "grid": (
        "Timestamp,Phase,Runtime (s),GPU Energy (mJ),Number of Output Tokens,"
        "Number of Input Tokens,Iteration,Model,Number of GPUs,Prompt,Batch Size,System",
        "1714146368,tokenizer,0.36,16202,32,0,0,falcon-7b,1,startup,32,argonne-swing",
        "1714146421.9,start-inference-A-8,0.27,36274,8,8,8,falcon-7b,1,Hi,32,argonne-swing",
    ),
    "sweeps": (
        "Phase,Runtime (s),CPU Energy (J),GPU Energy (J),Number of Output Tokens,"
        "Number of Input Tokens,Iteration,Model,Number of GPUs,Prompt,Batch Size,System",
        "tokenizer,0.47,0.84,11.5,32,0,0,Falcon (7B),1,startup,32,Palmetto Intel+V100",
        "start-inference-A-0,7.67,44.26,729.25,32,8,0,Falcon (7B),1,Hi,32,Palmetto Intel+V100",
    ),
    "multi_gpu": (
        "Timestamp,Phase,Runtime (s),GPU-0 Energy (mJ),GPU-1 Energy (mJ),GPU Energy (mJ),"
        "Output Token Limit,Number of Output Tokens,Number of Input Tokens,Iteration,Model,"
        "Number of GPUs,Prompt,Batch Size,System",
        "1715265729.2,tokenizer,0.33,16443,14922,31365,32,32,0,0,falcon-40b,2,startup,32,swing",
        "1715265990.1,start-inference-H-8,6.04,767612,783445,1551057,8,8,1024,8,falcon-40b,2,"
        "Hi,32,swing",
    ),
    "kwh_and_ms": (
        "Phase,Runtime (ms),GPU Energy (kWh),CPU Energy (Wh),Number of Output Tokens,"
        "Number of Input Tokens,Model,System",
        "model load,27000,0.00026,0.06,32,0,m,s",
        "inference-1,7670,0.0002,0.0123,32,8,m,s",
    ),
}
NUMERIC = {
    "Timestamp",
    "Runtime (s)",
    "Runtime (ms)",
    "GPU Energy (mJ)",
    "GPU Energy (J)",
    "GPU Energy (kWh)",
    "CPU Energy (J)",
    "CPU Energy (Wh)",
    "GPU-0 Energy (mJ)",
    "GPU-1 Energy (mJ)",
    "Number of Output Tokens",
    "Output Token Limit",
    "Number of Input Tokens",
    "Iteration",
    "Number of GPUs",
    "Batch Size",
}
HOSTILE = ["inf", "-inf", "nan", "NaN", "1e309", "1e308", "-1e308", "-1e15", "1e-320", "5e7"]
# Absurd in every column: stored only where flagged out of fits.  (5e7 and 1e-320 are absurd
# in some columns only: 5e7 ms is 14 hours; the tests below cover those columns.)
ABSURD_ANYWHERE = {"1e308", "-1e308", "-1e15"}
CASES = [
    (fmt, column, line, value)
    for fmt, (header, *_rows) in FORMATS.items()
    for column in header.split(",")
    if column in NUMERIC
    for line in (3, 4)
    for value in HOSTILE
]


def _file(tmp_path, fmt: str, column: str | None = None, line: int = 0, value: str = ""):
    header, startup, measurement = FORMATS[fmt]
    rows = [startup, measurement]
    if column is not None:
        index = header.split(",").index(column)
        fields = rows[line - 3].split(",")
        fields[index] = value
        rows[line - 3] = ",".join(fields)
    path = tmp_path / f"{fmt}.csv"
    # line 1 the header, line 2 blank (kept: line numbers count it), then the two rows
    path.write_text("\n".join([header, "", *rows]) + "\n", encoding="utf-8")
    return path


def _stored_non_finite(path) -> int:
    """Rows of the store holding inf or NaN in any number column (asked of DuckDB itself:
    a DataFrame would show NULL and NaN alike)."""
    checks = {
        "measurements": (
            "runtime_s",
            "gpu_energy_j",
            "cpu_energy_j",
            "idle_power_w",
            "list_bool_or(list_transform(gpu_energy_per_device_j, lambda x: NOT isfinite(x)))",
        ),
        "startup_phases": ("runtime_s", "gpu_energy_j", "cpu_energy_j"),
    }
    con = duckdb.connect(str(path), read_only=True)
    try:
        total = 0
        for table, columns in checks.items():
            bad = " OR ".join(c if c.startswith("list_") else f"NOT isfinite({c})" for c in columns)
            total += con.execute(f"SELECT count(*) FROM {table} WHERE {bad}").fetchall()[0][0]
    finally:
        con.close()
    return total


def test_every_format_imports_clean_before_any_hostile_value(tmp_path, store_path):
    store = Store(store_path)
    for fmt in FORMATS:
        summary = import_file(_file(tmp_path, fmt), store)
        assert (summary.n_measurements, summary.n_startup) == (1, 1), fmt
        assert summary.flag_counts == {}, fmt
    assert len(store.measurements(include_flagged=False)) == len(FORMATS)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_hostile_numbers_are_refused_with_line_or_stored_finite_and_flagged(
    fmt, tmp_path, store_path
):
    """Every hostile value in every numeric column, on a start-up row and a measurement row:
    refused naming the file, the line and the column; or, all those the importer keeps put
    in one file and imported, stored finite, and flagged out of fits where absurd anywhere."""
    header, *rows = FORMATS[fmt]
    kept: list[tuple[str, str, int, str]] = []  # (row text, column, line, value)
    n_refused = 0
    for column, line, value in [(c, n, v) for f, c, n, v in CASES if f == fmt]:
        path = _file(tmp_path, fmt, column, line, value)
        try:
            parse_file(path)
        except MalformedFileError as exc:
            assert str(exc).startswith(f"{path}: line {line}: "), str(exc)
            assert column in str(exc) or "per-GPU energies" in str(exc), str(exc)
            n_refused += 1
            continue
        kept.append((path.read_text().splitlines()[line - 1], column, line, value))
    assert n_refused and kept  # both outcomes occur in every format
    combined = tmp_path / f"{fmt}-kept.csv"
    combined.write_text("\n".join([header] + [k[0] for k in kept]) + "\n", encoding="utf-8")
    store = Store(store_path)
    summary = import_file(combined, store)
    assert summary.n_measurements + summary.n_startup == len(kept)
    assert _stored_non_finite(store_path) == 0
    stored = store.measurements().set_index("source_line")
    for number, (_, column, line, value) in enumerate(kept, start=2):
        if line != 4 or value not in ABSURD_ANYWHERE:
            continue  # a start-up row (never fitted), or a value plausible in some columns
        flags = list(stored.loc[number, "flags"])
        if fmt == "multi_gpu" and column == "GPU Energy (mJ)":
            # the total beside per-GPU columns is not the source: noted, the row stays usable
            assert flags == ["gpu_total_mismatch"] and not disqualifies(flags)
            assert stored.loc[number, "gpu_energy_j"] == pytest.approx(767.612 + 783.445)
        else:
            assert disqualifies(flags), (column, value, flags)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_refused_hostile_file_leaves_the_store_unchanged(fmt, tmp_path, store_path, capsys):
    (tmp_path / "base").mkdir()
    good = _file(tmp_path / "base", fmt)
    assert main(["import", str(good), "--db", str(store_path)]) == 0
    store = Store(store_path)
    before = (store.runs(), store.measurements(), store.startup_phases())
    runtime = next(c for c in FORMATS[fmt][0].split(",") if c.startswith("Runtime"))
    bad = _file(tmp_path, fmt, runtime, 4, "inf")
    capsys.readouterr()
    assert main(["import", str(bad), "--db", str(store_path)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"error: {bad}: line 4: {runtime} is not a finite number: 'inf'"
    for old, new in zip(before, (store.runs(), store.measurements(), store.startup_phases())):
        pd.testing.assert_frame_equal(old, new)


@pytest.mark.parametrize("value", ["1e308", "-1e15", "1.7e12", "nan"])
def test_out_of_range_timestamp_is_a_malformed_file_naming_file_and_line(
    value, tmp_path, store_path, capsys
):
    good = _file(tmp_path, "grid")
    assert main(["import", str(good), "--db", str(store_path)]) == 0
    store = Store(store_path)
    before = (store.runs(), store.measurements(), store.startup_phases())
    bad = tmp_path / "bad-time.csv"
    bad.write_text(_file(tmp_path, "grid", "Timestamp", 4, value).read_text(), encoding="utf-8")
    capsys.readouterr()
    code = main(["import", str(bad), "--db", str(store_path)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err and "OutOfBounds" not in err
    assert f"{bad}: line 4: Timestamp" in err and repr(value) in err
    if value == "1.7e12":
        assert "milliseconds" in err
    for old, new in zip(before, (store.runs(), store.measurements(), store.startup_phases())):
        pd.testing.assert_frame_equal(old, new)


def test_absurd_runtime_is_flagged_not_fitted(tmp_path, store_path, capsys):
    path = _file(tmp_path, "sweeps", "Runtime (s)", 4, "1e308")
    assert main(["import", str(path), "--db", str(store_path)]) == 0
    out = capsys.readouterr().out
    assert "flagged (kept, out of fits by default): implausible_runtime 1" in out
    store = Store(store_path)
    assert store.measurements(include_flagged=False).empty
    assert list(store.measurements()["flags"].iloc[0]) == ["implausible_runtime"]


@pytest.mark.parametrize(
    "column, value, words",
    [
        ("GPU Energy (kWh)", "1e308", ["GPU Energy (kWh)", "too large", "'1e308'"]),
        ("CPU Energy (Wh)", "1e306", ["CPU Energy (Wh)", "too large"]),
    ],
)
def test_unit_scale_overflow_is_refused_after_scaling(column, value, words, tmp_path, store_path):
    path = _file(tmp_path, "kwh_and_ms", column, 4, value)
    with pytest.raises(ValueError) as info:
        import_file(path, Store(store_path))
    assert str(info.value).startswith(f"{path}: line 4: ")
    for word in words:
        assert word in str(info.value)
    assert not store_path.exists()


def test_per_gpu_values_whose_sum_overflows_are_refused(tmp_path, store_path):
    header, startup, _ = FORMATS["multi_gpu"]
    header = header.replace("(mJ)", "(J)")
    row = "1715265990.1,start-inference-H-8,6.04,1e308,1e308,,8,8,1024,8,falcon-40b,2,Hi,32,swing"
    path = tmp_path / "sum.csv"
    path.write_text("\n".join([header, startup, row]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"line 3: the per-GPU energies sum to more than"):
        import_file(path, Store(store_path))
    assert not store_path.exists()


@pytest.mark.parametrize(
    "column, value, flag",
    [
        ("Number of Input Tokens", "50000000", "implausible_tokens"),
        ("Output Token Limit", "50000000", "implausible_tokens"),
        ("Number of GPUs", "5000", "implausible_gpu_count"),
    ],
)
def test_absurd_counts_are_flagged(column, value, flag, tmp_path, store_path):
    summary = import_file(_file(tmp_path, "multi_gpu", column, 4, value), Store(store_path))
    assert flag in summary.flag_counts


def test_absurd_batch_size_taken_from_the_file_is_flagged(tmp_path, store_path):
    path = _file(tmp_path, "grid", "Batch Size", 4, "5000000")
    summary = import_file(path, Store(store_path), batch_size_from_file=True)
    assert summary.flag_counts == {"implausible_batch_size": 1}
