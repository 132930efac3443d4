"""Export: the per-query allocation (CSV), the plan summary (JSON), an HTML report."""

import streamlit as st

from app_pages import downloads, state
from app_pages import plan_state as ps
from app_pages.settings import FRONTIER_ZETAS as ZETAS
from app_pages.text import md
from planner.report import exports


@state.guarded
def page() -> None:
    st.title("Export")
    ctx = ps.plan_context()
    if ctx is None:
        return
    plan = ps.solve(ctx)
    if plan is None:
        return
    baselines = ctx.baseline_plans()
    setup = ctx.setup()
    stem = f"plan-{ctx.workload.name}".replace(" ", "_")
    st.caption(
        f"{md(plan.name)} for {md(ctx.workload.name)} ({plan.n_queries:,} queries); "
        f"fits: {md(ctx.rs.label)}."
    )
    if too_large := exports.csv_too_large(plan):
        st.info(too_large)
    else:
        downloads.allocation_button(
            plan,
            "Allocation CSV (one row per query)",
            file_name=f"{stem}.csv",
            key="export_csv",
            icon=":material/table:",
        )
    st.download_button(
        "Plan summary JSON (plan, baselines, assumptions, sources)",
        lambda: exports.summary_json(plan, baselines, setup),
        file_name=f"{stem}.json",
        mime="application/json",
        key="export_json",
        icon=":material/data_object:",
        on_click="ignore",  # a download never reruns the page (the callable stays valid)
    )
    include_frontier = st.checkbox(
        "Include the frontier over zeta in the report", value=True, key="export_frontier"
    )
    st.download_button(
        "HTML report (self-contained, for stakeholders)",
        lambda: exports.html_bytes(  # the frontier's solves run on the click, not before
            plan,
            baselines,
            setup,
            ctx.bundle.zeta_frontier(ZETAS) if include_frontier else None,
            list(ZETAS) if include_frontier else None,
        ),
        file_name=f"{stem}.html",
        mime="text/html",
        key="export_html",
        icon=":material/description:",
        on_click="ignore",
    )
    st.subheader("Data sources")
    st.text("\n".join(exports.data_sources(plan, setup)))


page()
