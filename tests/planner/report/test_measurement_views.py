"""Measurements per query: estimated rows marked, filters, batch energy divided."""

from __future__ import annotations

import pandas as pd

from measure.store import Store
from planner.report import measurement_views as views


def test_views_mark_estimated_and_filter(reference_store):
    df = views.per_query(Store(reference_store).measurements())
    assert not df["estimated"].any()
    df.loc[df.index[:3], "energy_source"] = "estimated"
    df = views.per_query(df)
    assert df["estimated"].sum() == 3
    fig = views.scatter(df, "input_tokens", "energy_j")
    assert any("[estimated]" in t.name for t in fig.data)
    only = views.apply_filters(df, systems=["M1-Pro"], include_flagged=False)
    assert set(only["system"]) == {"M1-Pro"} and not only["flagged"].any()
    assert views.table(only)["flags"].map(lambda f: isinstance(f, str)).all()


def test_per_query_divides_batch_energy():
    df = pd.DataFrame(
        {
            "model": ["m"],
            "system": ["s"],
            "energy_source": ["nvml"],
            "flags": [[]],
            "input_tokens": [10],
            "output_tokens": [10],
            "runtime_s": [4.0],
            "gpu_energy_j": [100.0],
            "cpu_energy_j": [20.0],
            "batch_size": [4],
        }
    )
    out = views.per_query(df)
    assert out.loc[0, "energy_j"] == 30.0 and out.loc[0, "runtime_s"] == 1.0
    assert out.loc[0, "energy_per_token_j"] == 1.5
