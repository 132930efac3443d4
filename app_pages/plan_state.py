"""Streamlit glue for planning: settings in session state, the workload, the cached Planner.

The Planner, Trade-offs and Export pages all call ``plan_context()``, so they show the same
plan for the same settings, and only the Planner page draws the controls.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, fields

import pandas as pd
import streamlit as st

from app_pages import cache, state, uploads
from app_pages.bundle import TIME_LIMIT_S
from app_pages.imports import collector_paused
from app_pages.settings import PlanSettings, init_defaults, synthetic_choice
from app_pages.sources import ReportSet
from app_pages.text import md
from planner.fleet.table import fleet_dict, llm_table, missing_accuracy, models_and_systems
from planner.report.fit_views import estimated_arms

log = logging.getLogger("app.plan")


def settings() -> PlanSettings:
    init_defaults()
    values = {f.name: st.session_state[f.name] for f in fields(PlanSettings)}
    if values["objective"] != "energy":
        values["min_accuracy"] = None
    return PlanSettings(**values)


def handle_upload(file) -> None:
    """Parse a newly uploaded workload once; keep the last good one if this one is bad."""
    if file is None or st.session_state.get("upload_id") == file.file_id:
        return
    st.session_state["upload_id"] = file.file_id
    outcome = uploads.read_workload_upload(
        file.name, file.getvalue(), max_bytes=uploads.MAX_WORKLOAD_BYTES
    )
    if outcome.ok:
        st.session_state["uploaded_workload"] = outcome.value
        st.session_state["uploaded_key"] = cache.workload_key(outcome.value)
        st.session_state.pop("upload_error", None)
    else:
        st.session_state["upload_error"] = outcome.error


def workload():
    """(workload, key): the uploaded one when chosen and present, else the synthetic one."""
    choice = synthetic_choice()
    if choice is None:
        return st.session_state["uploaded_workload"], st.session_state["uploaded_key"]
    return cache.synthetic_workload(*choice), cache.digest("synthetic", *choice)


def accuracy_table(models: list[str], rs: ReportSet) -> pd.DataFrame:
    """The (possibly edited) per-LLM table for these models."""
    saved = st.session_state.get("accuracy_table")
    if saved is not None and sorted(saved["model"]) == sorted(set(models)):
        return saved
    return llm_table(models, rs.devices_per_instance)


@dataclass
class PlanContext:
    rs: ReportSet
    form: str | None
    settings: PlanSettings
    workload: object
    fleet: object
    arms: list
    bundle: object
    estimated: frozenset

    def baseline_plans(self) -> dict:
        return self.bundle.baselines()

    def setup(self):
        """What the exports say a plan was made from (``planner.report.exports``)."""
        from planner.report.exports import PlanSetup

        return PlanSetup(
            fleet=self.fleet,
            fits=self.rs.label,
            citation=self.rs.citation,
            form=self.form,
            settings=asdict(self.settings),
            estimated_arms=self.estimated,
        )


def plan_context() -> PlanContext | None:
    """Everything a plan needs, from the session's settings; None (with a message) if unusable."""
    with collector_paused():  # the routing package brings in cvxpy and scipy
        from planner.fleet.spec import Fleet, FleetError
        from planner.routing.arms import ArmError, build_arms

    rs = state.report_set()
    form = state.current_form()
    reports = rs.reports if form is None else rs.of_form(form)
    models, systems = models_and_systems(reports)
    s = settings()
    table = accuracy_table(models, rs)
    wl, wl_key = workload()
    missing = missing_accuracy(table)
    if missing:
        st.error(
            md(f"{missing} It is under 'Fleet, facility and accuracy scores' on the Planner page.")
        )
        return None
    try:
        fleet = Fleet.from_dict(
            fleet_dict(table, systems, **s.fleet_args(), facility=s.facility()),
            source="the Planner page's settings",
        )
        arms = build_arms(reports, fleet, form=form)
    except (FleetError, ArmError) as exc:
        st.error(md(exc))
        return None
    key = cache.digest(  # facility figures change only the reporting: not in the key
        cache.reports_key(reports), form, wl_key, fleet_dict(table, systems, **s.fleet_args())
    )
    bundle = cache.planner_bundle(key, arms, wl, fleet)
    return PlanContext(rs, form, s, wl, fleet, arms, bundle, estimated_arms(reports))


def solve(ctx: PlanContext):
    """The plan for the context's settings, or None after showing why there is none."""
    from planner.routing.optimize import InfeasiblePlanError, PlanningTimeout

    s = ctx.settings
    try:
        plan = ctx.bundle.solve(s.objective, s.zeta, s.min_accuracy)
    except InfeasiblePlanError as exc:
        st.error(f"No plan meets these settings: {md(exc)}")
        return None
    except PlanningTimeout as exc:
        st.error(f"No plan within the {TIME_LIMIT_S:g} s limit: {md(exc)}")
        return None
    if plan.status != "optimal":
        st.warning(f"{plan.status}: {md(plan.message)}")
    return plan
