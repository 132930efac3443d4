"""Workload uploads: a valid file of each format, and every kind of bad file named clearly."""

import io
import json

import pandas as pd
import pytest

from app_pages.uploads import read_workload_upload

VALID_CSV = b"input_tokens,output_tokens\n12,200\n40,90\n12,200\n"


def test_valid_csv_jsonl_and_parquet():
    csv = read_workload_upload("w.csv", VALID_CSV)
    assert csv.ok and csv.value.n_queries == 3
    assert list(csv.value.queries["input_tokens"]) == [12, 40, 12]
    lines = "\n".join(json.dumps({"prompt_tokens": 5, "completion_tokens": n}) for n in (7, 9))
    jsonl = read_workload_upload("w.jsonl", lines.encode())
    assert jsonl.ok and list(jsonl.value.queries["output_tokens"]) == [7, 9]
    buf = io.BytesIO()
    pd.DataFrame({"input_tokens": [3], "output_tokens": [4], "count": [5]}).to_parquet(buf)
    parquet = read_workload_upload("w.parquet", buf.getvalue())
    assert parquet.ok and parquet.value.n_queries == 5


@pytest.mark.parametrize(
    "name, data, expected",
    [
        ("cols.csv", b"a,b\n1,2\n", ["cols.csv", "input"]),
        (
            "neg.csv",
            b"input_tokens,output_tokens\n5,5\n5,-3\n",
            ["neg.csv", "row 2", "output_tokens"],
        ),
        (
            "text.csv",
            b"input_tokens,output_tokens\n5,five\n",
            ["text.csv", "row 1", "output_tokens"],
        ),
        ("empty.csv", b"", ["empty.csv", "empty"]),
        ("header-only.csv", b"input_tokens,output_tokens\n", ["header-only.csv"]),
        (
            "latin1.csv",
            "input_tokens,output_tokens,task\n5,5,caf\xe9\n".encode("latin-1"),
            ["latin1.csv", "UTF-8"],
        ),
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01", ["image.csv"]),
        ("huge.csv", b"input_tokens,output_tokens\n1,2000000\n", ["huge.csv", "row 1"]),
    ],
)
def test_bad_uploads_name_file_row_and_problem(name, data, expected):
    outcome = read_workload_upload(name, data)
    assert not outcome.ok and outcome.value is None
    for part in expected:
        assert part in outcome.error, outcome.error
    assert "Traceback" not in outcome.error


def test_too_large_upload_is_refused_before_parsing():
    outcome = read_workload_upload("big.csv", VALID_CSV * 100, max_bytes=1000)
    assert not outcome.ok and "big.csv" in outcome.error and "limit" in outcome.error


def test_upload_name_is_never_a_path():
    outcome = read_workload_upload("../../etc/w.csv", VALID_CSV)
    assert outcome.ok and "/" not in outcome.value.name
