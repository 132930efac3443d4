"""The Capacity page in a real browser: `streamlit run` on localhost, Playwright driving
Debian's Chromium (``tests/app/launch.py``).

Open the app, go to Capacity by the sidebar, see the default plan (a day of diurnal load,
peak 20 requests/s, hourly slots) with its totals, caveats and charts; ask for a p90 ITL
no arm reaches and see the planner's message; upload an hourly grid and plan for carbon;
limit B200 GPUs so that baselines become infeasible and are marked; upload a trace with
arrival times and plan it; download the capacity report and open it from the file.  Screenshots: artifacts/screenshots/capacity-*.png.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.app.launch import PROJECT_ROOT, running_app, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = PROJECT_ROOT / "artifacts" / "screenshots"
CHARTS = '[data-testid="stPlotlyChart"]'


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"capacity-{name}.png"), full_page=True)


def no_traceback(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def set_number(page, label: str, value: str) -> None:
    """Type ``value`` into the number input labelled ``label`` and let the page rerun."""
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    time.sleep(0.3)  # the rerun starts after the input's debounce
    wait_idle(page)


def grid_csv(path: Path) -> Path:
    """A daily grid: clean and cheap at night (solar-free but wind), dirty in the evening."""
    rows = ["hour,gco2e_per_kwh,price_per_kwh"]
    rows += [f"{h},{200 + 15 * h},{0.08 + 0.01 * h:.2f}" for h in range(24)]
    path.write_text("\n".join(rows) + "\n")
    return path


def timed_workload_csv(path: Path) -> Path:
    """About two and a half hours of requests with arrival times (seconds), one every 4 s
    for two hours, then one a second."""
    rows = ["arrival_s,input_tokens,output_tokens"]
    t = 0.0
    for i in range(3000):
        t += 4.0 if not 7200 <= t < 10800 else 1.0
        rows.append(f"{t:.1f},{50 + (i * 37) % 400},{80 + (i * 53) % 600}")
    path.write_text("\n".join(rows) + "\n")
    return path


def open_capacity(page, url: str) -> float:
    page.goto(url)
    page.wait_for_selector('[data-testid="stSidebarNav"]', timeout=60_000)
    wait_idle(page)
    started = time.monotonic()
    page.locator('[data-testid="stSidebarNav"] a', has_text="Capacity").first.click()
    page.wait_for_selector('h1:has-text("Capacity")', timeout=60_000)
    page.locator('[data-testid="stMetricValue"]').first.wait_for(timeout=60_000)
    page.locator(f"{CHARTS} .main-svg").nth(4).wait_for(timeout=60_000)
    wait_idle(page)
    return time.monotonic() - started


def test_capacity_page_in_chromium(browser, tmp_path):
    with running_app(tmp_path / "store.duckdb", tmp_path / "logs") as app:
        page = browser.new_page(viewport={"width": 1500, "height": 3900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        seconds = open_capacity(page, app.url)
        print(f"capacity default view drawn {seconds:.1f} s after the click")
        no_traceback(page)
        metrics = page.locator('[data-testid="stMetricLabel"]').all_inner_texts()
        assert [m.strip() for m in metrics][:4] == [
            "Energy (kWh)",
            "Active energy (kWh)",
            "Idle energy (kWh)",
            "GPU-hours (h)",
        ]
        assert page.get_by_text("Read these figures with care").count() >= 1
        assert page.locator(CHARTS).count() == 5  # load, instances, energy, grid, baselines
        shot(page, "01-default")

        set_number(page, "p90 ITL target (ms)", "1")
        alert = page.locator('[data-testid="stAlert"]', has_text="p90 ITL 1 ms")
        alert.first.wait_for(timeout=60_000)
        assert "below what any arm reaches" in alert.first.inner_text()
        no_traceback(page)
        shot(page, "02-infeasible-target")
        set_number(page, "p90 ITL target (ms)", "30")
        page.locator(f"{CHARTS} .main-svg").nth(4).wait_for(timeout=60_000)

        grid = grid_csv(tmp_path / "daily-grid.csv")
        page.set_input_files('[data-testid="stFileUploaderDropzoneInput"]', str(grid))
        page.get_by_text("Carbon and price per hour from daily-grid.csv").wait_for(timeout=60_000)
        page.get_by_text("carbon", exact=True).click()
        wait_idle(page)
        page.get_by_text(re.compile("objective: carbon")).first.wait_for(timeout=60_000)
        page.get_by_text("Grid: carbon intensity and electricity price per slot").first.wait_for(
            timeout=60_000
        )
        no_traceback(page)
        shot(page, "03-grid-carbon")

        page.get_by_text("No accuracy term", exact=True).click()
        wait_idle(page)
        set_number(page, "Requests per second", "100")
        page.get_by_text("GPUs per system: availability limit").click()
        set_number(page, "B200: most GPUs (0: no limit)", "2")
        warning = page.locator('[data-testid="stAlert"]', has_text="Infeasible under this plan")
        warning.first.wait_for(timeout=60_000)
        no_traceback(page)
        page.locator(CHARTS).nth(4).scroll_into_view_if_needed()
        shot(page, "04-infeasible-baselines")

        trace = timed_workload_csv(tmp_path / "timed-trace.csv")
        page.get_by_text("Upload a workload with arrival times", exact=True).click()
        wait_idle(page)
        inputs = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
        from playwright.sync_api import expect

        # the workload's, then the grid's: the rerun that draws the first may still be under
        # way when the page looks idle (seen on a fresh CI machine), so wait for it
        expect(inputs).to_have_count(2, timeout=60_000)
        inputs.nth(0).set_input_files(str(trace))
        page.get_by_text("Planning timed-trace.csv: 3,000 requests").wait_for(timeout=60_000)
        page.get_by_text("Load: timed-trace.csv").first.wait_for(timeout=60_000)
        wait_idle(page)
        no_traceback(page)
        shot(page, "05-uploaded-workload")

        saved = tmp_path / "capacity.html"
        with page.expect_download(timeout=60_000) as info:
            page.get_by_role("button", name=re.compile("Capacity report")).click()
        info.value.save_as(saved)
        text = saved.read_text()
        assert "<h2>Capacity plan</h2>" in text and "<script src=" not in text
        report = browser.new_page(viewport={"width": 1300, "height": 1600})
        report.on("pageerror", lambda exc: errors.append(str(exc)))
        report.goto(saved.resolve().as_uri())
        report.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
        report.screenshot(path=str(SHOTS / "capacity-06-report.png"), full_page=True)
        report.close()
        assert not errors, errors
