"""`python -m planner plan` / `frontier`: JSON shape, assignments, catalogue fallback, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from measure.paths import PROJECT_ROOT
from planner.__main__ import main
from planner.workload.load import synthetic_workload


@pytest.fixture
def workload_csv(tmp_path):
    path = tmp_path / "chat.csv"
    synthetic_workload("chat", 300, seed=4).queries.to_csv(path, index=False)
    return path


@pytest.fixture
def fleet_toml(tmp_path):
    path = tmp_path / "fleet.toml"
    path.write_text(
        'min_share_fraction = 0.25\n[llm."Llama-2-7b-chat-hf"]\nshare = 0.2\n'
        '[llm."Mistral (7B)"]\nshare = 0.6\n[system."M1-Pro"]\ndevices = 1\n'
        "window_h = 1\n[facility]\npue = 1.5\ncarbon_g_per_kwh = 400\n"
        "price_per_kwh = 0.2\n"
    )
    return path


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plan_json_from_the_catalogue_when_the_store_is_empty(
    capsys, tmp_path, workload_csv, fleet_toml
):
    out_csv = tmp_path / "assign.csv"
    code, out, err = _run(
        capsys,
        "plan",
        "--db",
        str(tmp_path / "empty.duckdb"),
        "--workload",
        str(workload_csv),
        "--fleet",
        str(fleet_toml),
        "--json",
        "--assignments",
        str(out_csv),
    )
    assert code == 0, err
    data = json.loads(out)
    assert "using the reference catalogue" in data["fits"]
    assert {"objective_value", "plan", "baselines", "solve_seconds"} <= set(data)
    for entry in [data["plan"], *data["baselines"].values()]:
        assert {"energy_j", "accuracy", "runtime_s", "arms"} <= set(entry)
        assert {"model", "system", "queries", "energy_j"} <= set(entry["arms"][0])
        assert sum(a["queries"] for a in entry["arms"]) == 300
    plan = data["plan"]
    assert plan["facility_kwh"] == pytest.approx(1.5 * plan["energy_kwh"])
    assert plan["co2e_g"] == pytest.approx(400 * plan["facility_kwh"])
    assert plan["cost"] == pytest.approx(0.2 * plan["facility_kwh"])
    served = {a["model"]: a["queries"] for a in plan["arms"] if a["queries"]}
    assert sum(q for m, q in served.items() if m == "Llama-2-7b-chat-hf") >= 15
    assert sum(q for m, q in served.items() if m == "Mistral (7B)") >= 45
    assert all(
        plan["objective_value"] <= b["objective_value"] + 1e-9
        for b in data["baselines"].values()
        if not b["violations"]
    )
    assigned = pd.read_csv(out_csv)
    source = pd.read_csv(workload_csv)
    assert len(assigned) == 300 and assigned["row"].tolist() == list(range(1, 301))
    assert assigned["output_tokens"].tolist() == source["output_tokens"].tolist()
    counts = assigned.groupby(["model", "system"]).size()
    for arm in plan["arms"]:
        assert counts.get((arm["model"], arm["system"]), 0) == arm["queries"]


def test_plan_text_output_and_energy_objective(capsys, tmp_path, workload_csv):
    code, out, err = _run(
        capsys,
        "plan",
        "--db",
        str(tmp_path / "empty.duckdb"),
        "--workload",
        str(workload_csv),
        "--objective",
        "energy",
        "--min-accuracy",
        "58",
        "--form",
        "default",
    )
    assert code == 0, err
    assert "optimal (energy, accuracy >= 58 %)" in out and "baselines" in out
    assert "accuracy" in out and "saving" in out


def test_frontier_json(capsys, tmp_path, workload_csv):
    code, out, err = _run(
        capsys,
        "frontier",
        "--db",
        str(tmp_path / "empty.duckdb"),
        "--workload",
        str(workload_csv),
        "--points",
        "4",
        "--json",
    )
    assert code == 0, err
    points = json.loads(out)["points"]
    front = [p for p in points if p["kind"] == "frontier"]
    assert [p["zeta"] for p in front] == pytest.approx([0, 1 / 3, 2 / 3, 1])
    assert any(p["kind"] == "baseline" for p in points)


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--workload", "{tmp}/absent.csv"], 2, "absent.csv: no such file"),
        (["--workload", "{wl}", "--fleet", "{tmp}/absent.toml"], 2, "absent.toml: cannot read"),
        (
            ["--workload", "{wl}", "--objective", "energy", "--min-accuracy", "99"],
            1,
            "accuracy floor 99 % is above the best achievable",
        ),
        (["--workload", "{wl}", "--zeta", "3"], 1, "zeta must be in [0, 1]"),
    ],
)
def test_user_errors_are_one_line(capsys, tmp_path, workload_csv, args, code, message):
    argv = ["plan", "--db", str(tmp_path / "empty.duckdb")]
    argv += [a.format(tmp=tmp_path, wl=workload_csv) for a in args]
    got, out, err = _run(capsys, *argv)
    assert got == code
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_cli_subprocess_json_is_clean(tmp_path, workload_csv):
    """Through `python -m planner`: stdout is one JSON object (no solver banner)."""
    fleet = tmp_path / "fleet.toml"
    fleet.write_text('[llm."Mistral (7B)"]\nshare = 0.9\n')
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "planner",
            "plan",
            "--db",
            str(tmp_path / "empty.duckdb"),
            "--workload",
            str(workload_csv),
            "--fleet",
            str(fleet),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["plan"]["status"] == "optimal"


@pytest.mark.slow
def test_plan_over_the_shared_reference_data(capsys, tmp_path, shared_reference_dir, workload_csv):
    from measure.importers.paper import import_file
    from measure.store import Store

    store = Store(tmp_path / "ref.duckdb")
    for name in ("swing-a100-grid.csv", "systems-sweeps.csv"):
        import_file(shared_reference_dir / name, store)
    code, out, err = _run(
        capsys,
        "plan",
        "--db",
        str(store.path),
        "--workload",
        str(workload_csv),
        "--json",
        "--form",
        "default",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["fits"].startswith("fits of the measurements in")
    arms = {(a["model"], a["system"]) for a in data["plan"]["arms"]}
    assert len(arms) >= 15
    assert ("Llama-2-7b-chat-hf", "argonne-swing") in arms
    assert ("Llama-2 (7B)", "Swing AMD+A100") in arms  # both files' names, kept
    assert "imported" in data["plan"]["energy_sources"]
