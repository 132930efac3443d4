"""The app's first open: the Planner plans on the serving catalogue (ML.ENERGY's measured
serving setups on H100 and B200) with active and idle energy apart and each arm's operating
point; the paper's reference catalogue is one click away in the sidebar; the Models page
draws each serving setup against batch with its citation and caveats; without any accuracy
score the page asks for one, without an error."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.context import ENV_VAR
from app_pages.state import SOURCE_CATALOGUE, SOURCE_SERVING
from tests.app.rendering import shown
from tests.app.test_pages import APP, COLUMN, PAGES, TIMEOUT, allocation, problems

OPERATING = "Operating point"


def first_open(monkeypatch, db) -> AppTest:
    monkeypatch.setenv(ENV_VAR, str(db))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    return at


def test_first_open_plans_on_the_serving_catalogue_and_the_paper_is_one_click_away(
    monkeypatch, store_path
):
    at = first_open(monkeypatch, store_path)
    assert not problems(at), problems(at)
    assert at.radio(key="data_source").value == SOURCE_SERVING
    assert any("Fits: Serving catalogue" in shown(c.value) for c in at.caption)
    table = allocation(at)
    assert table[COLUMN["queries"]].sum() == 2000
    assert set(table[COLUMN["system"]]) <= {"H100", "B200"}
    assert table[OPERATING].str.startswith("continuous batching, batch").all()
    labels = [m.label for m in at.metric]
    assert {"Active energy (kWh)", "Idle energy (kWh)"} <= set(labels)
    idle = next(m for m in at.metric if m.label == "Idle energy (kWh)")
    assert float(idle.value.replace(",", "")) > 0  # 8 GPUs per system over 24 h idle mostly
    caveats = " ".join(shown(w.value) for w in at.warning)
    assert "GPU energy only" in caveats and "prefill" in caveats
    assert not store_path.exists()  # reading the embedded catalogue writes nothing

    at.radio(key="data_source").set_value(SOURCE_CATALOGUE).run()
    assert not problems(at), problems(at)
    assert any("Fits: Reference catalogue" in shown(c.value) for c in at.caption)
    assert allocation(at)[OPERATING].str.startswith("one prompt at a time").all()
    assert "ITL p90 (ms)" not in allocation(at).columns
    assert "Idle energy (kWh)" not in [m.label for m in at.metric]  # the paper counts none


@pytest.mark.parametrize("page", PAGES[1:])
def test_every_other_page_runs_on_the_serving_catalogue(monkeypatch, store_path, page):
    at = first_open(monkeypatch, store_path)
    at.switch_page(page).run()
    assert not problems(at), problems(at)
    assert at.radio(key="data_source").value == SOURCE_SERVING


def test_an_itl_target_moves_the_operating_points(monkeypatch, store_path):
    at = first_open(monkeypatch, store_path)
    largest = set(allocation(at)[OPERATING])
    at.number_input(key="itl_ms_p90_max").set_value(30.0).run()
    assert not problems(at), problems(at)
    assert set(allocation(at)[OPERATING]) != largest
    assert float(allocation(at)["ITL p90 (ms)"].max()) <= 30.0 + 1e-6


def test_models_page_draws_each_serving_setup_with_citation_and_caveats(monkeypatch, store_path):
    at = first_open(monkeypatch, store_path)
    at.switch_page("app_pages/models_page.py").run()
    assert not problems(at), problems(at)
    assert len(at.get("plotly_chart")) == 3  # energy per token, throughput, ITL p90
    said = " ".join(shown(i.value) for i in at.info)
    for words in ("ML.ENERGY", "GPU energy only", "prefill folded in", "idle excluded"):
        assert words in said, said
    assert said.count("The ML.ENERGY Benchmark") == 1 and "Licence: Apache-2.0" in said  # once
    assert any("Apache-2.0" in t.value for t in at.text)


@pytest.fixture
def no_scores(monkeypatch):
    """No LLM has a default accuracy score (as before the registry had any)."""
    import planner.fleet.spec as spec
    import planner.fleet.table as table

    monkeypatch.setattr(spec, "default_accuracy", lambda model: None)
    monkeypatch.setattr(table, "default_accuracy", lambda model: None)


def test_without_any_score_the_page_asks_for_one_without_an_error(
    monkeypatch, store_path, no_scores
):
    at = first_open(monkeypatch, store_path)
    assert not problems(at), problems(at)
    asked = " ".join(shown(i.value) for i in at.info)
    assert "No LLM of the serving catalogue has an accuracy score" in asked, asked
    assert "A_K column" in asked
