"""`python -m planner plan` / `frontier`: JSON shape, assignments, catalogue fallback, errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pandas as pd
import pytest

from measure.paths import PROJECT_ROOT
from planner.__main__ import main
from planner.workload.load import synthetic_workload
from tests.planner.report.catalogue_plans import code_trace_tokens


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
    served = [(a["llm"], a["queries"]) for a in plan["arms"] if a["queries"]]
    assert sum(q for llm, q in served if llm == "Llama-2 (7B)") >= 15  # any of its names
    assert sum(q for llm, q in served if llm == "Mistral (7B)") >= 45
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
    assert "accuracy" in out and "the plan uses" in out
    assert re.search(r"the plan uses ([\d.,]+% (less|more)|the same)", out)
    assert not re.search(r"(?<![\w.])-\d", out)  # a change in words, never a signed figure


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


def _one_line_error(capsys, argv, code, message):
    got, out, err = _run(capsys, *argv)
    assert got == code, err
    assert message in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize("command", ["plan", "frontier"])
def test_a_workload_of_zero_token_queries_is_refused_naming_the_row(capsys, tmp_path, command):
    path = tmp_path / "zero.csv"
    path.write_text("input_tokens,output_tokens\n0,0\n")
    argv = [command, "--db", str(tmp_path / "empty.duckdb"), "--workload", str(path)]
    _one_line_error(
        capsys,
        argv,
        2,
        f"{path}: data row 1 (header row not counted): 0 input and 0 output tokens is not a query",
    )


@pytest.mark.parametrize("points", ["100000", "102", "1"])
def test_frontier_points_are_bounded(capsys, tmp_path, workload_csv, points):
    argv = ["frontier", "--db", str(tmp_path / "e.duckdb"), "--workload", str(workload_csv)]
    _one_line_error(
        capsys, argv + ["--points", points], 2, f"--points must be from 2 to 101 (got {points})"
    )


def test_frontier_help_states_the_points_bound(capsys):
    with pytest.raises(SystemExit) as done:
        main(["frontier", "--help"])
    assert done.value.code == 0
    assert "2 to 101; default 11" in " ".join(capsys.readouterr().out.split())


def test_a_symbolic_link_loop_says_what_it_is(capsys, tmp_path):
    loop = tmp_path / "loop.csv"
    loop.symlink_to(loop)
    argv = ["plan", "--db", str(tmp_path / "e.duckdb"), "--workload", str(loop)]
    _one_line_error(capsys, argv, 2, f"{loop}: cannot open: too many levels of symbolic links")


def test_assignments_make_formula_cells_inert(capsys, tmp_path):
    import csv

    path = tmp_path / "evil.csv"
    path.write_text(
        "input_tokens,output_tokens,task\n"
        "10,20,\"=cmd|' /C calc'!A0\"\n"
        "30,40,@SUM(A1)\n"
        "30,40,chat\n"
    )
    out_csv = tmp_path / "assign.csv"
    argv = ["plan", "--db", str(tmp_path / "e.duckdb"), "--workload", str(path)]
    code, _, err = _run(capsys, *argv, "--assignments", str(out_csv))
    assert code == 0, err
    with out_csv.open(newline="") as handle:
        tasks = [row["task"] for row in csv.DictReader(handle)]
    assert tasks == ["'=cmd|' /C calc'!A0", "'@SUM(A1)", "chat"]


@pytest.fixture
def control_character_store(tmp_path):
    """A store whose model and system names hold a newline, an escape sequence and a CR."""
    from measure.store import RunRecord, Store
    from tests.planner.fits.test_fitting import grid_rows

    store = Store(tmp_path / "names.duckdb")
    rows = pd.concat(
        [grid_rows("evil\nmodel\x1b[2J", system="sys\r1"), grid_rows("plain", seed=1)],
        ignore_index=True,
    )
    store.write_run(RunRecord(run_id="r", kind="sweep", source="test"), rows)
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(
        '[llm."evil\\nmodel\\u001b[2J"]\naccuracy = 60\n[llm."plain"]\naccuracy = 40\n'
    )
    return store.path, fleet


@pytest.mark.parametrize("command", ["plan", "frontier"])
def test_control_characters_in_names_are_escaped_in_the_table(
    capsys, workload_csv, control_character_store, command
):
    db, fleet = control_character_store
    argv = [command, "--db", str(db), "--workload", str(workload_csv), "--fleet", str(fleet)]
    code, out, err = _run(capsys, *(argv + (["--points", "2"] if command == "frontier" else [])))
    assert code == 0, err
    assert "\x1b" not in out and "\r" not in out
    assert r"evil\nmodel\x1b[2J" in out
    assert not any(line.startswith("model") for line in out.splitlines())
    if command == "plan":
        assert r"evil\nmodel\x1b[2J @ sys\r1:" in out


def test_control_characters_in_an_error_stay_on_one_line(capsys, tmp_path):
    path = tmp_path / "two\nlines\x1b[31m.csv"
    argv = ["plan", "--db", str(tmp_path / "e.duckdb"), "--workload", str(path)]
    err = _one_line_error(capsys, argv, 2, r"two\nlines\x1b[31m.csv: no such file")
    assert "\x1b" not in err


@pytest.fixture
def code_trace_csv(tmp_path):
    """A code trace in the Azure trace's columns: long prompts (~1,500), short outputs (~13)."""
    tin, tout = code_trace_tokens(300, seed=11)
    path = tmp_path / "code-trace.csv"
    pd.DataFrame({"ContextTokens": tin, "GeneratedTokens": tout}).to_csv(path, index=False)
    return path


