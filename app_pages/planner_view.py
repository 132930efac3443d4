"""The Planner page below its workload chart: objective and fleet controls (a table per LLM
and per system), the plan, its headline figures against every baseline with their caveats
right under them, the allocation and its download.

Imported by the page after the workload chart is out: pandas and the fits load with this
module and the solver with the first plan, while the browser fetches the chart library.
"""

import re

import streamlit as st

from app_pages import caveats_view, display, downloads, state
from app_pages import plan_state as ps
from app_pages.text import md
from planner.fleet.registry import canonical_llm
from planner.fleet.spec import ACCURACY_CITATION, Facility
from planner.fleet.table import models_and_systems
from planner.report import figures, tables
from planner.report.units import NOTHING


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


def _source_names(reports) -> dict[str, str]:
    """Per canonical LLM, the other names the fits use for it (the registry's one LLM)."""
    names: dict[str, set[str]] = {}
    for r in reports:
        names.setdefault(canonical_llm(r.model), set()).add(r.model)
    return {llm: ", ".join(sorted(n - {llm})) for llm, n in names.items()}


def llm_editor(reports, rs) -> None:
    models, _ = models_and_systems(reports)
    table = ps.accuracy_table(models, rs)
    aliases = _source_names(reports)
    shown = table.assign(names=[aliases.get(m, "") or NOTHING for m in table["model"]])
    edited = st.data_editor(
        shown,
        key="accuracy_editor",
        hide_index=True,
        disabled=["model", "names"],
        num_rows="fixed",
        width="stretch",
        placeholder=NOTHING,
        column_order=["model", "include", "accuracy", "share", "devices_per_instance", "names"],
        column_config={
            "model": st.column_config.TextColumn("LLM", width="medium"),
            "include": st.column_config.CheckboxColumn(
                "Plan it", help="Untick to leave this LLM out of the plan.", width="small"
            ),
            "accuracy": st.column_config.NumberColumn(
                "A_K (%)",
                help="Accuracy score in percent; blank: the LLM is left out until given one.",
                min_value=0.0,
                max_value=100.0,
                format="%.2f",
                width="small",
            ),
            "share": st.column_config.NumberColumn(
                "Share γ",
                help="The LLM's minimum fraction of all queries (blank: none).",
                min_value=0.0,
                max_value=1.0,
                format="%.3f",
                width="small",
            ),
            "devices_per_instance": st.column_config.NumberColumn(
                "Devices per instance", min_value=1, step=1, format="%d", width="medium"
            ),
            "names": st.column_config.TextColumn(
                "Also named in the data",
                help="How the measurement files spell this LLM.",
                width="large",
            ),
        },
    )
    st.session_state["accuracy_table"] = edited.drop(columns="names")
    st.caption(f"A_K defaults: {md(ACCURACY_CITATION)}; none is invented for another LLM.")


def system_editor(reports) -> None:
    _, systems = models_and_systems(reports)
    edited = st.data_editor(
        ps.systems_table(systems),
        key="system_editor",
        hide_index=True,
        disabled=["system"],
        num_rows="fixed",
        width="stretch",
        placeholder=NOTHING,
        column_config={
            "system": st.column_config.TextColumn("System", width="medium"),
            "include": st.column_config.CheckboxColumn(
                "Plan it", help="Untick to leave this system out of the plan.", width="small"
            ),
            "devices": st.column_config.NumberColumn(
                "Devices",
                help="Accelerators (or machines) of this system; blank: no capacity limit.",
                min_value=0,
                max_value=100_000,
                step=1,
                format="%d",
                width="small",
            ),
            "window_h": st.column_config.NumberColumn(
                "Window (h)",
                help="Hours the devices serve this workload in.",
                min_value=0.1,
                max_value=8760.0,
                format="%g",
                width="small",
            ),
        },
    )
    st.session_state["system_table"] = edited


