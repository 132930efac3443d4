"""The Planner page a planner can show: caveats next to the figures, the fleet's per-system
and per-LLM tables reaching the plan, one name per LLM, LLMs without a score left out with a
notice, and fit tables without 'None' cells."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from streamlit import dataframe_util
from streamlit.testing.v1 import AppTest

from app_pages import cache, uploads
from app_pages.plan_state import FLEET_SECTION
from planner.fleet.registry import canonical_llm
from tests.app.hostile_store import BOLD_MODEL, LINK_MODEL, hostile_store
from tests.app.rendering import shown
from tests.app.test_pages import (
    COLUMN,
    allocation,
    arms_served,
    fresh_app,
    problems,
    set_cells,
    upload,
)

CAVEATS = "Read these figures with care"
# a minus sign before a figure: "-3", "−3" (a name such as "Llama-2" has a letter before it)
NEGATIVE = re.compile(r"(?<![\w.])[-−]\s?\d")


def code_trace_csv(n: int = 300, seed: int = 0) -> bytes:
    """A code-completion trace's shape: ~1,500-token prompts (the code around the cursor)
    and ~13-token completions."""
    rng = np.random.default_rng(seed)
    tin = rng.integers(1200, 1800, n)
    tout = rng.integers(8, 20, n)
    rows = "\n".join(f"{a},{b}" for a, b in zip(tin, tout))
    return f"input_tokens,output_tokens\n{rows}\n".encode()


def walk(node):
    """Every element and block under ``node``, in page order."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def page_order(at: AppTest) -> list[str]:
    """The right column's elements in order, as 'type' or 'type:first words'."""
    out = []
    for node in walk(at.main):
        kind = getattr(node, "type", "")
        if kind == "warning":
            out.append(f"warning:{shown(node.value)[:28]}")
        elif kind in ("metric", "plotly_chart", "dataframe"):
            out.append(kind)
    return out


def displayed_cells(frame_element) -> pd.DataFrame:
    """What a styled ``st.dataframe`` draws in each cell (its Styler's display values)."""
    styler = frame_element.proto.arrow_data.styler
    assert styler.display_values, "the table is drawn unstyled"
    return dataframe_util.convert_arrow_bytes_to_pandas_df(styler.display_values)


def figures_on_the_page(at: AppTest) -> list[str]:
    """Every figure a reader sees as text: metric values, captions, warnings, and the
    drawn cells of every styled table."""
    texts = [m.value for m in at.metric]
    texts += [shown(c.value) for c in at.caption] + [shown(w.value) for w in at.warning]
    for frame in at.dataframe:
        if frame.proto.arrow_data.styler.display_values:
            texts += [str(v) for v in displayed_cells(frame).to_numpy().ravel()]
    return texts


def test_a_code_trace_shows_its_caveats_under_the_headline_and_no_negative_figure(
    monkeypatch, store_path
):
    at = fresh_app(monkeypatch, store_path)
    upload(at, "code-trace.csv", code_trace_csv())
    assert not problems(at), problems(at)
    assert allocation(at)[COLUMN["queries"]].sum() == 300
    boxes = [shown(w.value) for w in at.warning if CAVEATS in shown(w.value)]
    assert len(boxes) == 1, [shown(w.value) for w in at.warning]
    caveats = boxes[0]
    # the paper-form fits predict below zero for long prompts with short outputs: the plan
    # says which arm's queries were charged the physical floor, and what share they are
    assert "physical floor" in caveats and "% of the workload" in caveats, caveats
    assert "\n- " in caveats  # plain sentences, one per line, not a table column
    order = page_order(at)
    last_metric = max(i for i, kind in enumerate(order) if kind == "metric")
    box = next(i for i, kind in enumerate(order) if kind.startswith(f"warning:{CAVEATS[:20]}"))
    first_chart_after = min(i for i, kind in enumerate(order) if kind == "plotly_chart" and i > 2)
    assert last_metric < box < first_chart_after, order  # right under the headline figures
    texts = figures_on_the_page(at)
    assert texts and not [t for t in texts if NEGATIVE.search(t)], [
        t for t in texts if NEGATIVE.search(t)
    ]

    at.switch_page("app_pages/tradeoffs_page.py").run()
    assert not problems(at), problems(at)
    frontier = [shown(w.value) for w in at.warning if "plans on this frontier" in shown(w.value)]
    assert len(frontier) == 1 and "At zeta" in frontier[0], [shown(w.value) for w in at.warning]
    assert "floor" in frontier[0] or "extrapolated" in frontier[0], frontier[0]
    texts = figures_on_the_page(at)
    assert not [t for t in texts if NEGATIVE.search(t)], [t for t in texts if NEGATIVE.search(t)]


