"""Malformed files: a message naming file and line, exit code 1, and an unchanged store."""

from __future__ import annotations

import pandas as pd
import pytest

from measure.__main__ import main
from measure.importers import MalformedFileError, import_file
from measure.store import Store

HEADER = (
    "Phase,Runtime (s),CPU Energy (J),GPU Energy (J),Number of Output Tokens,"
    "Number of Input Tokens,Iteration,Model,Number of GPUs,Prompt,Batch Size,System"
)
GOOD_ROWS = [
    "tokenizer,0.4,0.8,11.5,32,0,0,Falcon (7B),1,startup,32,Palmetto Intel+V100",
    'start-inference-A-0,7.6,44.2,729.2,32,8,0,Falcon (7B),1,"two\nlines",32,Palmetto Intel+V100',
    "start-inference-A-1,6.3,35.3,685.5,32,8,1,Falcon (7B),1,short,32,Palmetto Intel+V100",
]


def _good_text() -> str:
    return "\n".join([HEADER, *GOOD_ROWS]) + "\n"


def _with_row(row: str) -> str:
    """The good file plus one more row, which starts on line 6."""
    return _good_text() + row + "\n"


def _bad_field(field: str, value: str) -> str:
    """The good file plus a row (line 6) whose ``field`` is ``value``."""
    base = dict(zip(HEADER.split(","), GOOD_ROWS[2].split(",")))
    base[field] = value
    return _with_row(",".join(base.values()))


CASES = {
    # name: (file bytes, expected line, words the message must contain)
    "too_many_fields": (
        _with_row(GOOD_ROWS[2] + ",extra").encode(),
        6,
        ["13 fields", "12 columns"],
    ),
    "too_few_fields": (
        _with_row("start-inference-B-0,1.0,2.0").encode(),
        6,
        ["3 fields", "12 columns"],
    ),
    "missing_input_tokens": (
        _good_text().replace("Number of Input Tokens", "Input").encode(),
        1,
        ["missing required column", "Number of Input Tokens"],
    ),
    "missing_energy_columns": (
        _good_text().replace(" Energy (J)", " Power (W)").encode(),
        1,
        ["missing required column", "energy column"],
    ),
    "non_numeric_tokens": (
        _bad_field("Number of Input Tokens", "eight").encode(),
        6,
        ["Number of Input Tokens", "not a number", "'eight'"],
    ),
    "negative_tokens": (
        _bad_field("Number of Output Tokens", "-32").encode(),
        6,
        ["Number of Output Tokens", "negative"],
    ),
    "absurd_tokens": (
        _bad_field("Number of Input Tokens", "99999999999999999999").encode(),
        6,
        ["Number of Input Tokens", "absurdly large"],
    ),
    "fractional_tokens": (
        _bad_field("Number of Input Tokens", "8.5").encode(),
        6,
        ["not a whole number", "'8.5'"],
    ),
    "non_numeric_runtime": (
        _bad_field("Runtime (s)", "fast").encode(),
        6,
        ["Runtime (s)", "not a number"],
    ),
    "non_numeric_energy": (
        _bad_field("GPU Energy (J)", "n/a").encode(),
        6,
        ["GPU Energy (J)", "not a number"],
    ),
    "empty_file": (b"", 1, ["empty"]),
    "blank_lines_only": (b"\n\n  \n", 1, ["empty"]),
    "header_only": ((HEADER + "\n").encode(), 2, ["no data rows"]),
    "not_utf8": (_good_text().replace("short", "caf\u00e9").encode("latin-1"), 5, ["UTF-8"]),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 3, ["NUL"]),
    "not_csv_json": (
        b'{"runs": [{"model": "x", "energy": 1}]}\n',
        1,
        ["not one of the paper's energy CSV formats"],
    ),
    "unterminated_quote": (
        _with_row('start-inference-B-0,1.0,2.0,3.0,32,8,0,M,1,"open,32,S').encode(),
        6,
        ["not valid CSV"],
    ),
    "unknown_energy_unit": (
        _good_text().replace("CPU Energy (J)", "CPU Energy (cal)").encode(),
        1,
        ["unknown energy unit", "cal"],
    ),
    "duplicate_column": (_good_text().replace("Iteration", "Model").encode(), 1, ["duplicate"]),
}


def _snapshot(store: Store):
    return (store.runs(), store.measurements(), store.startup_phases())


@pytest.fixture
def populated(tmp_path, store_path):
    good = tmp_path / "good.csv"
    good.write_text(_good_text(), encoding="utf-8")
    store = Store(store_path)
    summary = import_file(good, store)
    assert (summary.n_measurements, summary.n_startup) == (2, 1)
    return store


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_file_names_file_and_line_and_leaves_store_unchanged(
    case, populated, tmp_path, capsys
):
    data, line, words = CASES[case]
    path = tmp_path / f"{case}.csv"
    path.write_bytes(data)
    before = _snapshot(populated)
    code = main(["import", str(path), "--db", str(populated.path)])
    captured = capsys.readouterr()
    assert code == 1
    err_lines = captured.err.strip().splitlines()
    assert len(err_lines) == 1 and "Traceback" not in captured.err
    assert f"{path}: line {line}:" in err_lines[0]
    for word in words:
        assert word in err_lines[0]
    for old, new in zip(before, _snapshot(populated)):
        pd.testing.assert_frame_equal(old, new)


@pytest.mark.parametrize("case", ["too_many_fields", "non_numeric_tokens", "empty_file"])
def test_malformed_file_error_carries_file_and_line(case, tmp_path, store_path):
    data, line, _ = CASES[case]
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    with pytest.raises(MalformedFileError) as info:
        import_file(path, Store(store_path))
    assert isinstance(info.value, ValueError)
    assert (info.value.file, info.value.line) == (str(path), line)
    assert not store_path.exists()  # nothing was created for a bad file


def test_good_files_land_and_bad_ones_are_reported(tmp_path, store_path, capsys):
    good = tmp_path / "good.csv"
    good.write_text(_good_text(), encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(CASES["non_numeric_tokens"][0])
    missing = tmp_path / "missing.csv"
    code = main(["import", str(bad), str(good), str(missing), "--db", str(store_path)])
    captured = capsys.readouterr()
    assert code == 1
    assert f"{good}: 2 measurements, 1 start-up rows" in captured.out
    err = captured.err.strip().splitlines()
    assert len(err) == 2 and str(bad) in err[0] and str(missing) in err[1]
    assert "cannot read" in err[1]
    store = Store(store_path)
    assert len(store.runs()) == 1 and len(store.measurements()) == 2
    assert set(store.measurements()["source_file"]) == {str(good)}
