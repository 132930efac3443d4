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


@pytest.mark.parametrize(
    "name, data, expected",
    [
        ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.csv: this is a PNG image"),
        ("zero.csv", b"input_tokens,output_tokens\n5,5\n0,0\n", "zero.csv: data row 2"),
        ("deep.json", b"[" * 100_000, "deep.json: JSON nested too deeply"),
        (
            "trace.csv",
            b"TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,1,2\nnoon,1,2\n",
            "trace.csv: data row 2 (header row not counted): column 'TIMESTAMP': 'noon'",
        ),
    ],
)
def test_hostile_uploads_say_why_in_plain_words(name, data, expected):
    outcome = read_workload_upload(name, data)
    assert not outcome.ok and outcome.error.startswith(expected), outcome.error
    assert "unexpected" not in outcome.error and "\n" not in outcome.error


def test_too_large_upload_says_its_size_and_the_limit_in_megabytes():
    from app_pages.uploads import MAX_WORKLOAD_BYTES

    data = VALID_CSV * (MAX_WORKLOAD_BYTES // len(VALID_CSV) + 1)
    outcome = read_workload_upload("big.csv", data)
    size_mb = len(data) / 1024 / 1024
    assert outcome.error.startswith(
        f"big.csv: the file is {size_mb:,.1f} MB, over the "
        f"{MAX_WORKLOAD_BYTES / 1024 / 1024:,.1f} MB limit for a workload upload."
    ), outcome.error


def test_our_limit_is_below_streamlits_so_a_large_file_reaches_us():
    """Streamlit refuses a file over maxUploadSize with no message on the page; ours names it."""
    import tomllib

    from app_pages.uploads import MAX_MEASUREMENT_BYTES, MAX_WORKLOAD_BYTES
    from measure.paths import PROJECT_ROOT

    config = tomllib.loads((PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    streamlit_bytes = config["server"]["maxUploadSize"] * 1024 * 1024
    assert max(MAX_WORKLOAD_BYTES, MAX_MEASUREMENT_BYTES) < streamlit_bytes


def test_every_format_the_reader_takes_can_be_uploaded():
    """The uploader refuses unlisted types silently, so it lists every reader format."""
    from app_pages.uploads import WORKLOAD_TYPES

    frame = pd.DataFrame({"input_tokens": [3, 4], "output_tokens": [5, 6]})
    parquet = io.BytesIO()
    frame.to_parquet(parquet)
    body = {
        "csv": frame.to_csv(index=False).encode(),
        "tsv": frame.to_csv(index=False, sep="\t").encode(),
        "txt": frame.to_csv(index=False).encode(),
        "jsonl": frame.to_json(orient="records", lines=True).encode(),
        "ndjson": frame.to_json(orient="records", lines=True).encode(),
        "json": frame.to_json(orient="records").encode(),
        "parquet": parquet.getvalue(),
        "pq": parquet.getvalue(),
    }
    assert set(WORKLOAD_TYPES) == set(body)
    for ext in WORKLOAD_TYPES:
        outcome = read_workload_upload(f"w.{ext}", body[ext])
        assert outcome.ok and outcome.value.queries["output_tokens"].tolist() == [5, 6], ext


def test_trace_upload_keeps_arrival_seconds():
    data = (
        b"Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
        b"5,ChatGPT,472,18,490,Conversation log\n"
        b"7.5,GPT-4,417,276,693,API log\n"
    )
    outcome = read_workload_upload("BurstGPT_1.csv", data)
    assert outcome.ok and outcome.value.queries["arrival_s"].tolist() == [0.0, 2.5]


def test_too_large_measurement_file_is_refused_in_words_and_the_store_untouched(
    monkeypatch, tmp_path
):
    from app_pages import uploads

    monkeypatch.setattr(uploads, "MAX_MEASUREMENT_BYTES", 100)
    store = tmp_path / "store.duckdb"
    outcome = uploads.import_measurement_upload("sweep.csv", b"x" * 101, store)
    assert outcome.error.startswith(
        "sweep.csv: the file is 101 bytes, over the 100 bytes limit for a measurement file."
    )
    assert not store.exists()
