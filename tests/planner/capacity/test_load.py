"""Synthetic arrivals, load profiles and the grid file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planner.capacity.arrivals import (
    parse_arrivals,
    synthetic_arrivals,
    synthetic_slot_counts,
)
from planner.capacity.grid import GridError, load_grid
from planner.capacity.profile import (
    ProfileError,
    profile_from_workload,
    synthetic_profile,
)
from planner.workload.load import Workload


def test_arrival_processes_are_seeded_and_shaped():
    poisson = parse_arrivals("poisson:10")
    a = synthetic_arrivals(poisson, 1, seed=4)
    assert np.array_equal(a, synthetic_arrivals(poisson, 1, seed=4))
    assert abs(len(a) - 36000) < 5 * np.sqrt(36000)
    bursty = synthetic_arrivals(parse_arrivals("bursty:10,4"), 2, seed=1)
    gaps = np.diff(bursty)
    assert gaps.std() / gaps.mean() > 2.5  # coefficient of variation near 4
    counts = synthetic_slot_counts(parse_arrivals("diurnal:10"), 24, 3600, seed=0)
    assert counts[14] > 3 * counts[2]  # peak at 14:00, trough at 02:00
    with pytest.raises(ValueError, match="poisson:RATE"):
        parse_arrivals("weibull:3")
    with pytest.raises(ValueError, match="a week"):
        synthetic_slot_counts(poisson, 24 * 8, 3600)


def test_profile_from_workload_with_arrivals_and_deadlines():
    q = pd.DataFrame(
        {
            "input_tokens": [10, 20, 30, 40],
            "output_tokens": [100, 200, 300, 400],
            "task": ["chat", "chat", "batch", "chat"],
            "count": [1, 2, 1, 1],
            "arrival_s": [0.0, 30.0, 65.0, 190.0],
        }
    )
    prof = profile_from_workload(Workload(q), 60.0, slack_by_task={"batch": 200.0})
    assert prof.slots["requests"].tolist() == [3, 1, 0, 1]
    assert prof.slots["output_tokens"].tolist() == [500, 300, 0, 400]
    # the batch request (arrives at 65 s, deadline 265 s) may wait until slot 3 (ends 240 s)
    assert prof.deferrable[["slot", "latest_slot", "output_tokens"]].values.tolist() == [
        [1, 3, 300]
    ]
    assert prof.fixed_output_tokens().tolist() == [500, 0, 0, 400]
    plain = profile_from_workload(Workload(q), 60.0)
    assert plain.slots["p90_output_tokens"].tolist()[0] == 200
    with pytest.raises(ProfileError, match="arrival"):
        profile_from_workload(Workload(q.drop(columns="arrival_s")), 60.0)


def test_synthetic_profile_counts_match_the_slot_counts():
    prof = synthetic_profile("poisson:5", 3, 600, seed=2)
    assert prof.n_slots == 18
    counts = synthetic_slot_counts(parse_arrivals("poisson:5"), 3, 600, seed=2)
    assert prof.slots["requests"].tolist() == counts.tolist()
    assert (prof.slots["output_tokens"] >= 8 * prof.slots["requests"]).all()


def _grid(tmp_path, text: str):
    path = tmp_path / "grid.csv"
    path.write_text(text)
    return path


def test_grid_per_slot_means_and_daily_repeat(tmp_path):
    rows = "\n".join(f"{h},{100 + h},{0.1 + h / 100}" for h in range(24))
    grid = load_grid(_grid(tmp_path, "hour,gco2e_per_kwh,price_per_kwh\n" + rows + "\n"))
    intensity, price = grid.per_slot(4, 2 * 3600.0)  # 2-hour slots: means of two hours
    assert intensity.tolist() == pytest.approx([100.5, 102.5, 104.5, 106.5])
    intensity, _ = grid.per_slot(50, 3600.0)  # repeats daily
    assert intensity[24] == pytest.approx(100) and intensity[49] == pytest.approx(101)
    quarter, _ = grid.per_slot(8, 900.0)
    assert quarter[:5].tolist() == pytest.approx([100, 100, 100, 100, 101])


@pytest.mark.parametrize(
    "text, message",
    [
        ("hour,gco2e_per_kwh\n0,1\n", "row 1 \\(header\\): missing column\\(s\\) price_per_kwh"),
        ("hour,gco2e_per_kwh,price_per_kwh\n0,300,0.1\n1,abc,0.1\n", "row 3: .*'abc' is not"),
        ("hour,gco2e_per_kwh,price_per_kwh\n0,300,0.1\n2,300,0.1\n", "row 3: hour '2' out of"),
        ("hour,gco2e_per_kwh,price_per_kwh\n0,-5,0.1\n", "row 2: .*must be a number >= 0"),
        ("hour,gco2e_per_kwh,price_per_kwh\n", "no data rows"),
    ],
)
def test_grid_errors_name_file_and_row(tmp_path, text, message):
    path = _grid(tmp_path, text)
    with pytest.raises(GridError, match=message) as exc:
        load_grid(path)
    assert str(path) in str(exc.value)


def test_grid_too_short_for_the_plan(tmp_path):
    grid = load_grid(_grid(tmp_path, "hour,gco2e_per_kwh,price_per_kwh\n0,1,1\n1,1,1\n"))
    with pytest.raises(GridError, match="covers 2 hours, the plan 3 hours"):
        grid.per_slot(3, 3600.0)
