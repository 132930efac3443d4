"""Streamlit glue for planning: settings in session state, the workload, the cached Planner.

The Planner, Trade-offs and Export pages all call ``plan_context()``, so they show the same
plan for the same settings, and only the Planner page draws the controls.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields

import pandas as pd
import streamlit as st

from app_pages import cache, planning, state, uploads
from app_pages.bundle import TIME_LIMIT_S
from app_pages.settings import init_defaults, synthetic_choice
from app_pages.sources import ReportSet, estimated_arms
from app_pages.text import md

log = logging.getLogger("app.plan")


def settings() -> planning.PlanSettings:
    init_defaults()
    values = {f.name: st.session_state[f.name] for f in fields(planning.PlanSettings)}
    if values["objective"] != "energy":
        values["min_accuracy"] = None
    return planning.PlanSettings(**values)


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
        st.session_state["uploaded_key"] = planning.workload_key(outcome.value)
        st.session_state.pop("upload_error", None)
    else:
        st.session_state["upload_error"] = outcome.error


def workload():
    """(workload, key): the uploaded one when chosen and present, else the synthetic one."""
    choice = synthetic_choice()
    if choice is None:
        return st.session_state["uploaded_workload"], st.session_state["uploaded_key"]
    return cache.synthetic_workload(*choice), planning.digest("synthetic", *choice)


def accuracy_table(models: list[str], rs: ReportSet) -> pd.DataFrame:
    """The (possibly edited) per-LLM table for these models."""
    saved = st.session_state.get("accuracy_table")
    if saved is not None and sorted(saved["model"]) == sorted(set(models)):
        return saved
    return planning.accuracy_frame(models, rs.devices_per_instance)


@dataclass
class PlanContext:
    rs: ReportSet
    form: str | None
    settings: planning.PlanSettings
    workload: object
    fleet: object
    fleet_dict: dict
    arms: list
    bundle: object
    estimated: frozenset

    def baseline_plans(self) -> dict:
        return self.bundle.baselines()


def plan_context() -> PlanContext | None:
    """Everything a plan needs, from the session's settings; None (with a message) if unusable."""
    from planner.fleet.spec import Fleet, FleetError
    from planner.routing.arms import ArmError, build_arms

    rs = state.report_set()
    form = state.current_form()
    reports = rs.reports if form is None else rs.of_form(form)
    models, systems = planning.arm_models_and_systems(reports)
    s = settings()
    table = accuracy_table(models, rs)
    wl, wl_key = workload()
    missing = planning.missing_accuracy(table)
    if missing:
        st.error(md(missing))
        return None
    fd = planning.fleet_dict(table, systems, s)
    try:
        fleet = Fleet.from_dict(fd, source="the Planner page's settings")
        arms = build_arms(reports, fleet, form=form)
    except (FleetError, ArmError) as exc:
        st.error(md(exc))
        return None
    key = planning.digest(
        planning.reports_key(reports),
        form,
        wl_key,
        planning.fleet_dict(table, systems, s, with_facility=False),
    )
    bundle = cache.planner_bundle(key, arms, wl, fleet)
    return PlanContext(rs, form, s, wl, fleet, fd, arms, bundle, estimated_arms(reports))


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
