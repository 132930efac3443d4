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
from app_pages.imports import collector_paused
from app_pages.settings import (
    DEFAULT_DEVICES,
    DEFAULT_WINDOW_H,
    PlanSettings,
    init_defaults,
    synthetic_choice,
)
from app_pages.sources import SERVING_LABEL, ReportSet
from app_pages.text import md, sentence
from planner.fleet.table import (
    fleet_dict,
    llm_table,
    missing_accuracy,
    models_and_systems,
    system_table,
)
from planner.report.fit_views import estimated_arms

log = logging.getLogger("app.plan")
FLEET_SECTION = "Fleet: systems, LLMs and accuracy scores"  # where a user enters a score


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


def _kept(saved: pd.DataFrame | None, fresh: pd.DataFrame, key: str) -> pd.DataFrame:
    """``fresh``'s rows, each replaced by the saved (edited) row of the same ``key`` where
    there is one: edits survive a change of the fits (another store, form or source)."""
    if saved is None or key not in saved or set(fresh.columns) - set(saved.columns):
        return fresh
    if list(saved[key]) == list(fresh[key]):
        return saved
    old = saved[saved[key].isin(fresh[key])][list(fresh.columns)]
    new = fresh[~fresh[key].isin(saved[key])]
    return pd.concat([old, new]).sort_values(key).reset_index(drop=True)


def accuracy_table(models: list[str], rs: ReportSet) -> pd.DataFrame:
    """The (possibly edited) per-LLM table for these models (canonical LLM names)."""
    fresh = llm_table(models, rs.devices_per_instance)
    return _kept(st.session_state.get("accuracy_table"), fresh, "model")


def systems_table(systems: list[str]) -> pd.DataFrame:
    """The (possibly edited) per-system table: included, devices, planning window."""
    fresh = system_table(systems, devices=DEFAULT_DEVICES, window_h=DEFAULT_WINDOW_H)
    return _kept(st.session_state.get("system_table"), fresh, "system")


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
    # notices the page shows above the plan (LLMs without a score, with where to enter one):
    # left out of the caveats below the figures, which would say them again
    said: tuple[str, ...] = ()

    @property
    def chart_source(self) -> str:
        """What a chart of these plans says it came from."""
        return f"plans on {self.rs.label}"

    @property
    def serving(self) -> bool:
        """Whether the arms are serving arms (continuous batching at an operating point)."""
        return self.rs.is_serving

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


def named_arms(rs: ReportSet, form: str | None, s: PlanSettings | None = None) -> list:
    """What the fleet tables list LLMs and systems from (objects with ``model`` and
    ``system``): the fits of the chosen form, or the serving setups of the chosen task."""
    if rs.is_serving:
        task = (s or settings()).serving_task
        return [a.setup for a in rs.serving_of_task(task)]
    return rs.reports if form is None else rs.of_form(form)


NO_SCORES = (
    "No LLM of the serving catalogue has an accuracy score yet, so nothing can be planned. "
    f"Enter a score (A_K, in percent, from a source you trust) for at least one LLM in the "
    f"A_K column of '{FLEET_SECTION}' at the top of the Planner page; none is made up here."
)


def plan_context() -> PlanContext | None:
    """Everything a plan needs, from the session's settings; None (with a message) if unusable.

    An LLM without an accuracy score is left out of the plan (``build_arms``), and named
    here with where to enter one.  Serving arms (the serving catalogue) are built at the
    operating point the settings choose (``build_serving_arms``); when no LLM of theirs has
    a score, the page says so and asks for one (``NO_SCORES``), without an error."""
    with collector_paused():  # the routing package brings in cvxpy and scipy
        from planner.fleet.spec import Fleet, FleetError
        from planner.routing.arms import ArmError, build_arms, build_serving_arms

    rs = state.report_set()
    form = None if rs.is_serving else state.current_form()
    s = settings()
    reports = named_arms(rs, form, s)
    models, systems = models_and_systems(reports)
    table, system_rows = accuracy_table(models, rs), systems_table(systems)
    wl, wl_key = workload()
    if rs.is_serving and not _any_score(table):
        st.info(md(NO_SCORES))
        return None
    missing = missing_accuracy(table)
    if missing:
        st.warning(
            md(
                f"{missing} Until then, an LLM without a score is left out of the plan. "
                f"The A_K column is in '{FLEET_SECTION}' at the top of the Planner page."
            )
        )
    try:
        fleet = Fleet.from_dict(
            fleet_dict(table, system_rows, **s.fleet_args(), facility=s.facility()),
            source="the Planner page's settings",
        )
        if rs.is_serving:
            arms = build_serving_arms(
                rs.serving_of_task(s.serving_task), fleet, itl_ms_p90_max=s.itl_ms_p90_max
            )
        else:
            arms = build_arms(reports, fleet, form=form, workload=wl)
    except (FleetError, ArmError) as exc:
        st.error(md(exc))
        return None
    what = (
        (SERVING_LABEL, rs.citation, s.serving_task, s.itl_ms_p90_max)
        if rs.is_serving
        else cache.reports_key(reports)
    )
    key = cache.digest(  # facility figures change only the reporting: not in the key
        what, form, wl_key, fleet_dict(table, system_rows, **s.fleet_args())
    )
    bundle = cache.planner_bundle(key, arms, wl, fleet)
    unscored = table.loc[pd.to_numeric(table["accuracy"], errors="coerce").isna(), "model"]
    said = tuple(n for n in arms.notices if any(repr(str(m)) in n for m in unscored))
    estimated = frozenset() if rs.is_serving else estimated_arms(reports)
    return PlanContext(rs, form, s, wl, fleet, arms, bundle, estimated, said)


def _any_score(table: pd.DataFrame) -> bool:
    """Whether any LLM of the table (included or not) has an accuracy score."""
    return bool(pd.to_numeric(table["accuracy"], errors="coerce").notna().any())


def solve(ctx: PlanContext):
    """The plan for the context's settings, or None after showing why there is none.  A plan
    that is not proven optimal says so (its ``message`` is a plain sentence with the next
    step; the solver's own account, ``detail``, is one click away)."""
    from planner.routing.optimize import InfeasiblePlanError, PlanningTimeout

    s = ctx.settings
    try:
        plan = ctx.bundle.solve(s.objective, s.zeta, s.min_accuracy)
    except InfeasiblePlanError as exc:
        st.error(f"No plan meets these settings: {md(exc)}")
        return None
    except PlanningTimeout as exc:
        st.error(md(sentence(str(exc))))
        return None
    if plan.status != "optimal":
        st.warning(md(plan.message))
        if plan.detail:
            with st.expander("How the solver ended (technical)"):
                st.text(plan.detail)
    return plan