def test_the_fleet_tables_reach_the_plan_with_one_name_per_llm(monkeypatch, store_path):
    at = fresh_app(monkeypatch, store_path)
    editor = next(d.value for d in at.dataframe if "accuracy" in d.value.columns)
    assert {"Mixtral (8x7B)", "Llama-2 (7B)"} <= set(editor["model"])  # canonical names
    assert not {"Mixtral-8x7B-v0.1", "Llama-2-7b-chat-hf"} & set(editor["model"])
    names = editor.set_index("model")["names"]  # how the fits spell it, beside it
    assert names["Mixtral (8x7B)"] == "Mixtral-8x7B-v0.1" and names["Falcon (7B)"] == "falcon-7b"
    systems = set(at.session_state["system_table"]["system"])
    for system in systems - {"argonne-swing"}:
        set_cells(at, "system_table", "include", False, system=system)
    set_cells(at, "accuracy_table", "include", False, model="Mixtral (8x7B)")
    assert not problems(at), problems(at)
    served = arms_served(at)
    assert {system for _, system in served} == {"argonne-swing"}
    assert all(canonical_llm(llm) == llm for llm, _ in served) and "Mixtral (8x7B)" not in {
        llm for llm, _ in served
    }
    table = allocation(at)  # the fits' spelling of each LLM beside its one name
    spelled = dict(zip(table[COLUMN["model"]], table["Name in the data"]))
    assert spelled and all(canonical_llm(s) == llm != s for llm, s in spelled.items()), spelled
    assert any("left out in the fleet tables" in shown(c.value) for c in at.caption)

    # devices and windows are per system: argonne-swing alone, with too little time
    set_cells(at, "system_table", "devices", 1, system="argonne-swing")
    set_cells(at, "system_table", "window_h", 0.1, system="argonne-swing")
    errors = [shown(e.value) for e in at.error]
    assert any("argonne-swing" in e for e in errors), problems(at)
    set_cells(at, "system_table", "window_h", 24.0, system="argonne-swing")
    set_cells(at, "system_table", "include", True, system="M1-Pro")
    set_cells(at, "system_table", "devices", 0, system="M1-Pro")  # no capacity at all
    assert not problems(at), problems(at)
    assert {system for _, system in arms_served(at)} == {"argonne-swing"}


def test_an_llm_without_a_score_is_left_out_with_a_notice(monkeypatch, tmp_path):
    at = fresh_app(monkeypatch, hostile_store(tmp_path / "hostile.duckdb"))
    assert at.radio(key="data_source").value == "This store"
    assert not problems(at), problems(at)
    assert allocation(at)[COLUMN["queries"]].sum() == 2000  # planned without it
    assert {llm for llm, _ in arms_served(at)} == {canonical_llm(BOLD_MODEL)}
    assert any("· 1 arm ·" in shown(c.value) for c in at.caption)
    notices = [shown(w.value) for w in at.warning if LINK_MODEL in shown(w.value)]
    assert len(notices) == 1, notices  # said once (not again among the caveats)
    assert "No accuracy score" in notices[0] and FLEET_SECTION in notices[0], notices
    set_cells(at, "accuracy_table", "accuracy", 55.0, model=LINK_MODEL)
    assert not problems(at), problems(at)
    assert not [w for w in at.warning if "No accuracy score" in shown(w.value)]
    assert any("· 3 arms ·" in shown(c.value) for c in at.caption)  # its two arms are in


def test_the_models_page_draws_no_none_cells_and_explains_the_floor(monkeypatch, store_path):
    at = fresh_app(monkeypatch, store_path)
    at.switch_page("app_pages/models_page.py").run()
    mixtral = ("Mixtral-8x7B-v0.1", "argonne-swing")  # its paper-form fit goes below zero
    at.selectbox(key="models_arm").set_value(mixtral).run()
    assert not problems(at), problems(at)
    assert len(at.dataframe) == 3
    # a missing figure: the grid draws its placeholder, a dash (the paper's published fits
    # have no held-out errors, the paper form no tout^2 term)
    assert [frame.proto.placeholder for frame in at.dataframe] == ["—"] * 3
    assert any(frame.value.isna().any().any() for frame in at.dataframe)
    drawn = [displayed_cells(frame) for frame in at.dataframe]  # every other cell
    cells = {str(v) for table in drawn for v in table.to_numpy().ravel()}
    assert not {"None", "nan", "NaN", "<NA>", "True", "False"} & cells
    assert any(c.value.startswith("—: no such figure") for c in at.caption)
    overview = at.dataframe[0].value
    assert set(overview["LLM"]) == {canonical_llm(m) for m in overview["LLM"]}
    assert "Mixtral (8x7B)" in set(overview["LLM"]) and "Name in the data" in overview
    assert any("physical floor" in c.value and "lightest colour" in c.value for c in at.caption)


@pytest.mark.parametrize("arrival", ["arrival_s", None])
def test_workload_key_tells_traces_apart_by_their_arrivals(arrival):
    def key(times):
        header = "input_tokens,output_tokens" + (f",{arrival}" if arrival else "")
        rows = [f"10,20{f',{t}' if arrival else ''}" for t in times]
        outcome = uploads.read_workload_upload("t.csv", "\n".join([header, *rows]).encode())
        assert outcome.ok, outcome.error
        return cache.workload_key(outcome.value)

    same = key([0.0, 1.0]) == key([0.0, 1.0])
    differ = key([0.0, 1.0]) != key([0.0, 7.5])
    assert same and (differ if arrival else not differ)
