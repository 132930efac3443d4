"""The real app under streamlit.testing's AppTest: every page, uploads, zeta, downloads."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from app_pages.context import ENV_VAR
from app_pages.state import SOURCE_CATALOGUE
from planner.report.tables import column_names
from tests.app.rendering import shown

APP = str(__import__("pathlib").Path(__file__).resolve().parents[2] / "app.py")
PAGES = (
    "app_pages/planner_page.py",
    "app_pages/tradeoffs_page.py",
    "app_pages/models_page.py",
    "app_pages/measurements_page.py",
    "app_pages/export_page.py",
    "app_pages/capacity_page.py",
)
TIMEOUT = 120
COLUMN = column_names()  # the plan tables' headings (units in words)


def fresh_app(monkeypatch, db) -> AppTest:
    """The app on ``db``; on an empty store it opens on the serving catalogue, and these
    tests (written for the paper's reference catalogue) choose that one in the sidebar
    first (tests/app/test_serving_app.py tests the first open itself)."""
    monkeypatch.setenv(ENV_VAR, str(db))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if not Path(db).exists():
        at.session_state["data_source"] = SOURCE_CATALOGUE
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def allocation(at: AppTest) -> pd.DataFrame:
    """The allocation table of the Planner page (the dataframe of queries and device time)."""
    for df in at.dataframe:
        value = df.value
        if {COLUMN["queries"], COLUMN["device_hours"]} <= set(value.columns):
            return value
    raise AssertionError("no allocation table on the page")


def arms_served(at: AppTest) -> set[tuple[str, str]]:
    table = allocation(at)
    return set(zip(table[COLUMN["model"]], table[COLUMN["system"]]))


def set_cells(at: AppTest, key: str, column: str, value, **where) -> AppTest:
    """Edit one of the Planner page's fleet tables as a user would in its editor (AppTest
    cannot type into a data editor): ``column`` set to ``value`` in the rows matching
    ``where`` (every row without it) of the table the page last drew; the next run reads it."""
    table = at.session_state[key].copy()
    rows = pd.Series(True, index=table.index)
    for name, wanted in where.items():
        rows &= table[name] == wanted
    assert rows.any(), f"no row of {key} matches {where}"
    table.loc[rows, column] = value
    at.session_state[key] = table
    return at.run()


def problems(at: AppTest) -> list[str]:
    return [e.value for e in at.exception] + [shown(e.value) for e in at.error]


def test_first_page_shows_a_plan_on_an_empty_store(monkeypatch, store_path):
    at = fresh_app(monkeypatch, store_path)
    assert at.title[0].value == "Planner"
    assert not problems(at)
    labels = [m.label for m in at.metric]
    assert labels[:2] == ["Energy (kWh)", "CO2e (kg)"] and labels[3:] == [
        "Accuracy (%)",
        "Runtime (h)",
    ]
    assert labels[2] == "Cost (USD)"  # the fleet's currency (the default)
    assert all(m.delta for m in at.metric)  # every figure against the chosen baseline
    assert any("Reference catalogue" in shown(c.value) for c in at.caption)
    assert allocation(at)[COLUMN["queries"]].sum() == 2000
    assert len(at.get("plotly_chart")) >= 2
    assert any("allocation" in b.label.lower() for b in at.download_button)
    assert not store_path.exists()  # reading the catalogue writes nothing


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_catalogue(monkeypatch, store_path, page):
    at = fresh_app(monkeypatch, store_path)
    at.switch_page(page).run()
    assert not problems(at), problems(at)
    assert at.title[0].value.lower().startswith(page.split("/")[1].split("_")[0][:5])


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_a_store(monkeypatch, reference_store, page):
    at = fresh_app(monkeypatch, reference_store)
    assert at.radio(key="data_source").value == "This store"
    at.switch_page(page).run()
    assert not problems(at), problems(at)
    assert len(at.get("plotly_chart")) >= 1 or page.endswith("export_page.py")


def test_moving_zeta_changes_the_allocation_and_figures(monkeypatch, store_path):
    at = fresh_app(monkeypatch, store_path)
    before = allocation(at)
    energy_before = at.metric[0].value
    at.slider(key="zeta").set_value(0.1).run()
    assert not problems(at)
    after = allocation(at)
    assert at.metric[0].value != energy_before
    queries, llm, system = COLUMN["queries"], COLUMN["model"], COLUMN["system"]
    assert set(zip(before[llm], before[system])) != set(zip(after[llm], after[system]))
    assert after[queries].sum() == before[queries].sum()


def test_zeta_and_fleet_settings_survive_page_changes(monkeypatch, store_path):
    at = fresh_app(monkeypatch, store_path)
    at.slider(key="zeta").set_value(0.8).run()
    set_cells(at, "system_table", "devices", 3, system="M1-Pro")
    at.number_input(key="pue").set_value(1.5).run()
    at.switch_page("app_pages/models_page.py").run()
    at.switch_page("app_pages/planner_page.py").run()
    assert at.slider(key="zeta").value == 0.8 and at.number_input(key="pue").value == 1.5
    systems = at.session_state["system_table"].set_index("system")
    assert systems.loc["M1-Pro", "devices"] == 3 and systems.loc["argonne-swing", "devices"] == 8
    editor = next(d for d in at.dataframe if "window_h" in d.value.columns)
    assert editor.value.set_index("system").loc["M1-Pro", "devices"] == 3  # drawn as edited


def upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.radio(key="workload_choice").set_value("Upload a file").run()
    at.file_uploader(key="workload_file").set_value((name, data, "text/csv")).run()
    return at


def test_valid_upload_is_planned(monkeypatch, store_path):
    at = fresh_app(monkeypatch, store_path)
    rows = "\n".join(f"{10 + i},{100 + 7 * i}" for i in range(50))
    upload(at, "mine.csv", f"input_tokens,output_tokens\n{rows}\n".encode())
    assert not problems(at), problems(at)
    assert allocation(at)[COLUMN["queries"]].sum() == 50
    assert any("mine.csv: 50 queries" in shown(c.value) for c in at.caption)


def test_an_uploaded_name_is_shown_literally_not_as_markdown(monkeypatch, store_path):
    at = fresh_app(monkeypatch, store_path)
    upload(at, "a_[b](c).csv", b"input_tokens,output_tokens\n5,7\n")
    captions = [c.value for c in at.caption if "queries" in shown(c.value)]
    assert any("a_[b](c).csv: 1 queries" in shown(c) for c in captions), captions
    assert not any("[b](c)" in c for c in captions)  # the source escapes the link


@pytest.mark.parametrize(
    "name, data, expected",
    [
        ("cols.csv", b"a,b\n1,2\n", "missing column for input tokens"),
        ("neg.csv", b"input_tokens,output_tokens\n5,5\n5,-3\n", "data row 2"),
        ("text.csv", b"input_tokens,output_tokens\n5,five\n", "'five' is not a number"),
        ("empty.csv", b"", "empty"),
        ("latin1.csv", b"input_tokens,output_tokens,task\n5,5,caf\xe9\n", "not UTF-8"),
        ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8"),
    ],
)
def test_bad_upload_shows_a_message_and_keeps_planning(
    monkeypatch, store_path, name, data, expected
):
    at = fresh_app(monkeypatch, store_path)
    upload(at, name, data)
    assert not at.exception
    errors = [shown(e.value) for e in at.error]
    assert len(errors) == 1 and name in errors[0] and expected in errors[0], errors
    assert allocation(at)[COLUMN["queries"]].sum() == 2000  # the synthetic workload meanwhile


def test_too_large_upload_is_refused(monkeypatch, store_path):
    from app_pages import uploads

    monkeypatch.setattr(uploads, "MAX_WORKLOAD_BYTES", 100)
    at = fresh_app(monkeypatch, store_path)
    upload(at, "big.csv", b"input_tokens,output_tokens\n" + b"1,2\n" * 100)
    assert any("big.csv" in shown(e.value) and "limit" in shown(e.value) for e in at.error)


def test_infeasible_settings_name_the_constraint(monkeypatch, store_path):
    at = fresh_app(monkeypatch, store_path)
    at.radio(key="objective").set_value("energy").run()
    at.number_input(key="min_accuracy").set_value(99.0).run()
    assert not at.exception
    assert any(
        "No plan meets these settings" in shown(e.value) and "accuracy" in shown(e.value)
        for e in at.error
    ), problems(at)


def test_export_page_offers_three_downloads(monkeypatch, store_path):
    at = fresh_app(monkeypatch, store_path)
    at.switch_page("app_pages/export_page.py").run()
    assert not problems(at)
    labels = " | ".join(b.label for b in at.download_button)
    assert "CSV" in labels and "JSON" in labels and "HTML" in labels
    assert any("Reference catalogue" in t.value for t in at.text)


def test_measurement_upload_through_the_page(monkeypatch, store_path, shared_reference_dir):
    at = fresh_app(monkeypatch, store_path)
    at.switch_page("app_pages/measurements_page.py").run()
    data = (shared_reference_dir / "systems-sweeps.csv").read_bytes()
    at.file_uploader(key="m_upload").set_value([("systems-sweeps.csv", data, "text/csv")])
    next(b for b in at.button if b.label == "Import").click().run()
    assert not problems(at), problems(at)
    assert any(shown(s.label) == "Imported systems-sweeps.csv" for s in at.status)
    flags = [t for t in at.table if "negative_cpu_energy" in shown(str(t.value))]
    assert flags, "the import summary names the flagged rows"
    assert len(at.get("plotly_chart")) == 2  # the new rows are plotted at once
    caption = shown(at.sidebar.caption[0].value)
    assert caption.endswith("measurements") and "0 measurements" not in caption


def test_bad_measurement_upload_is_reported(monkeypatch, store_path):
    at = fresh_app(monkeypatch, store_path)
    at.switch_page("app_pages/measurements_page.py").run()
    at.file_uploader(key="m_upload").set_value([("junk.csv", b"hello\x00world", "text/csv")])
    next(b for b in at.button if b.label == "Import").click().run()
    assert not at.exception
    assert any("junk.csv" in shown(e.value) for e in at.error), [shown(e.value) for e in at.error]


def test_huge_count_is_planned_without_a_per_query_csv(monkeypatch, store_path):
    at = fresh_app(monkeypatch, store_path)
    set_cells(at, "system_table", "devices", 5000)
    upload(
        at,
        "many.csv",
        b"input_tokens,output_tokens,count,task\n"
        b"10,20,3000000,<script>alert(1)</script>\n30,40,3,=SUM(A1)\n",
    )
    assert not problems(at), problems(at)
    assert allocation(at)[COLUMN["queries"]].sum() == 3_000_003
    assert not at.get("download_button")  # no 3-million-row CSV built on a click
    assert any(
        "up to 1,000,000 queries" in shown(i.value) and "3,000,003" in shown(i.value)
        for i in at.info
    )
