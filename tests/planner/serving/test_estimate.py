"""Serving estimates against hand computations from the fitted curves."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from planner.fleet.spec import Facility
from planner.serving.catalogue import serving_arms
from planner.serving.estimate import EstimateError, estimate
from planner.serving.idle import DEFAULT_IDLE_POWER_W
from planner.workload.load import load_workload

BATCHES = (1, 2, 4, 8, 16, 32, 64)
KEYS = (
    "energy_j",
    "active_energy_j",
    "idle_energy_j",
    "duration_s",
    "mean_batch",
    "itl_ms_p90",
    "ttft_ms_p90",
    "co2e_kg",
    "cost",
    "pue",
    "instances",
    "gpus",
    "operating_point",
    "source",
    "caveats",
    "warnings",
)


def serving_rows(
    model: str = "Qwen/Qwen3-8B",
    system: str = "H100",
    n_gpus: int = 1,
    task: str = "lm-arena-chat",
    idle_power_w: float | None = None,
    ttft: bool = False,
) -> pd.DataFrame:
    """Serving rows of one made-up setup: throughput saturating, power rising with batch."""
    rows = []
    for b in BATCHES:
        tps = n_gpus * 70.0 * b / (1 + b / 40)
        power = n_gpus * (250.0 + 300.0 * (1 - math.exp(-b / 20)))
        step_ms = 1000.0 * b / tps
        rows.append(
            {
                "row_key": f"{model}|{system}|{n_gpus}|{task}|{b}",
                "model": model,
                "system": system,
                "n_gpus": n_gpus,
                "weight_precision": "bfloat16",
                "engine": "vllm",
                "task": task,
                "max_num_seqs": b,
                "mean_batch": float(b),
                "energy_per_output_token_j": power / tps,
                "mean_power_w": power,
                "output_throughput_tps": tps,
                "itl_ms_p50": step_ms,
                "itl_ms_p90": 1.3 * step_ms + 5.0,
                "ttft_ms_p90": 40.0 + 2.0 * b if ttft else None,
                "idle_power_w": idle_power_w,
                "energy_source": "nvml",
                "energy_scope": "gpu",
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def arm():
    (only,) = serving_arms(serving_rows())
    return only


def _workload(tmp_path, tokens, arrival=None):
    frame = pd.DataFrame({"input_tokens": 100, "output_tokens": tokens})
    if arrival is not None:
        frame["arrival_s"] = arrival
    path = tmp_path / "workload.csv"
    frame.to_csv(path, index=False)
    return load_workload(path)


def test_sparse_poisson_arrivals_run_alone_at_batch_one(arm, tmp_path):
    rng = np.random.default_rng(12)
    n = 100
    tokens = rng.integers(20, 400, n)
    arrival = np.cumsum(rng.exponential(20000.0, n))  # Poisson, one per 5.6 h on average
    arrival -= arrival[0]
    one = arm.model.predict(1.0)
    service = tokens / one.throughput_tps
    # precondition of the hand computation: each request finds the server empty
    assert (arrival[1:] > arrival[:-1] + service[:-1]).all()
    idle_w = 80.0
    facility = Facility(pue=1.25, carbon_g_per_kwh=400.0, price_per_kwh=0.2, currency="EUR")
    est = estimate(
        _workload(tmp_path, tokens, arrival),
        arm,
        devices=2,
        facility=facility,
        idle_power=(idle_w, "test figure"),
    )
    span = arrival[-1] + service[-1]
    busy = service.sum()
    active = tokens.sum() * one.energy_per_token_j
    idle = idle_w * (2 * span - busy)  # instance 1 never serves: least-loaded, lowest index
    assert est.mode == "simulated"
    assert (est.instances, est.gpus) == (2, 2)
    assert est.duration_s == pytest.approx(span)
    assert est.active_energy_j == pytest.approx(active, rel=1e-9)
    assert est.idle_energy_j == pytest.approx(idle, rel=1e-9)
    assert est.energy_j == pytest.approx(1.25 * (active + idle), rel=1e-9)
    kwh = est.energy_j / 3.6e6
    assert est.co2e_kg == pytest.approx(kwh * 0.4)
    assert est.cost == pytest.approx(kwh * 0.2)
    assert est.mean_batch == pytest.approx(1.0)
    assert est.itl_ms_p90 == pytest.approx(one.itl_ms_p90, rel=1e-6)
    # no TTFT in the data: wait (0) + one inter-token time at batch 1, said in a warning
    assert est.ttft_ms_p90 == pytest.approx(1000.0 / one.throughput_tps, rel=1e-6)
    assert any("prefill time is not in the serving data" in w for w in est.warnings)
    assert est.operating_point["batch"] == 64.0  # the cap: least energy, no ITL target


def test_back_to_back_at_the_best_batch(arm, tmp_path):
    instances, batch, rounds, tout = 3, 8, 4, 250
    n = instances * batch * rounds
    est = estimate(_workload(tmp_path, np.full(n, tout)), arm, devices=instances, max_batch=batch)
    op = arm.model.predict(float(batch))
    assert est.mode == "back-to-back"
    assert any(
        f"no arrival times: served back to back at up to batch {batch}" in w for w in est.warnings
    )
    assert est.realised_energy_per_token_j == pytest.approx(op.energy_per_token_j, rel=1e-9)
    assert est.duration_s == pytest.approx(n * tout / (instances * op.throughput_tps))
    assert est.active_energy_j == pytest.approx(n * tout * op.energy_per_token_j, rel=1e-9)
    assert est.idle_energy_j == pytest.approx(0.0, abs=1e-6)
    assert est.mean_batch == pytest.approx(batch)
    assert est.itl_ms_p90 == pytest.approx(op.itl_ms_p90, rel=1e-6)
    assert est.operating_point["energy_per_token_j"] == pytest.approx(op.energy_per_token_j)
    assert est.co2e_kg is None and est.cost is None  # the facility gives neither


def test_back_to_back_below_the_cap_says_the_batch_it_realised(arm, tmp_path):
    # two requests never fill a cap of 64: the words say "up to", and the realised batch
    # and energy per token are reported beside the cap's operating point
    est = estimate(_workload(tmp_path, [300, 300]), arm, max_batch=64)
    two = arm.model.predict(2.0)
    (said,) = [w for w in est.warnings if w.startswith("no arrival times")]
    assert "served back to back at up to batch 64" in said
    assert est.mean_batch == pytest.approx(2.0)
    assert f"realised mean batch {est.mean_batch:.3g}" in said
    assert est.realised_energy_per_token_j == pytest.approx(two.energy_per_token_j, rel=1e-6)
    assert est.realised_energy_per_token_j > 2 * est.operating_point["energy_per_token_j"]
    assert est.to_json()["realised_energy_per_token_j"] == est.realised_energy_per_token_j


def test_extrapolated_share_is_a_readable_percentage(tmp_path):
    # measured from batch 8 up; two requests run at batches 1-2 only: all busy time is
    # extrapolated, which reads 100%, not 1e+02%
    rows = serving_rows()
    (arm,) = serving_arms(rows[rows["mean_batch"] >= 8].reset_index(drop=True))
    est = estimate(_workload(tmp_path, [300, 300]), arm, max_batch=2)
    (said,) = [w for w in est.warnings if "outside the measured range" in w]
    assert said.startswith("100% of busy time"), said


def test_non_finite_or_out_of_range_settings_are_refused(arm, tmp_path):
    workload = _workload(tmp_path, [100, 200])
    inf = float("inf")
    cases = [
        ({"horizon_s": inf}, "horizon"),
        ({"facility": Facility(carbon_g_per_kwh=inf)}, "carbon intensity"),
        ({"facility": Facility(price_per_kwh=float("nan"))}, "price per kWh"),
        ({"facility": Facility(pue=inf)}, "PUE"),
        ({"idle_power": (inf, "given")}, "idle power"),
        ({"itl_ms_p90_max": 0.0}, "p90 ITL target"),
    ]
    for kwargs, named in cases:
        with pytest.raises(EstimateError, match=named):
            estimate(workload, arm, **kwargs)


def test_a_model_error_becomes_an_estimate_error(tmp_path):
    rows = serving_rows()
    rows["itl_ms_p90"] = None  # a setup with no p90 ITL cannot be held to a target
    (arm,) = serving_arms(rows)
    with pytest.raises(EstimateError, match="no p90 ITL"):
        estimate(_workload(tmp_path, [100]), arm, itl_ms_p90_max=50.0)


def test_a_system_without_a_safe_idle_figure_is_an_estimate_error(tmp_path):
    (arm,) = serving_arms(serving_rows(system="NVIDIA L4"))
    with pytest.raises(EstimateError, match="72 W.*--idle-power-w"):
        estimate(_workload(tmp_path, [100]), arm)


def test_back_to_back_tail_is_idle(arm, tmp_path):
    # one long request keeps instance 0 busy after instance 1 has drained
    est = estimate(_workload(tmp_path, [2000, 10, 10]), arm, devices=2, max_batch=2)
    assert est.idle_energy_j > 0
    assert est.duration_s == pytest.approx(2000 / arm.model.predict(1.0).throughput_tps, rel=0.05)


def test_itl_target_lowers_the_batch_or_is_refused(arm, tmp_path):
    workload = _workload(tmp_path, [100, 200])
    target = arm.model.predict(16.0).itl_ms_p90
    est = estimate(workload, arm, itl_ms_p90_max=target)
    assert 8 <= est.max_batch <= 16
    with pytest.raises(EstimateError, match="p90 ITL target"):
        estimate(workload, arm, itl_ms_p90_max=1.0)
    with pytest.raises(EstimateError, match="takes 2 GPUs"):
        (two,) = serving_arms(serving_rows(n_gpus=2))
        estimate(workload, two, devices=1)


def test_default_idle_is_sourced_and_ttft_from_data(tmp_path):
    (arm,) = serving_arms(serving_rows(ttft=True))
    est = estimate(_workload(tmp_path, [50], [0.0]), arm, horizon_s=100.0)
    assert est.idle_power_w == DEFAULT_IDLE_POWER_W["H100"][0]
    assert est.idle_power_kind == "documented" and "ML.ENERGY" in est.idle_source
    assert est.duration_s == 100.0
    assert est.ttft_ms_p90 == pytest.approx(arm.model.predict(1.0).ttft_ms_p90, rel=1e-6)
    assert not any("prefill" in w for w in est.warnings)
    assert any("one instance" in w for w in est.warnings)
    assert any("idle power of provisioned GPUs added" in c for c in est.caveats)
    assert not any(c.startswith("idle excluded") for c in est.caveats)


def test_json_has_every_key_and_nothing_negative(arm, tmp_path):
    rng = np.random.default_rng(5)
    n = 3000
    arrival = np.cumsum(rng.exponential(0.02, n))
    est = estimate(
        _workload(tmp_path, rng.integers(1, 600, n), arrival - arrival[0]), arm, devices=4
    )
    out = est.to_json()
    assert set(KEYS) <= set(out)
    for key, value in out.items():
        if isinstance(value, float):
            assert value >= 0, key
    assert out["energy_j"] == pytest.approx(out["active_energy_j"] + out["idle_energy_j"])
    assert 1 < out["mean_batch"] <= 64
    assert out["wait_s_p90"] >= 0 and out["ttft_ms_p90"] > 0


def test_a_huge_back_to_back_workload_is_a_fluid(arm, tmp_path):
    path = tmp_path / "huge.csv"
    pd.DataFrame({"input_tokens": [10], "output_tokens": [100], "count": [3_000_000]}).to_csv(
        path, index=False
    )
    est = estimate(load_workload(path), arm, devices=4, max_batch=32)
    op = arm.model.predict(32.0)
    assert est.mode == "fluid" and est.n_requests == 3_000_000
    assert est.duration_s == pytest.approx(3e8 / (4 * op.throughput_tps))
    assert est.active_energy_j == pytest.approx(3e8 * op.energy_per_token_j, rel=1e-9)
    assert est.idle_energy_j == 0.0 and est.ttft_ms_p90 is None
    assert est.itl_ms_p90 == pytest.approx(op.itl_ms_p90, rel=1e-6)
    assert any("as a fluid" in w for w in est.warnings)