def fleet_controls() -> None:
    rs = state.report_set()
    form = state.current_form()
    reports = rs.reports if form is None else rs.of_form(form)
    with st.expander(ps.FLEET_SECTION, expanded=False):
        st.markdown("**LLMs**")  # each table the expander's full width: no column cut off
        llm_editor(reports, rs)
        st.markdown("**Systems**")
        system_editor(reports)
        cols = st.columns(5)
        cols[0].number_input(
            "Min share fraction",
            0.0,
            1.0,
            step=0.05,
            key="min_share_fraction",
            help="Each LLM given a share serves at least N × share × this.",
        )
        cols[1].number_input("PUE", 1.0, 3.0, step=0.05, key="pue")
        cols[2].number_input(
            "Grid carbon (gCO2e/kWh)", 0.0, 2000.0, step=10.0, key="carbon_g_per_kwh"
        )
        cols[3].number_input("Price per kWh", 0.0, 10.0, step=0.01, key="price_per_kwh")
        cols[4].text_input(
            "Currency",
            key="currency",
            max_chars=12,
            placeholder=Facility.currency,
            help=f"Of the price, as costs are labelled (blank: {Facility.currency}).",
        )


def _metric(metric: dict) -> dict:
    """st.metric's arguments: the help text made literal (it names the baseline), and a
    change that rounds to nothing drawn without an arrow or colour."""
    out = {**metric, "help": md(metric["help"])}
    if out.get("delta") and not re.search(r"[1-9]", str(out["delta"])):
        out.update(delta_color="off", delta_arrow="off")
    return out


def headline(ctx, plan) -> dict:
    from planner.report.summary import summarize

    baselines = ctx.baseline_plans()
    if st.session_state.get("compare_to") not in baselines:
        st.session_state["compare_to"] = next(iter(baselines))
    st.selectbox(
        "Compare with", list(baselines), key="compare_to", format_func=lambda k: baselines[k].name
    )
    against = baselines[st.session_state["compare_to"]]
    plan_summary, base_summary = summarize(plan, ctx.fleet), summarize(against, ctx.fleet)
    for col, metric in zip(st.columns(5), tables.headline(plan_summary, base_summary)):
        col.metric(**_metric(metric))
    st.caption(
        f"{md(plan.name)}: {md(plan.status)}, solved in {plan.solve_seconds:.2f} s. "
        + md(tables.energy_note(plan_summary))
    )
    caveats = caveats_view.plan_caveats(plan, against, skip=ctx.said)
    caveats_view.show(caveats, "Read these figures with care:")
    if tables.mixes_energy_kinds(ctx.arms) and not caveats_view.mixes_bases(plan, against):
        st.warning(
            "These arms' energy measures different things (gpu: GPU only; total: GPU + CPU; "
            "cpu: CPU only): their energies are not like for like."
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
        figures.allocation_figure(
            *display.charted_by_llm(plan, ctx.estimated), source=ctx.chart_source
        ),
        width="stretch",
        key="allocation_chart",
    )
    llm = tables.column_names()["model"]
    display.table(display.llm_names(tables.allocation_table(plan), llm))
    if too_large := exports.csv_too_large(plan):
        st.info(too_large)
    else:
        downloads.allocation_button(
            plan,
            "Download the allocation (CSV, one row per query)",
            file_name="allocation.csv",
            key="allocation_csv",
        )
    st.subheader("Against every baseline")
    st.plotly_chart(
        figures.comparison_figure(
            plan, baselines, source=ctx.chart_source, highlight=st.session_state["compare_to"]
        ),
        width="stretch",
    )
    compared = compare(plan, baselines, ctx.fleet)
    display.table(tables.comparison_table(compared, ctx.fleet.facility.currency))


def plan_panel() -> None:
    ctx = ps.plan_context()
    if ctx is None:
        return
    left_out = getattr(ctx.arms, "left_out", [])
    excluded = f" ({len(left_out)} left out in the fleet tables)" if left_out else ""
    st.caption(
        f"Fits: {md(ctx.rs.label)} · {len(ctx.arms)} arm{'' if len(ctx.arms) == 1 else 's'}"
        f"{excluded} · "
        f"workload {md(tables.workload_caption(ctx.workload))}"
    )
    results(ctx)
