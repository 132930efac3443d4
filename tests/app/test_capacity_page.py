"""The Capacity page under AppTest: the default view, infeasible settings shown as the
planner's message (never a traceback), infeasible baselines marked, cost with and without
GPU prices, and the page's upload readers (AppTest cannot drive a file uploader)."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from app_pages import capacity_state as cs
from app_pages.context import ENV_VAR
from tests.app.rendering import shown

APP = str(__import__("pathlib").Path(__file__).resolve().parents[2] / "app.py")
PAGE = "app_pages/capacity_page.py"
TIMEOUT = 120
LABELS = [
    "Energy (kWh)",
    "Active energy (kWh)",
    "Idle energy (kWh)",
    "GPU-hours (h)",
    "CO2e (kg)",
    "Cost (USD)",
    "Accuracy (%)",
]


@pytest.fixture
def capacity(monkeypatch, store_path) -> AppTest:
    """The app opened straight on the Capacity page (a fresh store: the catalogue)."""
    monkeypatch.setenv(ENV_VAR, str(store_path))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def problems(at: AppTest) -> list[str]:
    return [e.value for e in at.exception] + [shown(e.value) for e in at.error]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def number(text: str) -> float:
    return float(text.replace(",", ""))


def baselines(at: AppTest):
    for df in at.dataframe:
        if "Plan or baseline" in df.value.columns:
            return df.value
    raise AssertionError("no baselines table on the page")


def test_default_view_plans_a_day_of_diurnal_load(capacity):
    at = capacity
    assert at.title[0].value == "Capacity"
    assert not problems(at)
    shown_metrics = metrics(at)
    assert list(shown_metrics) == LABELS
    energy = number(shown_metrics["Energy (kWh)"])
    active = number(shown_metrics["Active energy (kWh)"])
    idle = number(shown_metrics["Idle energy (kWh)"])
    assert energy > 0 and active > 0 and idle > 0
    assert energy == pytest.approx(active + idle, rel=0.02)  # three figures each, rounded
    assert number(shown_metrics["GPU-hours (h)"]) >= 24  # at least one GPU in every hour
    assert shown_metrics["Cost (USD)"] == "—"  # no price per GPU-hour given: not invented
    assert number(shown_metrics["CO2e (kg)"]) > 0  # the flat default intensity
    # the caveats under the totals, in plain words
    caveats = " ".join(shown(i.value) for i in at.info)
    assert "GPU energy only" in caveats and "made up, not measured" in caveats
    assert len(at.get("plotly_chart")) == 5  # load, instances, energy, grid, baselines
    assert any("24 independent slots" in shown(c.value) for c in at.caption)
    table = baselines(at)
    assert table["Plan or baseline"].iloc[0] == "This plan"
    assert len(table) >= 4 and table["Feasible"].all()


def test_latency_target_below_every_arm_is_named_not_a_traceback(capacity):
    at = capacity
    at.session_state["cap_itl_ms"] = 1.0
    at.run()
    assert not at.exception
    errors = [shown(e.value) for e in at.error]
    assert len(errors) == 1, errors
    assert re.search(
        r"p90 ITL 1 ms is below what any arm reaches .*: [\d.]+ ms on .+ @ ", errors[0]
    )
    assert not at.metric  # no plan, no totals


def test_gpu_limits_below_the_peak_are_named(capacity):
    at = capacity
    for key, value in {
        "cap_kind": "poisson",
        "cap_rate": 400.0,
        "cap_hours": 2.0,
        "cap_accuracy": cs.ACCURACY_NONE,
        "cap_gpus_B200": 1,
        "cap_gpus_H100": 1,
    }.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception
    errors = [shown(e.value) for e in at.error]
    assert len(errors) == 1 and "GPU limits" in errors[0], errors
    assert "GPUs per system" in errors[0]  # the page's field, not the CLI's fleet file


def test_infeasible_baselines_are_marked(capacity):
    at = capacity
    for key, value in {
        "cap_kind": "poisson",
        "cap_rate": 100.0,
        "cap_hours": 2.0,
        "cap_accuracy": cs.ACCURACY_NONE,
        "cap_gpus_B200": 2,
    }.items():
        at.session_state[key] = value
    at.run()
    assert not problems(at)
    table = baselines(at)
    assert table["Feasible"].iloc[0]  # the plan meets the limit
    infeasible = table[~table["Feasible"]]
    assert len(infeasible) >= 1
    assert infeasible["What it is"].str.contains("over the limit of 2|GPU limits").all()
    warning = " ".join(shown(w.value) for w in at.warning)
    assert "Infeasible under this plan's constraints" in warning
    # the objective is energy alone here: no feasible baseline uses less
    feasible = table[table["Feasible"]]
    assert (feasible["Energy (kWh)"] >= feasible["Energy (kWh)"].iloc[0] * (1 - 1e-6)).all()


def test_cost_objective_needs_gpu_prices_then_reports_cost(capacity):
    at = capacity
    at.session_state["cap_objective"] = "cost"
    at.run()
    errors = [shown(e.value) for e in at.error]
    assert len(errors) == 1 and "price per GPU-hour" in errors[0], errors
    assert "--gpu-hour-price" not in errors[0]
    at.session_state["cap_gpu_price_B200"] = 6.0
    at.session_state["cap_gpu_price_H100"] = 3.0
    at.run()
    assert not problems(at)
    cost = number(metrics(at)["Cost (USD)"])
    gpu_hours = number(metrics(at)["GPU-hours (h)"])
    assert cost >= 3.0 * gpu_hours  # at least the cheapest GPU-hour price for each


def test_accuracy_floor_is_met(capacity):
    at = capacity
    at.session_state["cap_accuracy"] = cs.ACCURACY_FLOOR
    at.session_state["cap_floor"] = 60.0
    at.run()
    assert not problems(at)
    assert number(metrics(at)["Accuracy (%)"]) >= 60.0 - 0.05


def test_uploaded_grid_is_read_and_its_errors_name_the_upload():
    good = "hour,gco2e_per_kwh,price_per_kwh\n" + "".join(
        f"{h},{300 + 10 * h},{0.1 + 0.01 * h}\n" for h in range(24)
    )
    grid, error = cs.read_grid("my-grid.csv", "a", good.encode())
    assert error is None and grid.daily and grid.source == "grid file my-grid.csv"
    bad = "hour,gco2e_per_kwh,price_per_kwh\n0,300,0.1\n1,lots,0.1\n"
    grid, error = cs.read_grid("my-grid.csv", "b", bad.encode())
    assert grid is None
    assert error.startswith("my-grid.csv: row 3") and "gco2e_per_kwh" in error
    assert "/tmp" not in error and "grid-" not in error  # never the temporary copy's path


def test_uploaded_workload_without_arrival_times_is_refused_in_words():
    data = b"input_tokens,output_tokens\n10,20\n30,40\n"
    workload, error = cs.read_workload("no-times.csv", "c", data)
    assert workload is None and "no-times.csv" in error and "arrival" in error
    timed = b"arrival_s,input_tokens,output_tokens\n0,10,20\n4000,30,40\n"
    workload, error = cs.read_workload("timed.csv", "d", timed)
    assert error is None and "arrival_s" in workload.queries.columns


def test_settings_survive_a_visit_to_another_page(capacity):
    at = capacity
    at.session_state["cap_itl_ms"] = 45.0
    at.session_state["cap_gpu_price_H100"] = 2.5
    at.run()
    at.switch_page("app_pages/models_page.py").run()
    at.switch_page(PAGE).run()
    assert not problems(at)
    assert at.number_input(key="cap_itl_ms").value == 45.0
    assert at.number_input(key="cap_gpu_price_H100").value == 2.5
    assert at.number_input(key="cap_gpu_price_B200").value is None  # still unknown
    assert not at.warning  # no widget given both a default and a session value


def serving_store(path):
    """A store holding one measured serving setup (three batch sizes on an L4, with the idle
    power measured before them: no documented figure exists for an L4)."""
    import pandas as pd

    from measure.store import RunRecord, Store

    rows = pd.DataFrame(
        {
            "row_key": ["b1", "b8", "b32"],
            "model": "meta-llama/Llama-3.1-8B-Instruct",
            "system": "L4",
            "n_gpus": 1,
            "weight_precision": "bfloat16",
            "engine": "vllm",
            "task": "local-chat",
            "mean_batch": [1.0, 8.0, 32.0],
            "energy_per_output_token_j": [2.0, 0.5, 0.2],
            "output_throughput_tps": [40.0, 250.0, 700.0],
            "itl_ms_p90": [25.0, 32.0, 45.0],
            "idle_power_w": 16.0,
            "energy_source": "nvml",
            "energy_scope": "gpu",
        }
    )
    run = RunRecord("serve-test", "serve", "a local sweep", source_sha256="x" * 64, system="L4")
    Store(path).write_serving(run, rows)
    return path


def test_plans_on_the_stores_serving_rows(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(serving_store(tmp_path / "serving.duckdb")))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(PAGE).run()
    at.session_state["cap_serving"] = cs.SERVING_STORE
    at.session_state["cap_accuracy"] = cs.ACCURACY_NONE
    at.session_state["cap_rate"] = 0.5
    at.run()
    assert not problems(at)
    assert at.selectbox(key="cap_task").value == "local-chat"  # the store's own task
    assert [n.label for n in at.number_input if n.key == "cap_gpus_L4"]
    # the 30 ms p90 ITL target leaves batch 1 alone (40 tokens/s): ~100 tokens/s at the
    # peak need three instances, and one at least in every hour
    assert number(metrics(at)["GPU-hours (h)"]) > 24
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert "measured serving row: nvml" in charts[1] and "ML.ENERGY" not in charts[1]
