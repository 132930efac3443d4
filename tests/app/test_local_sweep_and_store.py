"""The dashboard's tiny sweep (real tiny model, real store) and store switching."""

import pytest
from streamlit.testing.v1 import AppTest

from app_pages import local_sweep
from app_pages.context import ENV_VAR
from measure.store import Store
from tests.app.rendering import shown
from tests.app.test_pages import APP, TIMEOUT, problems


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
def test_tiny_sweep_from_the_page_lands_in_the_store(monkeypatch, store_path):
    monkeypatch.setenv(ENV_VAR, str(store_path))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page("app_pages/measurements_page.py").run()
    at.text_input(key="s_inputs").set_value("8")
    at.text_input(key="s_outputs").set_value("4, 8")
    at.number_input(key="s_trials").set_value(1)
    at.text_input(key="s_system").set_value("test-cpu")
    next(b for b in at.button if b.label == "Run sweep").click().run()
    assert not problems(at), problems(at)
    rows = Store(store_path).measurements()
    assert set(rows["system"]) == {"test-cpu"} and set(rows["model"]) == {"tiny-llama"}
    assert sorted(set(rows["output_tokens"])) == [4, 8]
    assert any(s.label.startswith("Sweep done") for s in at.status)
    assert at.progress[0].value == 100
    if (rows["energy_source"] == "estimated").any():
        assert any("ESTIMATED" in shown(w.value) for w in at.warning)


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
    assert str(other) in shown(at.sidebar.caption[0].value)
    assert "no such file yet" in shown(at.sidebar.caption[0].value)  # a typo is not silent
    assert at.session_state["store_path"] == str(other)


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
