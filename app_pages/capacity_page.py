"""Capacity: how many GPUs of which kind, slot by slot, for traffic over time.

The load (synthetic arrivals or an uploaded workload with arrival times), the grid (an
hourly CSV, or flat figures), latency targets, the objective and the accuracy term go in
on the left; the plan's headline totals with their caveats, the load profile, instances
per slot stacked by arm, energy split active/idle, the grid profile and the comparison
with every baseline come out on the right.  An infeasible setting shows the planner's own
message, never a traceback.
"""

import streamlit as st

from app_pages import capacity_state as cs
from app_pages import display, state
from app_pages.imports import collector_paused
from app_pages.text import md

SLOT_MINUTES = (5, 10, 15, 30, 60, 120)


def load_controls() -> tuple[object, str]:
    """The load's controls; (uploaded workload or None, its cache key)."""
    st.radio("Load", (cs.LOAD_SYNTHETIC, cs.LOAD_UPLOAD), key="cap_load")
    if st.session_state["cap_load"] == cs.LOAD_UPLOAD:
        from app_pages import uploads

        slot_control(st)

        file = st.file_uploader(
            "CSV, JSONL, JSON or Parquet with arrival times and token counts",
            type=list(uploads.WORKLOAD_TYPES),
            key="cap_workload_file",
            help="An arrival column (arrival_s, arrived_at or timestamp) and input/output "
            "token columns",
        )
        if file is None:
            st.info("No workload uploaded yet: planning the synthetic load meanwhile.")
            return None, ""
        data = file.getvalue()
        digest = cs.upload_digest(data)
        workload, error = cs.read_workload(file.name, digest, data)
        if error:
            st.error(md(error))
            return None, ""
        st.caption(f"Planning {md(workload.name)}: {workload.n_queries:,} requests.")
        return workload, digest
    cols = st.columns([1.3, 1, 1])
    cols[0].selectbox("Arrivals", cs.ARRIVAL_KINDS, key="cap_kind")
    cols[1].number_input(
        "Requests per second",
        0.01,
        1000.0,
        step=1.0,
        key="cap_rate",
        help=cs.ARRIVAL_HELP[st.session_state["cap_kind"]],
    )
    if st.session_state["cap_kind"] == "bursty":
        cols[2].number_input(
            "Burstiness (CV)", 0.1, 20.0, step=0.5, key="cap_cv",
            help="Coefficient of variation of the gaps between arrivals (1: Poisson)",
        )  # fmt: skip
    else:
        cols[2].selectbox("Token shape", ("chat", "math", "code"), key="cap_shape")
    cols = st.columns(3)
    cols[0].number_input("Hours", 1.0, 168.0, step=1.0, key="cap_hours")
    cols[1].number_input("Seed", 0, 1_000_000, key="cap_seed")
    slot_control(cols[2])
    return None, ""


def slot_control(where) -> None:
    where.selectbox("Slot (minutes)", SLOT_MINUTES, key="cap_slot_min")


def grid_controls() -> tuple[object, str]:
    """Grid upload or flat figures; (grid profile or None, its cache key)."""
    file = st.file_uploader(
        "Hourly grid CSV (hour,gco2e_per_kwh,price_per_kwh), optional",
        type=["csv"],
        key="cap_grid_file",
        help="24 rows repeat as a daily profile; otherwise one row per hour of the plan",
    )
    grid, key = None, ""
    if file is not None:
        data = file.getvalue()
        key = cs.upload_digest(data)
        grid, error = cs.read_grid(file.name, key, data)
        if error:
            st.error(md(error))
            key = ""
        else:
            st.caption(f"Carbon and price per hour from {md(file.name)}.")
    cols = st.columns(4)
    cols[0].number_input("PUE", 1.0, 3.0, step=0.05, key="cap_pue")
    cols[1].number_input("gCO2e/kWh", 0.0, 2000.0, step=10.0, key="cap_carbon")
    cols[2].number_input("Price per kWh", 0.0, 10.0, step=0.01, key="cap_price_kwh")
    cols[3].text_input("Currency", key="cap_currency", max_chars=12)
    if grid is not None:
        st.caption("The grid file's hourly figures replace the flat carbon and price above.")
    return grid, key


