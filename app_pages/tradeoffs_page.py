"""Trade-offs: the energy/accuracy frontier with baselines as points; figures against zeta."""

import streamlit as st

from app_pages import caveats_view, display, state
from app_pages import plan_state as ps
from app_pages.settings import FRONTIER_ZETAS as ZETAS
from app_pages.text import md
from planner.report import figures, tables
from planner.report.summary import frontier_table


@state.guarded
def page() -> None:
    st.title("Trade-offs")
    ctx = ps.plan_context()
    if ctx is None:
        return
    plan = ps.solve(ctx)
    st.caption(
        f"Fits: {md(ctx.rs.label)} · {len(ctx.arms)} arms · workload {md(ctx.workload.name)} "
        f"({ctx.workload.n_queries:,} queries). Each frontier point is an optimal plan "
        "for one zeta; baselines are the grey diamonds."
    )
    with st.status(f"Solving {len(ZETAS)} plans over zeta", expanded=False) as status:
        frontier = ctx.bundle.zeta_frontier(ZETAS)
        baselines = ctx.baseline_plans()
        status.update(label=f"Frontier over zeta: {len(ZETAS)} optimal plans", state="complete")
    caveats_view.show_frontier(frontier, skip=ctx.said)
    st.plotly_chart(
        figures.frontier_figure(frontier, baselines, plan, source=ctx.chart_source),
        width="stretch",
        key="frontier_chart",
    )
    st.plotly_chart(
        figures.zeta_figure(frontier, list(ZETAS), source=ctx.chart_source),
        width="stretch",
        key="zeta_chart",
    )
    table = tables.frontier_view(
        frontier_table(frontier, baselines, ctx.fleet), ctx.fleet.facility.currency
    )
    display.table(table)
    with st.expander("Least energy at each accuracy floor (slower: one solve per floor)"):
        if st.button("Compute the accuracy-floor frontier", key="floor_frontier"):
            with st.status("Solving 11 accuracy floors…", expanded=False) as status:
                plans, skipped = ctx.bundle.accuracy_frontier(11)
                status.update(label=f"{len(plans)} plans", state="complete")
            st.plotly_chart(
                figures.frontier_figure(plans, baselines, plan, source=ctx.chart_source),
                width="stretch",
                key="floor_chart",
            )
            caveats_view.show_frontier(plans, caveats_view.FLOOR, skip=ctx.said)
            for reason in skipped:
                st.caption(md(reason))


page()
