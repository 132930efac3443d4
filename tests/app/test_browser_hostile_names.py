"""Names holding HTML and markdown, in real Chromium: plain text on every page and in the
exported report, never a link.

One server on a store imported from a paper-format file whose model and system names are
links (``hostile_store``), started without ``--server.address`` so that
``.streamlit/config.toml`` decides where it listens (127.0.0.1 only).  The Planner plans the
LLM it has a score for and asks for the unknown one's; scores are typed into the table, and
then every page and the downloaded HTML report are searched for an ``<a>`` element pointing
where the data pointed.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from app_pages.plan_state import FLEET_SECTION
from app_pages.text import WORD_JOINER
from tests.app.hostile_store import ARMS, EVIL_DOMAIN, LINK_MODEL, LINK_SYSTEM, hostile_store
from tests.app.launch import (
    LOOPBACK_HEX,
    PROJECT_ROOT,
    listening_addresses,
    running_app,
    wait_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = PROJECT_ROOT / "artifacts" / "screenshots"
TIMEOUT_MS = 120_000
ROW_PX = 35  # the data editor's header and row height (Streamlit's default)
DATA_LINKS = f"""() => Array.from(document.querySelectorAll('a'))
    .map(a => a.outerHTML).filter(h => h.includes('{EVIL_DOMAIN}'))"""
CHART_TEXTS = """() => Array.from(document.querySelectorAll('.js-plotly-plot text'))
    .map(t => t.textContent)"""


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"hostile-{name}.png"), full_page=True)


def no_data_links(page, where: str) -> None:
    assert page.evaluate(DATA_LINKS) == [], f"{where}: a link from data"
    assert page.locator('[data-testid="stException"]').count() == 0, where


def charts_show(page, text: str) -> bool:
    return any(text in t for t in page.evaluate(CHART_TEXTS))


def go_to(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    page.wait_for_selector(f'h1:has-text("{title}")', timeout=TIMEOUT_MS)
    wait_idle(page, TIMEOUT_MS)


def settled_box(page, locator, timeout_ms: int = 10_000) -> dict:
    """``locator``'s bounding box once it has stopped moving (an expander opens animated: a
    click aimed at a row while it grows lands elsewhere)."""
    box = locator.bounding_box()
    for _ in range(timeout_ms // 100):
        page.wait_for_timeout(100)
        now = locator.bounding_box()
        if now == box:
            return now
        box = now
    raise AssertionError(f"{locator} kept moving for {timeout_ms} ms")


def enter_accuracy_scores(page) -> None:
    """55 in every LLM's A_K cell, typed as a user would: the LLM no default covers needs
    one (the rows' order is the fleet table's business, so every row gets one).  Keys only
    after a click on the row: Left to its first column (the LLM), whatever the grid's
    scroll, then Right past "Plan it" to A_K."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page.locator('[data-testid="stExpander"] summary', has_text=FLEET_SECTION).click()
    editor = page.locator('[data-testid="stExpander"] [data-testid="stDataFrame"]').first
    editor.wait_for(timeout=TIMEOUT_MS)
    unscored = page.locator('[data-testid="stAlert"]', has_text="No accuracy score")
    for attempt in (1, 2, 3):
        for row in range(1, len({model for model, _ in ARMS}) + 1):
            wait_idle(page, TIMEOUT_MS)
            box = settled_box(page, editor)
            page.mouse.click(box["x"] + 20, box["y"] + row * ROW_PX + ROW_PX / 2)
            for key in ("ArrowLeft",) * 3 + ("ArrowRight", "ArrowRight", "Enter"):
                page.keyboard.press(key)
            page.wait_for_timeout(300)  # the cell's editor opens
            page.keyboard.type("55")
            page.keyboard.press("Enter")
            page.wait_for_timeout(300)  # the edit reaches the server: a rerun starts
        try:  # the scores reached the plan once no LLM is left out for want of one
            unscored.first.wait_for(state="detached", timeout=30_000)
            break
        except PlaywrightTimeout:
            # a click while the grid (a canvas) is still starting up selects no cell, so
            # the keys that follow type nowhere; the rows are typed again
            if attempt == 3:
                raise
            print(f"accuracy scores: still asked for after attempt {attempt}; typing again")
    page.get_by_text("Against every baseline").first.wait_for(timeout=TIMEOUT_MS)
    wait_idle(page, TIMEOUT_MS)


class Anchors(HTMLParser):
    """The ``<a>`` start tags of a page (script bodies are not markup: not parsed)."""

    def __init__(self):
        super().__init__()
        self.anchors: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.anchors.append(dict(attrs))


def check_report(browser, html: str, store_folder: Path) -> None:
    parser = Anchors()
    parser.feed(html)
    assert parser.anchors == []
    assert not re.search(rf"<a\s[^>]*{re.escape(EVIL_DOMAIN)}", html)
    assert str(store_folder) not in html and "store store.duckdb" in html
    report = browser.new_page(viewport={"width": 1500, "height": 2000})
    report.set_content(html, wait_until="load", timeout=TIMEOUT_MS)
    report.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 5",
        timeout=TIMEOUT_MS,
    )
    no_data_links(report, "the HTML report")
    assert charts_show(report, LINK_SYSTEM)  # drawn, as text
    assert LINK_SYSTEM in report.locator("body").inner_text()  # in its tables, as text
    shot(report, "05-report")
    report.close()


def test_hostile_names_are_plain_text_on_every_page_and_in_the_report(browser, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    db = hostile_store(folder / "store.duckdb")
    with running_app(db, tmp_path / "logs", address=None) as app:
        listening = listening_addresses(int(app.url.rsplit(":", 1)[1]))
        if Path("/proc/net/tcp").exists():  # config.toml's address: loopback only
            assert listening and listening <= LOOPBACK_HEX, listening
        page = browser.new_page(viewport={"width": 1500, "height": 2000})
        page.goto(app.url)
        alert = page.locator('[data-testid="stAlert"]', has_text="No accuracy score")
        alert.first.wait_for(timeout=TIMEOUT_MS)
        wait_idle(page, TIMEOUT_MS)
        # the name as it is (word joiners, invisible, keep its URLs from being autolinked)
        assert LINK_MODEL in alert.first.inner_text().replace(WORD_JOINER, "")
        no_data_links(page, "Planner asking for a score")

        enter_accuracy_scores(page)
        assert page.get_by_text("Fits: Fits of the measurements in store store.duckdb").count()
        assert alert.count() == 0  # the typed score reached the plan: no LLM is left out
        assert charts_show(page, f"{LINK_MODEL} · {LINK_SYSTEM}")  # and the LLM is planned
        no_data_links(page, "Planner")
        assert charts_show(page, LINK_SYSTEM)  # the allocation's and comparison's labels
        shot(page, "01-planner")

        for title, name in (
            ("Models", "02-models"),
            ("Measurements", "03-measurements"),
            ("Trade-offs", "04-tradeoffs"),
        ):
            go_to(page, title)
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=TIMEOUT_MS)
            wait_idle(page, TIMEOUT_MS)
            no_data_links(page, title)
            if title == "Measurements":  # legends name every (LLM, system)
                assert charts_show(page, f"{LINK_MODEL} · {LINK_SYSTEM}")
            shot(page, name)

        go_to(page, "Export")
        no_data_links(page, "Export")
        with page.expect_download(timeout=TIMEOUT_MS) as info:
            page.get_by_role("button", name=re.compile("HTML report")).click()
        check_report(browser, Path(info.value.path()).read_text(), folder)
        page.close()
