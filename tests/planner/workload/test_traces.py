"""Published request traces read as workloads: each family's own column spellings, and their
arrival times kept as seconds from the first arrival."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from planner.workload.load import WorkloadError, load_workload


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_azure_trace_with_absolute_timestamps(tmp_path):
    # Azure LLM inference trace 2023: seven fractional digits, 100 ns resolution
    path = _write(
        tmp_path,
        "AzureLLMInferenceTrace_conv.csv",
        "TIMESTAMP,ContextTokens,GeneratedTokens\n"
        "2023-11-16 18:15:46.6805900,374,44\n"
        "2023-11-16 18:15:50.9951690,396,109\n"
        "2023-11-16 18:16:01.0000000,879,0\n",
    )
    w = load_workload(path)
    assert w.queries["input_tokens"].tolist() == [374, 396, 879]
    assert w.queries["output_tokens"].tolist() == [44, 109, 0]
    assert w.queries["arrival_s"].to_numpy() == pytest.approx([0.0, 4.314579, 14.31941], abs=1e-6)
    assert any("'TIMESTAMP'" in note for note in w.notes)


def test_splitwise_vidur_trace_with_seconds(tmp_path):
    path = _write(
        tmp_path,
        "splitwise_code.csv",
        "arrived_at,num_prefill_tokens,num_decode_tokens\n"
        "12.5,2048,28\n"
        "10.0,1024,4\n"
        "13.25,4096,13\n",
    )
    w = load_workload(path)
    assert w.queries["input_tokens"].tolist() == [2048, 1024, 4096]
    assert w.queries["output_tokens"].tolist() == [28, 4, 13]
    # seconds from the first arrival, which need not be the first row
    assert w.queries["arrival_s"].tolist() == [2.5, 0.0, 3.25]


def test_mooncake_trace_timestamps_are_milliseconds(tmp_path):
    records = [
        {"timestamp": 27482, "input_length": 6955, "output_length": 52, "hash_ids": [46, 47]},
        {"timestamp": 30535, "input_length": 6472, "output_length": 26, "hash_ids": [46, 47]},
        {"timestamp": 30535, "input_length": 672, "output_length": 500, "hash_ids": [0]},
    ]
    path = _write(tmp_path, "mooncake_trace.jsonl", "".join(json.dumps(r) + "\n" for r in records))
    w = load_workload(path)
    assert w.queries["input_tokens"].tolist() == [6955, 6472, 672]
    assert w.queries["output_tokens"].tolist() == [52, 26, 500]
    assert w.queries["arrival_s"].tolist() == pytest.approx([0.0, 3.053, 3.053])
    assert any("milliseconds" in note for note in w.notes)


def test_burstgpt_trace_with_seconds_and_extra_columns(tmp_path):
    path = _write(
        tmp_path,
        "BurstGPT_1.csv",
        "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n"
        "5,ChatGPT,472,18,490,Conversation log\n"
        "45,ChatGPT,1087,0,1087,Conversation log\n"
        "118,GPT-4,417,276,693,API log\n",
    )
    w = load_workload(path)
    assert w.queries["input_tokens"].tolist() == [472, 1087, 417]
    assert w.queries["output_tokens"].tolist() == [18, 0, 276]  # a failed request: kept
    assert w.queries["arrival_s"].tolist() == [0.0, 40.0, 113.0]
    assert "1 rows have zero tokens" in w.notes


def test_a_workload_without_arrival_times_has_no_arrival_column(tmp_path):
    w = load_workload(_write(tmp_path, "w.csv", "input_tokens,output_tokens\n1,2\n"))
    assert "arrival_s" not in w.queries.columns and w.notes == []


def test_parquet_timestamp_column(tmp_path):
    path = tmp_path / "trace.parquet"
    pd.DataFrame(
        {
            "TIMESTAMP": pd.to_datetime(
                ["2024-05-10 00:00:01.5", "2024-05-10 00:00:00"], format="ISO8601"
            ),
            "ContextTokens": np.array([10, 20], dtype=np.int64),
            "GeneratedTokens": np.array([3, 4], dtype=np.int64),
        }
    ).to_parquet(path)
    assert load_workload(path).queries["arrival_s"].tolist() == [1.5, 0.0]


def test_time_zones_are_honoured(tmp_path):
    path = _write(
        tmp_path,
        "tz.csv",
        "timestamp,input_tokens,output_tokens\n"
        "2024-05-10T00:00:00+00:00,1,1\n"
        "2024-05-10T02:00:30+02:00,1,1\n",
    )
    assert load_workload(path).queries["arrival_s"].tolist() == [0.0, 30.0]


BAD_ARRIVALS = [
    (
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,1,2\n"
        "2023-11-16 18:15:47,1,2\n16/11/2023 18:15,1,2\n",
        "data row 3 (header row not counted): column 'TIMESTAMP': '16/11/2023 18:15' is "
        "neither a date-time",
    ),
    (
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.68,1,2\n,1,2\n",
        "data row 2 (header row not counted): column 'TIMESTAMP': missing arrival time",
    ),
    (
        "Timestamp,Request tokens,Response tokens\n5,1,2\nsoon,1,2\nlater,1,2\n",
        "data row 2 (header row not counted): column 'Timestamp': 'soon' is not a finite "
        "number of seconds (2 rows have problems in this column)",
    ),
    (
        "arrived_at,num_prefill_tokens,num_decode_tokens\n1.5,1,2\ninf,1,2\n",
        "data row 2 (header row not counted): column 'arrived_at': 'inf' is not a finite",
    ),
]


@pytest.mark.parametrize("text, expected", BAD_ARRIVALS)
def test_bad_arrival_times_name_the_row(tmp_path, text, expected):
    path = _write(tmp_path, "trace.csv", text)
    with pytest.raises(WorkloadError) as err:
        load_workload(path)
    assert str(err.value).startswith(f"{path}: {expected}"), str(err.value)


def test_bad_jsonl_timestamp_names_the_line(tmp_path):
    path = _write(
        tmp_path,
        "mooncake.jsonl",
        '{"timestamp": 0, "input_length": 5, "output_length": 1}\n\n'
        '{"timestamp": {"ms": 3}, "input_length": 5, "output_length": 1}\n',
    )
    with pytest.raises(WorkloadError, match=r"mooncake.jsonl: line 3: column 'timestamp': a JSON"):
        load_workload(path)