FIGURES = ("energy_j", "energy_kwh", "facility_kwh", "co2e_g", "co2e_kg", "cost", "runtime_s")


def test_a_code_trace_json_carries_every_plans_caveats_and_no_negative_figure(
    capsys, tmp_path, code_trace_csv
):
    fleet = tmp_path / "fleet.toml"
    fleet.write_text('[facility]\ncarbon_g_per_kwh = 300\nprice_per_kwh = 0.2\ncurrency = "EUR"\n')
    argv = ["plan", "--db", str(tmp_path / "e.duckdb"), "--workload", str(code_trace_csv)]
    code, out, err = _run(capsys, *argv, "--fleet", str(fleet), "--json")
    assert code == 0, err
    data = json.loads(out)
    plan = data["plan"]
    assert plan["currency"] == "EUR" and plan["detail"]
    assert any("physical floor" in c for c in plan["caveats"]), plan["caveats"]
    assert any("% of the workload)" in c and "extrapolated" in c for c in plan["caveats"])
    assert plan["warnings"]
    for name, entry in [("plan", plan), *data["baselines"].items()]:
        assert isinstance(entry["warnings"], list) and isinstance(entry["caveats"], list), name
        for key in FIGURES:
            assert entry[key] is not None and entry[key] >= 0, (name, key, entry[key])
        assert all(x is None or x >= 0 for x in entry["energy_ci_j"]), name
        for arm in entry["arms"]:
            assert arm["energy_j"] >= 0 and arm["runtime_s"] >= 0, (name, arm["model"])
    broken = [b for b in data["baselines"].values() if b["violations"]]
    assert broken and all(any("limits" in c for c in b["caveats"]) for b in broken)


def test_the_text_output_prints_the_caveats_under_the_headline(capsys, tmp_path, code_trace_csv):
    argv = ["plan", "--db", str(tmp_path / "e.duckdb"), "--workload", str(code_trace_csv)]
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    lines = out.splitlines()
    caveats = [i for i, line in enumerate(lines) if line.startswith("  caveat: ")]
    assert caveats, out
    headline = next(i for i, line in enumerate(lines) if line.startswith("  IT energy "))
    fits = next(i for i, line in enumerate(lines) if line.startswith("fits: "))
    assert headline < min(caveats) and max(caveats) < fits
    assert any("physical floor" in lines[i] for i in caveats)
    assert "kWh" in lines[headline] and " J " not in out


def test_building_the_parser_does_not_load_the_solver():
    """`python -m planner fit` (and every --help) starts without cvxpy: the planning
    subcommands import the routing package when they run."""
    code = (
        "import sys; from measure.cli import build_parser; "
        "from planner.__main__ import SUBCOMMAND_MODULES as m; "
        "build_parser('p', 'd', m); "
        "print(sorted(x for x in ('cvxpy', 'planner.routing', 'plotly') if x in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
