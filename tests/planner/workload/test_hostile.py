"""Hostile workload files: each is refused with a message naming the file (and row where
there is one), and nothing of it reaches the planner."""

from __future__ import annotations

import gzip
import io
import json
import os
import zipfile

import numpy as np
import pandas as pd
import pytest

from planner.workload.load import MAX_COUNT, WorkloadError, load_workload


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def _refused(path) -> str:
    with pytest.raises(WorkloadError) as err:
        load_workload(path)
    message = str(err.value)
    assert message.startswith(f"{path}: "), message
    return message


@pytest.mark.parametrize(
    "name, text, expected",
    [
        (
            "zero.csv",
            "input_tokens,output_tokens\n0,0\n",
            "data row 1 (header row not counted): 0 input and 0 output tokens is not a query",
        ),
        (
            "zeros.csv",
            "input_tokens,output_tokens,count\n3,0,1\n0,5,1\n0,0,7\n0,0,1\n",
            "data row 3 (header row not counted): 0 input and 0 output tokens is not a query "
            "(2 rows are)",
        ),
        (
            "zero.jsonl",
            '{"prompt_tokens": 4, "completion_tokens": 1}\n\n'
            '{"prompt_tokens": 0, "completion_tokens": 0}\n',
            "line 3: 0 input and 0 output tokens is not a query",
        ),
    ],
)
def test_a_query_without_tokens_is_refused_naming_the_row(tmp_path, name, text, expected):
    assert _refused(_write(tmp_path, name, text)) == f"{tmp_path / name}: {expected}"


def test_rows_with_some_tokens_stay_and_every_total_is_positive(tmp_path):
    w = load_workload(_write(tmp_path, "w.csv", "input_tokens,output_tokens\n0,3\n5,0\n"))
    assert w.total_tokens() == 8 and w.n_queries == 2
    assert w.notes == ["2 rows have zero tokens"]


def test_counts_adding_up_past_the_limit_are_refused(tmp_path):
    # each row is within the per-row limit; together they would overflow token totals
    rows = "".join(f"1000000,1000000,{MAX_COUNT}\n" for _ in range(10))
    path = _write(tmp_path, "many.csv", "input_tokens,output_tokens,count\n" + rows)
    message = _refused(path)
    assert "column 'count': the counts add up to 10,000,000,000,000 queries" in message


def test_a_count_column_by_another_name_has_the_count_limit(tmp_path):
    path = _write(tmp_path, "w.csv", "input_tokens,output_tokens,repeats\n1,2,2000000\n")
    assert load_workload(path).n_queries == 2_000_000
    path = _write(tmp_path, "v.csv", "input_tokens,output_tokens,n_queries\n1,2,2e12\n")
    assert "is absurd (over 1,000,000,000,000 queries)" in _refused(path)


def test_deeply_nested_json_is_refused_naming_the_file(tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    assert "JSON nested too deeply" in _refused(_write(tmp_path, "deep.json", deep))
    line = '{"input_tokens": 1, "output_tokens": ' + deep + "}"
    message = _refused(_write(tmp_path, "deep.jsonl", '{"input_tokens": 1}\n' + line + "\n"))
    assert "line 2: JSON nested too deeply" in message


@pytest.mark.parametrize(
    "record, expected",
    [
        (
            {"input_tokens": [[[1]]], "output_tokens": 2},
            "column 'input_tokens': a JSON list is not",
        ),
        ({"input_tokens": 1, "output_tokens": {"n": 2}}, "'output_tokens': a JSON object is not"),
        ({"input_tokens": 1, "output_tokens": 2, "task": ["chat"] * 1000}, "a JSON list, not a"),
        ({"input_tokens": 1, "output_tokens": "9" * 5000}, "'99999999999999999999999999999999999"),
    ],
)
def test_nested_and_huge_cells_are_named_briefly(tmp_path, record, expected):
    path = _write(tmp_path, "w.jsonl", json.dumps(record) + "\n")
    message = _refused(path)
    assert expected in message and len(message) < 200 + len(str(path)), message


def test_symbolic_link_loop_says_what_it_is(tmp_path):
    loop = tmp_path / "loop.csv"
    os.symlink(loop, loop)
    assert _refused(loop) == f"{loop}: cannot open: too many levels of symbolic links"
    dangling = tmp_path / "dangling.csv"
    os.symlink(tmp_path / "gone.csv", dangling)
    assert "a symbolic link to" in _refused(dangling) and "which does not exist" in _refused(
        dangling
    )
    assert _refused(tmp_path / "absent.csv") == f"{tmp_path / 'absent.csv'}: no such file"


def test_a_fifo_or_directory_is_not_read(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # reading it would block for ever
    assert "not a regular file" in _refused(fifo)
    (tmp_path / "folder.csv").mkdir()
    assert "is a directory" in _refused(tmp_path / "folder.csv")


def _xlsx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
    return buf.getvalue()


@pytest.mark.parametrize(
    "name, data, expected",
    [
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "this is a PNG image"),
        ("photo.jsonl", b"\xff\xd8\xff\xe0\x00\x10JFIF", "this is a JPEG image"),
        ("book.csv", _xlsx(), "Excel .xlsx workbook"),
        ("trace.csv", gzip.compress(b"input_tokens,output_tokens\n1,2\n"), "gzip-compressed"),
        ("paper.json", b"%PDF-1.7\n%\xe2\xe3", "a PDF document"),
    ],
)
def test_files_that_are_not_tables_say_what_they_are(tmp_path, name, data, expected):
    message = _refused(_write(tmp_path, name, data))
    assert expected in message and "a workload is a CSV, JSONL, JSON or Parquet" in message


def test_vectorised_checks_read_what_the_row_by_row_ones_did(tmp_path):
    path = _write(
        tmp_path,
        "w.csv",
        "input_tokens,output_tokens,count\n 12 ,12.0,1e3\n+5,0,1\n7,-0,2\n",
    )
    q = load_workload(path).queries
    assert q["input_tokens"].tolist() == [12, 5, 7]
    assert q["output_tokens"].tolist() == [12, 0, 0]
    assert q["count"].tolist() == [1000, 1, 2]


def test_every_bad_row_is_counted_and_the_first_named(tmp_path):
    bad = np.array(["5"] * 100_000, dtype=object)
    bad[[70_000, 80_000, 90_000]] = ["x", "", "2.5"]
    frame = pd.DataFrame({"input_tokens": "3", "output_tokens": bad})
    path = _write(tmp_path, "big.csv", frame.to_csv(index=False))
    assert _refused(path) == (
        f"{path}: data row 70001 (header row not counted): column 'output_tokens': 'x' is "
        "not a number (3 rows have problems in this column)"
    )


def test_json_booleans_are_not_numbers_in_a_long_column(tmp_path):
    records = [{"input_tokens": 1, "output_tokens": 2}] * 50 + [
        {"input_tokens": True, "output_tokens": 2}
    ]
    path = _write(tmp_path, "w.json", json.dumps(records))
    assert "record 51: column 'input_tokens': True is not a number" in _refused(path)
