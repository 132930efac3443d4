"""The Planner page below its workload chart: objective and fleet controls, the plan, its
headline figures against every baseline, the allocation and its download.

Imported by the page after the workload chart is out: pandas and the fits load with this
module and the solver with the first plan, while the browser fetches the chart library.
"""

import streamlit as st

from app_pages import plan_state as ps
from app_pages import state
from app_pages.text import md
from planner.fleet.spec import ACCURACY_CITATION
from planner.fleet.table import models_and_systems
from planner.report import figures, tables


def objective_controls() -> None:
    st.radio(
        "Objective",
        ("paper", "energy"),
        key="objective",
        horizontal=True,
        format_func={
            "paper": "Balance energy and accuracy (zeta)",
            "energy": "Least energy above an accuracy floor",
        }.get,
    )
    if st.session_state["objective"] == "paper":
        st.slider("zeta (0: accuracy only, 1: energy only)", 0.0, 1.0, step=0.05, key="zeta")
    else:
        st.number_input(
            "Accuracy floor (token-weighted A_K, %)", 0.0, 100.0, step=0.5, key="min_accuracy"
        )


def fleet_controls() -> None:
    rs = state.report_set()
    with st.expander("Fleet, facility and accuracy scores", expanded=False):
        cols = st.columns(3)
        cols[0].number_input("Devices per system", 1, 100_000, key="devices")
        cols[1].number_input("Window (h)", 0.5, 8760.0, step=1.0, key="window_h")
        cols[2].number_input(
            "Min share fraction",
            0.0,
            1.0,
            step=0.05,
            key="min_share_fraction",
            help="Each LLM given a share serves at least N × share × this.",
        )
        cols = st.columns(3)
        cols[0].number_input("PUE", 1.0, 3.0, step=0.05, key="pue")
        cols[1].number_input("gCO2e per kWh", 0.0, 2000.0, step=10.0, key="carbon_g_per_kwh")
        cols[2].number_input("Price per kWh", 0.0, 10.0, step=0.01, key="price_per_kwh")
        form = state.current_form()
        reports = rs.reports if form is None else rs.of_form(form)
        models, _ = models_and_systems(reports)
        edited = st.data_editor(
            ps.accuracy_table(models, rs),
            key="accuracy_editor",
            hide_index=True,
            disabled=["model"],
            num_rows="fixed",
            column_config={
                "accuracy": st.column_config.NumberColumn(
                    "A_K (%)", min_value=0.0, max_value=100.0, format="%.2f"
                ),
                "share": st.column_config.NumberColumn(
                    "share γ (blank: none)", min_value=0.0, max_value=1.0, format="%.3f"
                ),
                "devices_per_instance": st.column_config.NumberColumn(
                    "devices / instance", min_value=1, step=1
                ),
            },
        )
        st.session_state["accuracy_table"] = edited
        st.caption(f"A_K defaults: {ACCURACY_CITATION}.")


def headline(ctx, plan) -> dict:
    from planner.report.summary import summarize

    baselines = ctx.baseline_plans()
    if st.session_state.get("compare_to") not in baselines:
        st.session_state["compare_to"] = next(iter(baselines))
    st.selectbox(
        "Compare with", list(baselines), key="compare_to", format_func=lambda k: baselines[k].name
    )
    plan_summary = summarize(plan, ctx.fleet)
    base_summary = summarize(baselines[st.session_state["compare_to"]], ctx.fleet)
    for col, metric in zip(st.columns(5), tables.headline(plan_summary, base_summary)):
        col.metric(**metric)
    st.caption(
        f"{plan.name}: {plan.status}, solved in {plan.solve_seconds:.2f} s. "
        + tables.energy_note(plan_summary)
    )
    if plan_summary["is_estimated"]:
        st.warning("Part of this plan's energy comes from ESTIMATED figures, not measurements.")
    if tables.mixes_energy_kinds(ctx.arms):
        st.warning(
            "These arms mix GPU-only energy fits (the paper's published form) with "
            "GPU + CPU energy fits: their energies are not like for like. Choose one "
            "model form in the sidebar to compare like with like."
        )
    return baselines


def results(ctx) -> None:
    from planner.report import exports
    from planner.report.summary import compare

    plan = ps.solve(ctx)
    if plan is None:
        return
    baselines = headline(ctx, plan)
    st.plotly_chart(
        figures.allocation_figure(plan, ctx.estimated), width="stretch", key="allocation_chart"
    )
    st.dataframe(tables.allocation_table(plan), hide_index=True, width="stretch")
    if too_large := exports.csv_too_large(plan):
        st.info(too_large)
    else:
        st.download_button(
            "Download the allocation (CSV, one row per query)",
            lambda: exports.assignments_csv(plan),
            file_name="allocation.csv",
            mime="text/csv",
            key="allocation_csv",
        )
    st.subheader("Against every baseline")
    st.plotly_chart(figures.comparison_figure(plan, baselines), width="stretch")
    st.dataframe(
        tables.comparison_table(compare(plan, baselines, ctx.fleet)),
        hide_index=True,
        width="stretch",
    )


def plan_panel() -> None:
    ctx = ps.plan_context()
    if ctx is None:
        return
    st.caption(
        f"Fits: {md(ctx.rs.label)} · {len(ctx.arms)} arms · "
        f"workload {md(tables.workload_caption(ctx.workload))}"
    )
    results(ctx)
