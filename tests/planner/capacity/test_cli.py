"""`python -m planner capacity` end to end: a real store, real files, real solves."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from measure.importers.mlenergy import import_mlenergy_file
from measure.store import Store
from planner.__main__ import main
from tests.planner.capacity.helpers import mlenergy_task_file


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    folder = tmp_path_factory.mktemp("capacity")
    source = folder / "lm-arena-chat.json"
    mlenergy_task_file(source)
    path = folder / "store.duckdb"
    import_mlenergy_file(source, Store(path))
    return path


def _run(capsys, *argv):
    code = main(["capacity", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_synthetic_json_plan(db, capsys):
    code, out, err = _run(
        capsys, "--db", db, "--synthetic", "diurnal:20", "--hours", 6, "--itl-p90-ms", 30,
        "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert len(doc["slots"]) == 6
    for slot in doc["slots"]:
        assert slot["output_tokens"] <= sum(a["capacity_output_tokens"] for a in slot["arms"])
        assert all(a["itl_ms_p90"] <= 30 for a in slot["arms"])
    assert doc["totals"]["energy_j"] > 0
    assert set(doc["baselines"]) >= {"peak_most_accurate_newest", "zeta_routing_peak"}


def test_trace_file_with_grid_and_carbon(db, tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 3000
    trace = pd.DataFrame(
        {
            "timestamp": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(np.sort(rng.uniform(0, 4 * 3600, n)), unit="s"),
            "input_tokens": rng.integers(10, 500, n),
            "output_tokens": rng.integers(10, 500, n),
            # a third may wait up to two hours (seconds after arrival)
            "deadline": np.where(rng.random(n) < 1 / 3, 7200.0, np.nan),
        }
    )
    path = tmp_path / "trace.parquet"
    trace.to_parquet(path)
    grid = tmp_path / "grid.csv"
    grid.write_text(
        "hour,gco2e_per_kwh,price_per_kwh\n"
        + "".join(f"{h},{200 + 10 * h},0.2\n" for h in range(24))
    )
    code, out, err = _run(
        capsys, "--db", db, "--workload", path, "--grid", grid, "--objective", "carbon",
        "--gpu-hour-price", "H100=2,B200=5", "--json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    assert sum(s["requests"] for s in doc["slots"]) == pytest.approx(n)
    assert doc["totals"]["co2e_kg"] > 0 and doc["totals"]["cost"] > 0
    assert any("deferrable" in w for w in doc["totals"]["warnings"])
    served = sum(s["output_tokens"] for s in doc["slots"])
    assert served == pytest.approx(trace["output_tokens"].sum(), rel=1e-9)
    code, out, err = _run(capsys, "--db", db, "--workload", path, "--slot-minutes", 30)
    assert code == 0 and "capacity plan (energy): 8 slots of 30 min" in out


def test_infeasible_target_and_bad_input_are_one_line(db, tmp_path, capsys):
    code, out, err = _run(capsys, "--db", db, "--synthetic", "poisson:1", "--itl-p90-ms", 5)
    assert code == 1
    assert err.strip() == (
        "error: p90 ITL 5 ms is below what any arm reaches at its smallest batch: "
        "6 ms on Llama-2 (7B) @ B200 (batch 7.92)"
    )
    bad = tmp_path / "grid.csv"
    bad.write_text("hour,gco2e_per_kwh,price_per_kwh\n0,x,1\n")
    code, _, err = _run(capsys, "--db", db, "--synthetic", "poisson:1", "--grid", bad)
    assert code == 2 and err.startswith("error: ") and "row 2" in err and str(bad) in err
    code, _, err = _run(capsys, "--db", db, "--synthetic", "poisson:1", "--zeta", 0.5,
                        "--fleet", tmp_path / "missing.toml")  # fmt: skip
    assert code == 2 and err.count("\n") == 1
    # a store without serving rows plans on the embedded ML.ENERGY catalogue, and says so
    code, out, err = _run(
        capsys, "--db", tmp_path / "none.duckdb", "--synthetic", "poisson:1", "--hours", 2, "--json"
    )
    assert code == 0, err
    data = json.loads(out)
    assert any("embedded catalogue" in w and "ML.ENERGY" in w for w in data["totals"]["warnings"])
    assert data["totals"]["energy_j"] > 0


@pytest.mark.parametrize("price", ["-2", "H100=-1", "inf", "H100=nan", "cheap"])
def test_a_negative_or_non_finite_gpu_hour_price_is_refused(price):
    from planner.cli.capacity import UserError, _price

    with pytest.raises(UserError, match="--gpu-hour-price"):
        _price(price)
