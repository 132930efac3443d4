"""Exports of a plan: the per-query CSV, the summary JSON, the self-contained HTML report."""

from __future__ import annotations

import io
import json

import pandas as pd

from planner.report import exports
from planner.workload.load import load_workload, synthetic_workload
from tests.planner.report.catalogue_plans import baselines, catalogue_planner, setup


def test_assignments_csv_is_per_query_in_input_order():
    csv = b"input_tokens,output_tokens,count\n30,400,2\n8,20,1\n30,400,1\n"
    wl = load_workload(io.BytesIO(csv), name="w.csv")
    plan = catalogue_planner(wl).solve("paper", zeta=0.5)
    out = pd.read_csv(io.BytesIO(exports.assignments_csv(plan)))
    assert list(out["row"]) == [1, 1, 2, 3]
    assert list(out["output_tokens"]) == [400, 400, 20, 400]
    assert out["model"].notna().all() and out["system"].notna().all()


def test_summary_json_carries_plan_baselines_and_sources(chat_planner):
    plan = chat_planner.solve("paper", zeta=0.5)
    others = baselines(chat_planner)
    data = json.loads(
        exports.summary_json(plan, others, setup(chat_planner, {"objective": "paper", "zeta": 0.5}))
    )
    assert data["plan"]["n_queries"] == 300
    assert data["plan"]["energy_sources"] == "imported"
    assert set(data["baselines"]) == set(others)
    assert data["settings"]["zeta"] == 0.5
    assert any("Reference catalogue" in line for line in data["sources"])
    assert len(data["comparison"]) == 1 + len(data["baselines"])


def test_assumptions_name_the_accuracy_defaults_and_their_source(chat_planner):
    plan = chat_planner.solve("paper", zeta=0.5)
    out = exports.assumptions(plan, setup(chat_planner))
    assert out["zeta"] == 0.5 and out["devices per system"] == 8 and out["PUE"] == 1.2
    assert "Llama-2-7b-chat-hf" in out["A_K defaults used"]
    assert "Open LLM Leaderboard" in out["A_K defaults used"]


def test_html_report_is_self_contained_and_escapes_names():
    wl = synthetic_workload("math", 120, seed=1)
    wl.name = "<script>alert('x')</script>"
    planner = catalogue_planner(wl)
    plan = planner.solve("paper", zeta=0.5)
    frontier = planner.frontier(zetas=[0.0, 0.5, 1.0])
    page = exports.html_bytes(
        plan, baselines(planner), setup(planner), frontier, [0.0, 0.5, 1.0]
    ).decode()
    assert "<script>alert('x')</script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "<script src=" not in page and '<link rel="stylesheet" href="http' not in page
    assert len(page) > 3_000_000  # plotly.js embedded, once
    assert page.count("Plotly.newPlot") == 5  # workload, allocation, comparison, frontier, zeta
    assert "Assumptions" in page and "Wilkins" in page and "zeta" in page


def test_allocation_csv_defuses_spreadsheet_formulas():
    csv = b'input_tokens,output_tokens,task\n30,400,=HYPERLINK("http://x")\n8,20,@cmd\n8,20,chat\n'
    wl = load_workload(io.BytesIO(csv), name="f.csv")
    plan = catalogue_planner(wl).solve("paper", zeta=0.5)
    out = pd.read_csv(io.BytesIO(exports.assignments_csv(plan)))
    assert list(out["task"]) == ['\'=HYPERLINK("http://x")', "'@cmd", "chat"]
    assert list(out["input_tokens"]) == [30, 8, 8]
