"""The dashboard's tiny sweep (real tiny model, real store) and store switching."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages import local_sweep
from app_pages.context import ENV_VAR
from app_pages.plan_state import FLEET_SECTION
from measure.store import Store
from tests.app.hostile_store import ARMS, TOKENS, hostile_csv, hostile_store
from tests.app.rendering import shown
from tests.app.test_pages import (
    APP,
    COLUMN,
    TIMEOUT,
    allocation,
    arms_served,
    problems,
    set_cells,
)


@pytest.mark.parametrize(
    "inputs, outputs, trials, problem",
    [
        ("8, x", "8", 2, "'x' is not a whole number"),
        ("8", "0", 2, "outside 1..2048"),
        ("", "8", 2, "at least one"),
        ("8", "8", 30, "between 1 and 25"),
        (
            ", ".join(str(i) for i in range(1, 10)),
            ", ".join(str(i) for i in range(1, 10)),
            2,
            "81 \\(input, output\\) cells",
        ),
    ],
)
def test_bad_sweep_settings_are_named(inputs, outputs, trials, problem):
    with pytest.raises(local_sweep.SweepInputError, match=problem):
        local_sweep.sweep_request(inputs, outputs, trials, "")


def test_sweep_request_sorts_and_names_the_system():
    request = local_sweep.sweep_request("64; 8, 8", "16", 2, "  ")
    assert request.inputs == [8, 64] and request.cells == 2
    assert request.system == local_sweep.default_system()


@pytest.mark.slow
def test_tiny_sweep_from_the_page_lands_in_the_store_and_the_planner_still_plans(
    monkeypatch, tmp_path
):
    """The sweep's tiny model has no accuracy score: the Planner leaves it out, says so and
    where to give it one, and plans the store's other LLMs meanwhile."""
    store_path = hostile_store(tmp_path / "store.duckdb")  # a scored LLM is measured already
    monkeypatch.setenv(ENV_VAR, str(store_path))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/measurements_page.py").run()
    at.text_input(key="s_inputs").set_value("8, 16")
    at.text_input(key="s_outputs").set_value("4, 8")
    at.number_input(key="s_trials").set_value(2)
    at.text_input(key="s_system").set_value("test-cpu")
    next(b for b in at.button if b.label == "Run sweep").click().run()
    assert not problems(at), problems(at)
    rows = Store(store_path).measurements()
    tiny = rows[rows["model"] == "tiny-llama"]
    assert (
        set(tiny["system"]) == {"test-cpu"}
        and len(tiny) == len(rows) - len(ARMS) * len(TOKENS) ** 2
    )
    assert sorted(set(tiny["output_tokens"])) == [4, 8]
    assert any(s.label.startswith("Sweep done") for s in at.status)
    assert at.progress[0].value == 100
    if (tiny["energy_source"] == "estimated").any():
        assert any("ESTIMATED" in shown(w.value) for w in at.warning)

    at.switch_page("app_pages/planner_page.py").run()
    assert not problems(at), problems(at)
    assert at.radio(key="data_source").value == "This store"
    assert allocation(at)[COLUMN["queries"]].sum() == 2000
    assert {llm for llm, _ in arms_served(at)} == {"Llama-2 (7B)"}
    notice = next(shown(w.value) for w in at.warning if "'tiny-llama'" in shown(w.value))
    assert "No accuracy score" in notice and FLEET_SECTION in notice, notice
    assert any("· 1 arm ·" in shown(c.value) for c in at.caption)
    set_cells(at, "accuracy_table", "accuracy", 30.0, model="tiny-llama")
    assert not problems(at), problems(at)
    assert not [w for w in at.warning if "'tiny-llama'" in shown(w.value)]
    assert any("· 2 arms ·" in shown(c.value) for c in at.caption)  # tiny-llama · test-cpu


def test_switching_store_from_the_sidebar(monkeypatch, store_path, tmp_path):
    monkeypatch.setenv(ENV_VAR, str(store_path))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.sidebar.text_input(key="store_path_input").set_value(str(tmp_path / "notes.txt"))
    at.sidebar.button(key="switch_store").click().run()
    assert any("does not look like a store" in shown(e.value) for e in at.sidebar.error)
    other = tmp_path / "other.duckdb"
    at.sidebar.text_input(key="store_path_input").set_value(str(other))
    at.sidebar.button(key="switch_store").click().run()
    assert not problems(at)
    assert str(other.resolve()) in shown(at.sidebar.caption[0].value)
    assert "no such file yet" in shown(at.sidebar.caption[0].value)  # a typo is not silent
    assert at.session_state["store_path"] == str(other.resolve())


def test_the_sidebar_opens_no_store_outside_the_data_folder(monkeypatch, tmp_path):
    """``..`` and absolute paths out of the launch store's folder are refused by name, the
    session keeps its store, and an import then lands there: nothing is written outside."""
    folder, outside = tmp_path / "data", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    launch = folder / "store.duckdb"
    monkeypatch.setenv(ENV_VAR, str(launch))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    for text in ("../outside/evil.duckdb", str(outside / "evil.duckdb"), "/etc/evil.duckdb"):
        at.sidebar.text_input(key="store_path_input").set_value(text)
        at.sidebar.button(key="switch_store").click().run()
        errors = [shown(e.value) for e in at.sidebar.error]
        assert any(text in e and f"data folder {folder.resolve()}" in e for e in errors), errors
        assert at.session_state["store_path"] == str(launch)
    at.switch_page("app_pages/measurements_page.py").run()
    at.file_uploader(key="m_upload").set_value([("hostile.csv", hostile_csv(), "text/csv")])
    next(b for b in at.button if b.label == "Import").click().run()
    assert not problems(at), problems(at)
    assert len(Store(launch).measurements()) == len(ARMS) * len(TOKENS) ** 2
    assert list(outside.iterdir()) == [] and not Path("/etc/evil.duckdb").exists()


def test_switching_to_a_file_that_is_not_duckdb_keeps_the_app_working(
    monkeypatch, store_path, tmp_path
):
    monkeypatch.setenv(ENV_VAR, str(store_path))
    bad = tmp_path / "notes.duckdb"
    bad.write_text("not a database\n")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.sidebar.text_input(key="store_path_input").set_value(str(bad))
    at.sidebar.button(key="switch_store").click().run()
    assert any("is not a DuckDB store file" in shown(e.value) for e in at.sidebar.error)
    assert at.session_state["store_path"] == str(store_path)
    assert not at.exception and at.title[0].value == "Planner"


@pytest.mark.parametrize("page", ["app_pages/planner_page.py", "app_pages/measurements_page.py"])
def test_starting_on_an_unreadable_store_names_it_without_a_traceback(monkeypatch, tmp_path, page):
    bad = tmp_path / "broken.duckdb"
    bad.write_text("not a database\n")
    monkeypatch.setenv(ENV_VAR, str(bad))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page(page).run()
    assert not at.exception
    assert any(
        "broken.duckdb" in shown(e.value) and "Switch to another store" in shown(e.value)
        for e in at.sidebar.error
    )
    assert at.sidebar.text_input(key="store_path_input")  # the way out is still drawn