def target_controls(systems: list[str], tasks: list[str]) -> None:
    cols = st.columns(2)
    cols[0].number_input(
        "p90 ITL target (ms)",
        0.0,
        10_000.0,
        step=10.0,
        key="cap_itl_ms",
        help="p90 inter-token latency; operating points above it are left out (0: none)",
    )
    cols[1].number_input(
        "p90 TTFT target (ms)",
        0.0,
        100_000.0,
        step=100.0,
        key="cap_ttft_ms",
        placeholder="none",
        help="p90 time to first token; checked only where it was measured (empty: none)",
    )
    st.selectbox(
        "Serving task (operating points measured on it)", [*tasks, cs.ALL_TASKS], key="cap_task"
    )
    st.radio("Objective", cs.OBJECTIVES, key="cap_objective", horizontal=True)
    st.radio(
        "Accuracy",
        (cs.ACCURACY_NONE, cs.ACCURACY_ZETA, cs.ACCURACY_FLOOR),
        key="cap_accuracy",
        horizontal=True,
        help="LLMs without an accuracy score are left out of a plan with an accuracy term",
    )
    if st.session_state["cap_accuracy"] == cs.ACCURACY_ZETA:
        st.slider("zeta (1: the objective alone)", 0.0, 1.0, step=0.05, key="cap_zeta")
    elif st.session_state["cap_accuracy"] == cs.ACCURACY_FLOOR:
        st.number_input("Accuracy floor (%)", 0.0, 100.0, step=1.0, key="cap_floor")
    cs.init_system_defaults(systems)
    with st.expander("GPUs per system: availability limit and price per GPU-hour"):
        for system in systems:
            cols = st.columns(2)
            cols[0].number_input(
                f"{system}: most GPUs (0: no limit)",
                0,
                1_000_000,
                step=1,
                key=f"cap_gpus_{system}",
            )
            cols[1].number_input(
                f"{system}: price per GPU-hour",
                0.0,
                1000.0,
                step=0.1,
                key=f"cap_gpu_price_{system}",
                placeholder="unknown",
                help="Needed for the cost objective; without it cost is not reported",
            )


def headline(plan) -> None:
    from planner.report import capacity_views as views

    for col, metric in zip(st.columns(4) + st.columns(3), views.headline(plan)):
        col.metric(metric["label"], metric["value"], help=md(metric["help"]))
    st.caption(
        f"{md(plan.method)}; solved in {plan.solve_seconds:.2f} s (objective: "
        f"{md(plan.objective)})."
    )
    st.info(
        "Read these figures with care:\n\n"
        + "\n".join(f"- {md(cs.page_words(c))}" for c in views.plan_caveats(plan))
    )


def results(plan) -> None:
    from planner.report import capacity_views as views

    headline(plan)
    st.plotly_chart(views.load_figure(plan), width="stretch", key="cap_load_chart")
    st.plotly_chart(views.instances_figure(plan), width="stretch", key="cap_instances_chart")
    st.plotly_chart(views.energy_figure(plan), width="stretch", key="cap_energy_chart")
    grid = views.grid_figure(plan)
    if grid is not None:
        st.plotly_chart(grid, width="stretch", key="cap_grid_chart")
    st.subheader("Against the baselines")
    st.plotly_chart(views.baselines_figure(plan), width="stretch", key="cap_baselines_chart")
    infeasible = [
        views.baseline_name(k) for k, b in plan.baselines.items() if not b.get("feasible")
    ]
    if infeasible:
        st.warning(
            "Infeasible under this plan's constraints (shown red, totals kept where they "
            "exist): " + md(", ".join(infeasible))
        )
    display.table(views.baselines_table(plan))
    report_download(plan)


def report_download(plan) -> None:
    from planner.report.html import build_capacity_report

    st.download_button(
        "Capacity report (HTML, self-contained)",
        lambda: build_capacity_report(plan).encode("utf-8"),
        file_name="capacity-plan.html",
        mime="text/html",
        key="cap_report",
        icon=":material/description:",
        on_click="ignore",
    )


@state.guarded
def page() -> None:
    st.title("Capacity")
    st.caption(
        "How many GPUs of which kind to provision, slot by slot, to serve the load within "
        "its latency targets, and what that costs in energy, carbon and money."
    )
    cs.init_defaults()
    left, right = st.columns([1, 2.2], gap="large")
    with collector_paused():
        import pandas  # noqa: F401  (the serving rows and the solver need it)
    with left:
        st.subheader("Load")
        workload, workload_key = load_controls()
        st.subheader("Serving")
        st.radio("Serving data", (cs.SERVING_CATALOGUE, cs.SERVING_STORE), key="cap_serving")
        choice = st.session_state["cap_serving"]
        if choice == cs.SERVING_STORE and not cs.store_has_serving(state.store_path()):
            st.info("This store has no serving rows yet: planning on the catalogue instead.")
            choice = cs.SERVING_CATALOGUE
        rows = cs.serving_rows(choice, state.store_path())
        tasks = sorted(set(rows["task"].astype(str)))
        if st.session_state["cap_task"] not in (*tasks, cs.ALL_TASKS):
            st.session_state["cap_task"] = tasks[0] if tasks else cs.ALL_TASKS
        systems = sorted(set(rows["system"].astype(str)))
        target_controls(systems, tasks)
        st.subheader("Grid")
        grid, grid_key = grid_controls()
    cs.remember()
    settings = cs.current_settings(systems)
    if choice != settings.serving:
        settings = cs.CapacitySettings(**{**settings.__dict__, "serving": choice})
    with right:
        with st.spinner("Planning capacity…"):
            with collector_paused():
                plan, error = cs.plan_outcome(
                    settings, rows, workload, workload_key, grid, grid_key
                )
        if error:
            st.error(cs.error_text(error))
            return
        results(plan)


page()
