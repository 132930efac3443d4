"""Workload reading and validation: formats, column names, counts, and every error case."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest

from planner.workload.load import MAX_TOKENS, WorkloadError, load_workload, synthetic_workload


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text) if isinstance(text, str) else path.write_bytes(text)
    return path


def test_csv_with_common_names_count_and_task(tmp_path):
    path = _write(
        tmp_path,
        "w.csv",
        "prompt_tokens,completion_tokens,count,task\n10,100,3,chat\n20,5,1,math\n10,100,2,chat\n",
    )
    w = load_workload(path)
    assert w.n_queries == 6 and w.n_rows == 3 and w.name == "w"
    assert list(w.queries.columns) == ["input_tokens", "output_tokens", "task", "count"]
    groups, codes = w.groups()
    assert len(groups) == 2 and groups["count"].sum() == 6
    assert codes[0] == codes[2] != codes[1]


@pytest.mark.parametrize("fmt", ["jsonl", "json", "parquet"])
def test_other_formats(tmp_path, fmt):
    records = [{"input_tokens": 5, "output_tokens": 7}, {"input_tokens": 9, "output_tokens": 1}]
    if fmt == "jsonl":
        path = _write(tmp_path, "w.jsonl", "\n".join(json.dumps(r) for r in records) + "\n")
    elif fmt == "json":
        path = _write(tmp_path, "w.json", json.dumps(records))
    else:
        path = tmp_path / "w.parquet"
        pd.DataFrame(records).to_parquet(path)
    w = load_workload(path)
    assert w.queries["input_tokens"].tolist() == [5, 9]
    assert w.queries["task"].tolist() == ["general", "general"]


def test_file_like_upload_is_read_by_its_name():
    buf = io.BytesIO(b'{"tin": 3, "tout": 4}\n')
    buf.name = "upload.jsonl"
    assert load_workload(buf).queries["output_tokens"].tolist() == [4]


BAD_CSV = [
    ("a,b\n1,2\n", "missing column for input tokens"),
    (
        "input_tokens,output_tokens\n1,2\n3,x\n",
        "data row 2 (header row not counted): column 'output_tokens': 'x' is not a number",
    ),
    (
        "input_tokens,output_tokens\n1,2.5\n",
        "data row 1 (header row not counted): column 'output_tokens': '2.5' is not an integer",
    ),
    (
        "input_tokens,output_tokens\n1,2\n-3,4\n",
        "data row 2 (header row not counted): column 'input_tokens': '-3' is negative",
    ),
    ("input_tokens,output_tokens\n1,NaN\n", "'output_tokens': missing (empty or NaN)"),
    ("input_tokens,output_tokens\n1,\n", "'output_tokens': missing (empty or NaN)"),
    (f"input_tokens,output_tokens\n{MAX_TOKENS + 1},2\n", "is absurd (over 1,000,000 tokens)"),
    ("input_tokens,output_tokens,count\n1,2,0\n", "'count': '0' is below 1"),
    ("", "empty file"),
    ("input_tokens,output_tokens\n", "no queries"),
    ('input_tokens,output_tokens\n1,"2\n', "cannot parse as CSV"),
    # rows longer than the header are an error, not an index that shifts every column
    (
        "input_tokens,output_tokens\n5,6,7,8\n",
        "data row 1 (header row not counted): 4 fields, but the header has 2",
    ),
    ("input_tokens,output_tokens\n1,2\n5,6,7,8\n", "Expected 2 fields in line 3, saw 4"),
    (
        "input_tokens,output_tokens,input_tokens\n1,2,3\n",
        "header row: column 'input_tokens' appears more than once",
    ),
    (
        "input_tokens,output_tokens,count\n1,2,100000000000000000000\n",
        "'count': '100000000000000000000' is absurd (over 1,000,000,000,000 queries)",
    ),
]


@pytest.mark.parametrize("text, expected", BAD_CSV)
def test_validation_errors_name_file_row_and_problem(tmp_path, text, expected):
    path = _write(tmp_path, "bad.csv", text)
    with pytest.raises(WorkloadError) as err:
        load_workload(path)
    assert expected in str(err.value)
    assert str(path) in str(err.value)


def test_error_counts_every_bad_row_in_a_column(tmp_path):
    path = _write(tmp_path, "bad.csv", "input_tokens,output_tokens\n-1,2\n-2,3\n4,5\n")
    with pytest.raises(WorkloadError, match=r"data row 1 .*\(2 rows have problems"):
        load_workload(path)


def test_jsonl_errors_give_file_lines(tmp_path):
    path = _write(
        tmp_path,
        "w.jsonl",
        '{"input_tokens": 1, "output_tokens": 2}\n\n{"input_tokens": 1, "output_tokens": null}\n',
    )
    with pytest.raises(WorkloadError, match=r"w.jsonl: line 3: column 'output_tokens'"):
        load_workload(path)
    path = _write(tmp_path, "v.jsonl", '{"input_tokens": 1, "output_tokens": 2}\n{oops\n')
    with pytest.raises(WorkloadError, match=r"v.jsonl: line 2: not valid JSON"):
        load_workload(path)


def test_json_bool_and_non_record_rejected(tmp_path):
    path = _write(tmp_path, "w.json", '[{"input_tokens": true, "output_tokens": 2}]')
    with pytest.raises(WorkloadError, match="record 1: column 'input_tokens': True is not"):
        load_workload(path)
    path = _write(tmp_path, "v.json", "[1, 2]")
    with pytest.raises(WorkloadError, match="record 1: expected an object"):
        load_workload(path)


def test_size_limit_missing_file_binary_garbage(tmp_path):
    path = _write(tmp_path, "big.csv", "input_tokens,output_tokens\n" + "1,2\n" * 100)
    with pytest.raises(WorkloadError, match="over the 50-byte limit"):
        load_workload(path, max_bytes=50)
    with pytest.raises(WorkloadError, match="no such file"):
        load_workload(tmp_path / "absent.csv")
    path = _write(tmp_path, "bin.csv", b"input_tokens\n\xff\xfe\x00")
    with pytest.raises(WorkloadError, match="line 2: not UTF-8"):
        load_workload(path)
    path = _write(tmp_path, "bad.parquet", b"PAR1 not really parquet")
    with pytest.raises(WorkloadError, match="cannot read as Parquet"):
        load_workload(path)


def test_text_without_tokenizer_says_so(tmp_path):
    path = _write(
        tmp_path,
        "alpaca.json",
        json.dumps([{"instruction": "say hi", "input": "", "output": "hi there"}]),
    )
    with pytest.raises(WorkloadError, match="name a tokenizer"):
        load_workload(path)


def test_missing_local_tokenizer_is_a_clear_error(tmp_path):
    path = _write(tmp_path, "t.csv", "prompt,response\nhello,world\n")
    with pytest.raises(WorkloadError, match="cannot load tokenizer .*local files only"):
        load_workload(path, tokenizer=str(tmp_path / "no-such-tokenizer"))


@pytest.fixture(scope="module")
def word_tokenizer(tmp_path_factory):
    """A word-level tokenizer built here and saved locally (never from a hub)."""
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    vocab = {"[UNK]": 0, "hello": 1, "world": 2, "say": 3, "hi": 4, "there": 5}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    path = tmp_path_factory.mktemp("tok") / "word-tokenizer"
    fast.save_pretrained(path)
    return path


def test_text_columns_counted_with_a_local_tokenizer(tmp_path, word_tokenizer):
    path = _write(
        tmp_path,
        "alpaca.json",
        json.dumps(
            [
                {"instruction": "say hi", "input": "hello world", "output": "hi there"},
                {"instruction": "say hello", "input": "", "output": "hello hello hello"},
            ]
        ),
    )
    w = load_workload(path, tokenizer=str(word_tokenizer))
    assert w.queries["input_tokens"].tolist() == [4, 2]  # instruction + input words
    assert w.queries["output_tokens"].tolist() == [2, 3]
    path = _write(tmp_path, "mixed.csv", "prompt,output_tokens\nhello world there,7\n")
    w = load_workload(path, tokenizer=str(word_tokenizer))
    assert w.queries[["input_tokens", "output_tokens"]].values.tolist() == [[3, 7]]


@pytest.mark.parametrize("kind", ["chat", "math", "code"])
def test_synthetic_workloads_are_seeded_and_shaped(kind):
    a, b = synthetic_workload(kind, 2000, seed=1), synthetic_workload(kind, 2000, seed=1)
    c = synthetic_workload(kind, 2000, seed=2)
    assert a.queries.equals(b.queries) and not a.queries.equals(c.queries)
    assert a.n_queries == 2000 and set(a.queries["task"]) == {kind}
    assert (a.queries[["input_tokens", "output_tokens"]] > 0).all().all()
    assert "not measured" in a.notes[0]


def test_synthetic_chat_is_short_in_long_out():
    q = synthetic_workload("chat", 5000).queries
    assert np.median(q["input_tokens"]) < 40 < 100 < np.median(q["output_tokens"]) < 400
    with pytest.raises(ValueError, match="unknown synthetic workload"):
        synthetic_workload("poetry", 10)


def test_an_in_memory_table_validates_like_a_file():
    frame = pd.DataFrame({"input_tokens": [1, -2], "output_tokens": [3, 4]})
    buf = io.BytesIO(frame.to_csv(index=False).encode())
    buf.name = "edited.csv"
    with pytest.raises(WorkloadError, match="edited.csv: data row 2"):
        load_workload(buf, name="edited")


def test_columns_differing_only_in_case_are_refused(tmp_path):
    path = _write(
        tmp_path, "w.jsonl", '{"input_tokens": 1, "Input_Tokens": 9, "output_tokens": 2}\n'
    )
    with pytest.raises(
        WorkloadError,
        match="w.jsonl: columns 'input_tokens' and 'Input_Tokens' differ only in case",
    ):
        load_workload(path)
