"""DuckDB's slot aggregation of a trace, straight from the file, against pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from measure.store.traces import TraceError, aggregate_trace, trace_columns


def _trace(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "arrival_s": np.sort(rng.uniform(0, 7200, n)) + 1010.5,
            "input_tokens": rng.integers(1, 2000, n),
            "output_tokens": rng.integers(1, 900, n),
            "deadline": np.where(rng.random(n) < 0.3, rng.uniform(0, 1800, n), np.nan),
        }
    )


def _pandas(df: pd.DataFrame, slot_s: float) -> pd.DataFrame:
    """Slots on the trace's clock, numbered from the first holding a request."""
    a = df["arrival_s"]
    k = np.floor(a / slot_s).astype(np.int64)
    slot = k - k.min()
    latest = np.floor((a + df["deadline"]) / slot_s) - 1 - k.min()
    latest = np.where(df["deadline"] > 0, np.maximum(latest, slot), np.nan)
    frame = pd.DataFrame(
        {
            "slot": slot,
            "latest_slot": latest,
            "requests": 1,
            "input_tokens": df["input_tokens"],
            "output_tokens": df["output_tokens"],
        }
    )
    out = frame.groupby(["slot", "latest_slot"], dropna=False).sum().reset_index()
    return out.sort_values(["slot", "latest_slot"], na_position="first").reset_index(drop=True)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_duckdb_slots_equal_a_pandas_groupby(tmp_path, suffix):
    df = _trace()
    path = tmp_path / f"trace.{suffix}"
    df.to_csv(path, index=False) if suffix == "csv" else df.to_parquet(path)
    got = aggregate_trace(
        path,
        arrival="arrival_s",
        input="input_tokens",
        output="output_tokens",
        deadline="deadline",
        slot_s=300.0,
        memory_limit="200MB",
    )
    want = _pandas(df, 300.0)
    assert len(got) == len(want)
    for col in ("slot", "requests", "input_tokens", "output_tokens"):
        assert got[col].to_numpy().tolist() == want[col].to_numpy().tolist(), col
    assert (
        got["latest_slot"].astype(float).fillna(-1).tolist()
        == pd.Series(want["latest_slot"]).fillna(-1).tolist()
    )


def test_timestamps_and_quantiles(tmp_path):
    df = _trace(500, seed=1).drop(columns="deadline")
    df["timestamp"] = pd.Timestamp("2024-05-01") + pd.to_timedelta(df["arrival_s"], unit="s")
    path = tmp_path / "t.parquet"
    df.drop(columns="arrival_s").to_parquet(path)
    got = aggregate_trace(path, arrival="timestamp", output="output_tokens", slot_s=600.0)
    want = _pandas(df.assign(deadline=np.nan), 600.0)
    assert got["requests"].tolist() == want["requests"].tolist()
    assert got["input_tokens"].sum() == 0  # no input column named
    med = df.groupby(np.floor(df["arrival_s"] / 600))["output_tokens"]
    assert np.allclose(got["p50_output_tokens"], med.median(), rtol=0.1)


def test_errors_name_the_file_and_column(tmp_path):
    path = tmp_path / "t.csv"
    _trace(10).to_csv(path, index=False)
    assert "arrival_s" in trace_columns(path)
    with pytest.raises(TraceError, match="no output column 'tokens_out'"):
        aggregate_trace(path, arrival="arrival_s", output="tokens_out", slot_s=60)
    other = tmp_path / "t.json"
    other.write_text("[]")
    with pytest.raises(TraceError, match="t.json: not a CSV or Parquet"):
        aggregate_trace(other, arrival="a", output="b", slot_s=60)
