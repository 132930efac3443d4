"""`python -m planner estimate` in a subprocess against a real DuckDB store."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from measure.paths import PROJECT_ROOT
from measure.store import RunRecord, Store
from tests.planner.serving.test_estimate import serving_rows


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "planner", "estimate", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Two setups of one LLM on H100 (1 and 2 GPUs), one task measured at 2 GPUs too, and a
    measured idle power (300 W per 2-GPU instance: 150 W per GPU)."""
    path = tmp_path_factory.mktemp("estimate") / "serving.duckdb"
    rows = pd.concat(
        [
            serving_rows(n_gpus=1),
            serving_rows(n_gpus=2, idle_power_w=300.0),
            serving_rows(n_gpus=1, task="gpqa"),
        ],
        ignore_index=True,
    )
    Store(path).write_serving(RunRecord("serve-test", "serve", "test rows"), rows)
    return path


@pytest.fixture(scope="module")
def workload(tmp_path_factory):
    rng = np.random.default_rng(7)
    n = 500
    frame = pd.DataFrame(
        {
            "input_tokens": rng.integers(10, 500, n),
            "output_tokens": rng.integers(10, 500, n),
            "arrival_s": np.cumsum(rng.exponential(0.5, n)),
        }
    )
    path = tmp_path_factory.mktemp("workload") / "poisson.csv"
    frame.to_csv(path, index=False)
    return path


def test_json_estimate_picks_the_default_setup(store, workload):
    done = _run(
        "--db", store, "--workload", workload, "--model", "Qwen/Qwen3-8B", "--system", "H100",
        "--devices", "4", "--pue", "1.2", "--carbon-g-per-kwh", "350", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    for key in (
        "energy_j", "active_energy_j", "idle_energy_j", "duration_s", "mean_batch",
        "itl_ms_p90", "ttft_ms_p90", "co2e_kg", "cost", "pue", "instances", "gpus",
        "operating_point", "source", "caveats", "warnings", "chosen",
    ):  # fmt: skip
        assert key in out, key
    # the fewest GPUs and the task lm-arena-chat, said in the output
    assert "lm-arena-chat" in out["setup"] and "x1" in out["setup"]
    assert "task lm-arena-chat" in out["chosen"] and "1 GPU(s)" in out["chosen"]
    assert (out["instances"], out["gpus"], out["pue"]) == (4, 4, 1.2)
    assert out["cost"] is None and out["co2e_kg"] > 0
    # the measured idle power (150 W per GPU) beats the documented default
    assert out["idle_power_kind"] == "measured" and out["idle_power_w"] == pytest.approx(150.0)
    assert out["energy_j"] == pytest.approx(1.2 * (out["active_energy_j"] + out["idle_energy_j"]))
    for key, value in out.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            assert value >= 0, key


def test_plain_text_names_units_and_caveats(store, workload):
    done = _run(
        "--db", store, "--workload", workload, "--model", "Qwen3-8B", "--system", "H100",
        "--gpus-per-instance", "2", "--price-per-kwh", "0.3", "--currency", "EUR",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "x2" in text and "kWh" in text and " ms" in text and "EUR" in text
    assert "caveat: GPU energy only" in text
    assert "warning: no device count given" in text


def test_unknown_names_exit_1_naming_the_choices(store, workload):
    done = _run("--db", store, "--workload", workload, "--model", "Llama-9", "--system", "H100")
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and "Qwen/Qwen3-8B" in done.stderr
    assert "Traceback" not in done.stderr
    done = _run(
        "--db", store, "--workload", workload, "--model", "Qwen/Qwen3-8B", "--system", "B300"
    )
    assert done.returncode == 1 and "H100" in done.stderr
    done = _run(
        "--db", store, "--workload", workload, "--model", "Qwen/Qwen3-8B", "--system", "H100",
        "--task", "math",
    )  # fmt: skip
    assert done.returncode == 1 and "gpqa" in done.stderr and "lm-arena-chat" in done.stderr


def test_bad_input_exits_2(store, tmp_path):
    done = _run(
        "--db", store, "--workload", tmp_path / "absent.csv", "--model", "Qwen/Qwen3-8B",
        "--system", "H100",
    )  # fmt: skip
    assert done.returncode == 2 and done.stderr.startswith("error: ")
    done = _run(
        "--db", tmp_path / "none.duckdb", "--workload", tmp_path / "x.csv", "--model", "M",
        "--system", "S",
    )  # fmt: skip
    assert done.returncode == 2 and "x.csv" in done.stderr  # the workload, not the store
    done = _run(
        "--db", store, "--workload", "x.csv", "--model", "M", "--system", "S", "--pue", "0.5"
    )
    assert done.returncode == 2 and "--pue" in done.stderr


@pytest.mark.parametrize(
    "option, value",
    [
        ("--itl-p90-ms", "0"),
        ("--idle-power-w", "inf"),
        ("--horizon-s", "inf"),
        ("--carbon-g-per-kwh", "inf"),
        ("--price-per-kwh", "nan"),
        ("--pue", "inf"),
    ],
)
def test_out_of_range_or_non_finite_numbers_exit_2_naming_the_option(
    store, workload, option, value
):
    done = _run(
        "--db", store, "--workload", workload, "--model", "Qwen/Qwen3-8B", "--system", "H100",
        option, value,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: {option} must be a finite number")
    assert "Traceback" not in done.stderr


def test_a_system_without_a_safe_idle_figure_asks_for_one(tmp_path, workload):
    path = tmp_path / "l4.duckdb"
    Store(path).write_serving(
        RunRecord("serve-l4", "serve", "test rows"), serving_rows(system="NVIDIA L4")
    )
    args = (
        "--db",
        path,
        "--workload",
        workload,
        "--model",
        "Qwen/Qwen3-8B",
        "--system",
        "NVIDIA L4",
    )
    done = _run(*args)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("error: ") and "--idle-power-w" in done.stderr
    given = _run(*args, "--idle-power-w", "16", "--json")
    assert given.returncode == 0, given.stderr
    assert json.loads(given.stdout)["idle_power_w"] == 16.0


def test_mlenergy_import_then_estimate(shared_reference_dir, tmp_path, workload):
    tasks = shared_reference_dir.parent / "mlenergy-v3" / "tasks" / "lm-arena-chat.json"
    if not tasks.exists():
        pytest.skip(f"ML.ENERGY reference file absent ({tasks})")
    db = tmp_path / "mlenergy.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "measure", "import", str(tasks), "--db", str(db)],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = _run(
        "--db", db, "--workload", workload, "--model", "Qwen/Qwen3-8B", "--system", "H100",
        "--devices", "1", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["source"].startswith("imported: ML.ENERGY Leaderboard v3")
    assert out["idle_power_kind"] == "documented"  # ML.ENERGY rows carry no idle power
    assert out["gpus"] == 1 and out["energy_j"] > out["active_energy_j"] > 0
    assert out["itl_ms_p90"] > 0
    assert any("prefill" in c for c in out["caveats"])


def test_a_store_without_serving_rows_estimates_on_the_embedded_catalogue(tmp_path, workload):
    done = _run(
        "--db", tmp_path / "empty.duckdb", "--workload", workload, "--model", "Qwen/Qwen3-8B",
        "--system", "H100", "--devices", "1", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert "embedded ML.ENERGY catalogue" in out["chosen"]
    assert out["source"].startswith("imported: ML.ENERGY Leaderboard v3")
    assert out["active_energy_j"] > 0
