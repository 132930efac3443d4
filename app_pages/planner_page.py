"""Planner: a workload in, the optimal allocation and its figures against every baseline out.

The workload chart is drawn first, from numpy alone; pandas, the fits and the solver load
after it (``planner_view``), which then fills the fleet's tables in above the two columns
(full width, so that no column of theirs is cut off).  Until the process has loaded the solver, the page then pauses
briefly, so that the browser fetches Streamlit's chart library from this same Python process
before the imports and the solve that follow hold the GIL.  PLANNER_FIRST_CHART_PAUSE_S=0
turns the pause off (the AppTest suite has no browser to wait for).
"""

import os
import sys
import time

import streamlit as st

from app_pages import settings, state
from app_pages.imports import collector_paused
from app_pages.text import md
from planner.workload.histogram import token_histogram


def upload_controls() -> None:
    with collector_paused():
        from app_pages import plan_state as ps
        from app_pages import uploads

    file = st.file_uploader(
        "CSV, TSV, JSONL, JSON or Parquet with input/output token counts",
        type=list(uploads.WORKLOAD_TYPES),
        key="workload_file",
        help=f"Up to {uploads.MAX_WORKLOAD_BYTES // uploads.MB} MB",
    )
    ps.handle_upload(file)
    if st.session_state.get("upload_error"):
        st.error(md(st.session_state["upload_error"]))
    if "uploaded_workload" not in st.session_state:
        st.info("No workload uploaded yet: planning the synthetic one meanwhile.")
    else:
        st.caption(
            f"Planning {md(st.session_state['uploaded_workload'].name)}; upload "
            "another file to replace it."
        )


def workload_controls() -> None:
    st.radio(
        "Workload",
        (settings.WORKLOAD_SYNTHETIC, settings.WORKLOAD_UPLOAD),
        key="workload_choice",
        horizontal=True,
    )
    if st.session_state["workload_choice"] == settings.WORKLOAD_UPLOAD:
        upload_controls()
    else:
        cols = st.columns(3)
        cols[0].selectbox("Shape", settings.SYNTHETIC_KINDS, key="workload_kind")
        cols[1].number_input("Queries", 1, 500_000, step=1000, key="workload_n")
        cols[2].number_input("Seed", 0, 1_000_000, key="workload_seed")
    st.plotly_chart(
        token_histogram(*settings.chosen_tokens()), width="stretch", key="workload_chart"
    )


FIRST_CHART_PAUSE_S = float(os.environ.get("PLANNER_FIRST_CHART_PAUSE_S", "0.3"))


def pause_after_first_chart() -> None:
    """While this process has not loaded the solver yet (what holds the GIL), let the server
    hand the browser the chart library first."""
    if "planner.routing.optimize" not in sys.modules:
        time.sleep(max(FIRST_CHART_PAUSE_S, 0.0))


@state.guarded
def page() -> None:
    st.title("Planner")
    settings.init_defaults()
    fleet = st.container()  # full width (its tables' columns fit), filled after the chart
    left, right = st.columns([1, 2.2], gap="large")
    with left:
        workload_controls()
    pause_after_first_chart()
    with collector_paused():
        from app_pages import planner_view as view
    with fleet:
        view.fleet_controls()
    with left:
        view.objective_controls()
        view.serving_controls()
    with right:
        view.plan_panel()


page()
