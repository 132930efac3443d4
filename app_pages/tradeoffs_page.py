"""Trade-offs: the energy/accuracy frontier with baselines as points; figures against zeta."""

import streamlit as st

from app_pages import plan_state as ps
from app_pages import state
from app_pages.settings import FRONTIER_ZETAS as ZETAS
from app_pages.text import md
from planner.report import figures
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
    st.plotly_chart(
        figures.frontier_figure(frontier, baselines, plan),
        width="stretch",
        key="frontier_chart",
    )
    st.plotly_chart(figures.zeta_figure(frontier, list(ZETAS)), width="stretch", key="zeta_chart")
    table = frontier_table(frontier, baselines, ctx.fleet)
    cols = [
        c
        for c in (
            "kind",
            "name",
            "zeta",
            "facility_kwh",
            "co2e_t",
            "cost",
            "accuracy",
            "runtime_s",
            "energy_sources",
            "is_estimated",
            "violations",
        )
        if c in table.columns
    ]
    st.dataframe(table[cols], hide_index=True, width="stretch")
    with st.expander("Least energy at each accuracy floor (slower: one solve per floor)"):
        if st.button("Compute the accuracy-floor frontier", key="floor_frontier"):
            with st.status("Solving 11 accuracy floors…", expanded=False) as status:
                plans, skipped = ctx.bundle.accuracy_frontier(11)
                status.update(label=f"{len(plans)} plans", state="complete")
            st.plotly_chart(
                figures.frontier_figure(plans, baselines, plan),
                width="stretch",
                key="floor_chart",
            )
            for reason in skipped:
                st.caption(md(reason))


page()
