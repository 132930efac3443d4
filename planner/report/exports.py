"""A plan as files to download: the per-query allocation (CSV), the plan summary (JSON) and
the HTML report (``html``), each naming its assumptions and data sources."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePath

import pandas as pd

from planner.fleet.registry import lookup
from planner.fleet.spec import Fleet, default_accuracy
from planner.report import html as html_report
from planner.report.caveats import plan_caveats
from planner.report.summary import compare, json_safe, summarize
from planner.report.tables import energy_basis
from planner.routing.arms import PAPER_OPERATING_POINT

MAX_CSV_QUERIES = 1_000_000  # one row per query: beyond this the file and its build get huge
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class PlanSetup:
    """What a plan was made from, beyond the plan itself; every export names it.

    ``fleet`` is the fleet as set now: a plan may be reused for other facility figures
    (PUE, carbon, price), which change only the reporting.  ``settings`` are the choices
    that made the plan, as the user gave them (the summary JSON carries them verbatim).
    """

    fleet: Fleet
    fits: str  # where the fitted models came from, in words
    citation: str = ""
    form: str | None = None  # None: per arm the default form where it exists, else the paper's
    settings: dict = field(default_factory=dict)
    estimated_arms: frozenset = frozenset()  # (model, system) pairs fitted to estimated energy


def csv_too_large(plan) -> str | None:
    """Why the per-query CSV is not offered for this plan, or None when it is."""
    if plan.n_queries <= MAX_CSV_QUERIES:
        return None
    return (
        f"The per-query allocation CSV is offered for workloads up to "
        f"{MAX_CSV_QUERIES:,} queries; this one has {plan.n_queries:,} (its counts expand "
        "to one row per query). The plan summary JSON and HTML report carry the "
        "allocation per LLM and system."
    )


def assignments_csv(plan) -> bytes:
    """One row per input query, in input order, with the (model, system) serving it.

    Text cells that a spreadsheet would run as a formula (an uploaded task label such as
    ``=HYPERLINK(...)``) get a leading apostrophe, the usual CSV-injection guard.
    """
    table = plan.assignments()
    for column in table.columns:
        if table[column].dtype == object or pd.api.types.is_string_dtype(table[column]):
            table[column] = table[column].map(_inert)
    return table.to_csv(index=False).encode("utf-8")


def _inert(value):
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def data_sources(plan, setup: PlanSetup) -> list[str]:
    """Plain-text lines naming where every figure came from."""
    lines = [f"Fitted models: {setup.fits}."]
    if setup.citation:
        lines.append(f"Citation: {setup.citation}")
    used = plan.arms[plan.arms["queries"] > 0]
    for row in used.itertuples():
        label = "ESTIMATED energy" if row.is_estimated else "energy"
        lines.append(
            f"{row.model} · {row.system}: {row.form} form, {label} from "
            f"{row.energy_sources or 'unknown'} data ({energy_basis(row.energy_kind)})."
        )
    wl = plan.data.workload
    lines.append(f"Workload: {wl.name} ({workload_origin(wl)}).")
    return lines


def workload_origin(workload) -> str:
    """Where a workload came from, by file name alone (an export leaves this machine, and
    its folders are none of its readers' business)."""
    if not workload.source:
        return "synthetic, not measured"
    return f"file {PurePath(str(workload.source)).name}"


NO_LIMIT = "no limit"


def _limit(devices):
    return NO_LIMIT if devices is None else devices


def _one_or_each(values: dict):
    """A value shared by every system once; otherwise per system."""
    distinct = set(values.values())
    return next(iter(distinct)) if len(distinct) == 1 else values


def _capacity_words(plan) -> str:
    """How an instance's capacity is counted, per operating point the plan's arms use."""
    points = {getattr(arm, "operating_point", PAPER_OPERATING_POINT) for arm in plan.data.arms}
    serving = points - {PAPER_OPERATING_POINT}
    words = []
    if PAPER_OPERATING_POINT in points:
        words.append("one query at a time per instance (paper's arms)")
    if serving:
        words.append(
            "continuous batching: an instance at batch b serves T(b) output tokens/s in all, so "
            "a query takes output tokens / T(b) of instance time (serving arms)"
        )
    return "; ".join(words) + "; instances = devices / devices per instance"


def assumptions(plan, setup: PlanSetup) -> dict:
    """The objective, model form, fleet, facility figures and accuracy scores behind a plan."""
    fleet = setup.fleet
    out = {
        "objective": (
            "paper: minimise Σ ζ·ê − (1−ζ)·â"
            if plan.objective == "paper"
            else "least energy above an accuracy floor"
        )
    }
    if plan.objective == "paper":
        out["zeta"] = plan.zeta
    else:
        out["accuracy floor (%)"] = plan.min_accuracy
    systems = sorted(fleet.system)
    scores = {arm.model: arm.accuracy for arm in plan.data.arms}
    defaults = sorted(m for m, score in scores.items() if default_accuracy(m) == score)
    out.update(
        {
            "model form": setup.form or "best available (default form, else paper form)",
            "devices per system": _one_or_each(
                {s: _limit(fleet.system[s].devices) for s in systems}
            )
            if systems
            else NO_LIMIT,
            "planning window (h)": _one_or_each({s: fleet.system[s].window_h for s in systems})
            if systems
            else "not set (no capacity limit)",
            "capacity": _capacity_words(plan),
            "min share fraction": fleet.min_share_fraction,
            "PUE": fleet.facility.pue,
            "grid carbon intensity (gCO2e/kWh)": fleet.facility.carbon_g_per_kwh,
            f"price per kWh ({fleet.facility.currency})": fleet.facility.price_per_kwh,
            "accuracy scores A_K (%)": scores,
        }
    )
    if defaults:
        by_source: dict[str, list[str]] = {}
        for m in defaults:
            by_source.setdefault(lookup(m).accuracy_source, []).append(m)
        out["A_K defaults used"] = "; ".join(
            f"{', '.join(ms)}: {src}" for src, ms in by_source.items()
        )
    out["queries"] = plan.n_queries
    return out


def summary_json(plan, baselines: dict, setup: PlanSetup) -> bytes:
    """The plan, every baseline, the comparison, settings, assumptions and sources."""
    fleet = setup.fleet
    payload = {
        "plan": summarize(plan, fleet),
        "baselines": {k: summarize(b, fleet) for k, b in baselines.items()},
        "comparison": compare(plan, baselines, fleet).to_dict("records"),
        "settings": dict(setup.settings),
        "fleet": fleet.to_dict(),
        "assumptions": assumptions(plan, setup),
        "sources": data_sources(plan, setup),
        "workload": {"name": plan.data.workload.name, "n_queries": plan.n_queries},
        "caveats": plan_caveats(plan),
    }
    return json.dumps(json_safe(payload), indent=2, default=str).encode("utf-8")


def html_bytes(
    plan,
    baselines: dict,
    setup: PlanSetup,
    frontier=None,
    zetas=None,
    compare_to: str | None = None,
) -> bytes:
    """The HTML report (``html.build_html_report``) of the plan against its baselines;
    ``compare_to`` is the key of the baseline its summary compares with (default: the
    most accurate LLM on its fastest system, ``narrative.DEFAULT_BASELINE``)."""
    inputs = html_report.ReportInputs(
        plan=plan,
        baselines=baselines,
        fleet=setup.fleet,
        fits=setup.fits,
        sources=data_sources(plan, setup),
        assumptions=assumptions(plan, setup),
        frontier=list(frontier or []),
        zetas=list(zetas or []),
        estimated_arms=setup.estimated_arms,
        compare_to=compare_to,
    )
    return html_report.build_html_report(inputs).encode("utf-8")
