"""The Planner page below its workload chart: objective and fleet controls (a table per LLM
and per system), the plan, its headline figures against every baseline with their caveats
right under them, the allocation and its download.

Imported by the page after the workload chart is out: pandas and the fits load with this
module and the solver with the first plan, while the browser fetches the chart library.
"""

import dataclasses
import re

import streamlit as st

from app_pages import caveats_view, display, downloads, state
from app_pages import plan_state as ps
from app_pages.text import md
from planner.fleet.registry import canonical_llm, lookup
from planner.fleet.spec import ACCURACY_CITATION, Facility
from planner.fleet.table import models_and_systems
from planner.report import figures, tables
from planner.report.units import J_PER_KWH, NOTHING, number


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


def serving_controls() -> None:
    """The serving arms' settings: the task whose prompt mix they were measured on, and the
    ITL p90 target that picks each setup's batch."""
    rs = state.report_set()
    if not rs.is_serving:
        return
    tasks = rs.serving_tasks()
    if st.session_state.get("serving_task") not in tasks:
        st.session_state["serving_task"] = tasks[0]
    st.selectbox(
        "Serving task (the prompt mix the figures were measured on)",
        tasks,
        key="serving_task",
        help="Energy per output token includes the prompt (prefill) cost of this task's "
        "prompt mix: the serving data have no per-request input lengths.",
    )
    st.number_input(
        "ITL p90 target (ms; blank: none)",
        min_value=1.0,
        max_value=10_000.0,
        step=5.0,
        key="itl_ms_p90_max",
        help="Each serving setup runs at the batch of least energy per token whose p90 "
        "inter-token latency meets this; blank: at its largest measured batch (the least "
        "energy per token measured, at the longest latency).",
    )


def _accuracy_sources(models) -> str:
    """Where the registry's default A_K of these LLMs come from (one line per source)."""
    by_source: dict[str, list[str]] = {}
    for model in models:
        info = lookup(model)
        if info is not None and info.accuracy is not None:
            by_source.setdefault(info.accuracy_source or "unknown source", []).append(info.name)
    return "\n".join(f"- {', '.join(names)}: {source}" for source, names in by_source.items())


def llm_editor(reports, rs) -> None:
    models, _ = models_and_systems(reports)
    table = ps.accuracy_table(models, rs)
    aliases = _source_names(reports)
    shown = table.assign(names=[aliases.get(m, "") or NOTHING for m in table["model"]])
    # a serving setup's GPUs per instance are those it was measured on: not editable
    order = ["model", "include", "accuracy", "share", "devices_per_instance", "names"]
    if rs.is_serving:
        order.remove("devices_per_instance")
    edited = st.data_editor(
        shown,
        key="accuracy_editor",
        hide_index=True,
        disabled=["model", "names"],
        num_rows="fixed",
        width="stretch",
        placeholder=NOTHING,
        column_order=order,
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
    if not rs.is_serving:
        st.caption(f"A_K defaults: {md(ACCURACY_CITATION)}; none is invented for another LLM.")
        return
    st.caption(
        "GPUs per instance are each serving setup's, as measured. A_K defaults come from "
        "the sources below; an LLM without one is left out until you give it a score "
        "(none is invented)."
    )
    sources = _accuracy_sources(table["model"])
    if sources:
        with st.expander("Where the A_K defaults come from"):
            st.markdown(md(sources))


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
    form = None if rs.is_serving else state.current_form()
    reports = ps.named_arms(rs, form)
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
    if plan.idle is not None and len(plan.idle):
        energy_split(ctx, plan)
    caveats = caveats_view.plan_caveats(plan, against, skip=ctx.said)
    caveats_view.show(caveats, "Read these figures with care:")
    if tables.mixes_energy_kinds(ctx.arms) and not caveats_view.mixes_bases(plan, against):
        st.warning(
            "These arms' energy measures different things (gpu: GPU only; total: GPU + CPU; "
            "cpu: CPU only): their energies are not like for like."
        )
    return baselines


IDLE_HEADERS = {
    "system": "System",
    "gpus": "GPUs provisioned",
    "window_h": "Window (h)",
    "busy_gpu_hours": "Busy GPU-hours",
    "idle_gpu_hours": "Idle GPU-hours",
    "idle_power_w": "Idle power per GPU (W)",
    "idle_kwh": "Idle energy (kWh)",
    "provisioning": "GPUs counted",
    "idle_source": "Idle power from",
}


def energy_split(ctx, plan) -> None:
    """Active energy (the queries served, what the plan minimises) and idle energy (the
    provisioned GPUs while they serve nothing) apart, and both with PUE on top."""
    pue = ctx.fleet.facility.pue
    active, idle = plan.energy_j / J_PER_KWH, plan.idle_energy_j / J_PER_KWH
    cols = st.columns(3)
    cols[0].metric(
        "Active energy (kWh)",
        number(active),
        help="GPU energy of the queries served (IT, before PUE): what the plan minimises.",
    )
    cols[1].metric(
        "Idle energy (kWh)",
        number(idle),
        help="Provisioned GPUs while they serve nothing: idle power per GPU × GPUs × "
        "(window − busy time), per system (IT, before PUE).",
    )
    cols[2].metric(
        "Active + idle, facility (kWh)",
        number((active + idle) * pue),
        help=f"(active + idle) × PUE {pue:g}.",
    )
    table = plan.idle.assign(idle_kwh=plan.idle["idle_energy_j"] / J_PER_KWH)
    with st.expander("Idle energy per system"):
        display.table(table[list(IDLE_HEADERS)].rename(columns=IDLE_HEADERS))
        st.caption(
            "The Energy figure above (facility, with PUE) counts the active energy only, "
            "as the baselines' do; idle energy is apart here, and changes with the devices "
            "and window in the fleet's system table."
        )


OPERATING_HEADERS = {
    "operating_point": "Operating point",
    "gpus_per_instance": "GPUs per instance",
    "itl_ms_p90": "ITL p90 (ms)",
    "mean_latency_s": "Mean latency (s)",
}


def _serving_chart(plan):
    """The plan with each arm's system naming its GPUs per instance and batch, so that two
    setups of one (LLM, system) are two bars."""
    arms = plan.arms
    batch = arms["operating_point"].str.extract(r"batch (\d+)", expand=False).fillna("")
    system = arms["system"] + " x" + arms["gpus_per_instance"].astype(str) + " · batch " + batch
    return dataclasses.replace(plan, arms=arms.assign(system=system))


def _allocation(ctx, plan):
    """The allocation table with each arm's operating point (and, for serving arms, its
    GPUs per instance, ITL p90 and mean request latency)."""
    table = tables.allocation_table(plan)
    used = plan.arms[plan.arms["queries"] > 0].reset_index(drop=True)
    shown = OPERATING_HEADERS if ctx.serving else {"operating_point": "Operating point"}
    for key, heading in shown.items():
        table[heading] = used[key].to_numpy()
    return table


def results(ctx) -> None:
    from planner.report import exports
    from planner.report.summary import compare

    plan = ps.solve(ctx)
    if plan is None:
        return
    baselines = headline(ctx, plan)
    charted = _serving_chart(plan) if ctx.serving else plan
    st.plotly_chart(
        figures.allocation_figure(
            *display.charted_by_llm(charted, ctx.estimated), source=ctx.chart_source
        ),
        width="stretch",
        key="allocation_chart",
    )
    llm = tables.column_names()["model"]
    display.table(display.llm_names(_allocation(ctx, plan), llm))
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
