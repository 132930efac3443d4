"""What the Export page offers, as bytes: allocation CSV, plan summary JSON, HTML report."""

from __future__ import annotations

import json

import pandas as pd

from app_pages import planning
from planner.report import html as html_report
from planner.report.summary import compare, json_safe, summarize

MAX_CSV_QUERIES = 1_000_000  # one row per query: beyond this the file and its build get huge


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


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


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


def sources(ctx, plan) -> list[str]:
    """Plain-text lines naming where every figure came from."""
    lines = [f"Fitted models: {ctx.rs.label}."]
    if ctx.rs.citation:
        lines.append(f"Citation: {ctx.rs.citation}")
    used = plan.arms[plan.arms["queries"] > 0]
    for row in used.itertuples():
        label = "ESTIMATED energy" if row.is_estimated else "energy"
        lines.append(
            f"{row.model} · {row.system}: {row.form} form, {label} from "
            f"{row.energy_sources or 'unknown'} data ({row.energy_kind})."
        )
    wl = ctx.workload
    lines.append(f"Workload: {wl.name} ({wl.source or 'synthetic, not measured'}).")
    return lines


def assumptions(ctx, plan) -> dict:
    s = ctx.settings
    out = {
        "objective": (
            "paper: minimise Σ ζ·ê − (1−ζ)·â"
            if s.objective == "paper"
            else "least energy above an accuracy floor"
        )
    }
    if s.objective == "paper":
        out["zeta"] = s.zeta
    else:
        out["accuracy floor (%)"] = s.min_accuracy
    out.update(
        {
            "model form": ctx.form or "best available (default form, else paper form)",
            "devices per system": s.devices,
            "planning window (h)": s.window_h,
            "capacity": "one query at a time per instance; instances = devices / devices per instance",
            "min share fraction": s.min_share_fraction,
            "PUE": s.pue,
            "grid carbon intensity (gCO2e/kWh)": s.carbon_g_per_kwh,
            "price per kWh": s.price_per_kwh,
            "accuracy scores A_K (%)": {a.model: a.accuracy for a in ctx.arms},
            "queries": plan.n_queries,
        }
    )
    return out


def summary_json(ctx, plan, baselines: dict) -> bytes:
    """The plan, every baseline, the comparison, settings, assumptions and sources."""
    payload = {
        "plan": summarize(plan, ctx.fleet),
        "baselines": {k: summarize(b, ctx.fleet) for k, b in baselines.items()},
        "comparison": compare(plan, baselines, ctx.fleet).to_dict("records"),
        "settings": planning.settings_dict(ctx.settings),
        "fleet": ctx.fleet_dict,
        "assumptions": assumptions(ctx, plan),
        "sources": sources(ctx, plan),
        "workload": {"name": ctx.workload.name, "n_queries": ctx.workload.n_queries},
    }
    return json.dumps(json_safe(payload), indent=2, default=str).encode("utf-8")


def html_bytes(ctx, plan, baselines: dict, frontier=None, zetas=None) -> bytes:
    s = summarize(plan, ctx.fleet)
    headline = {m["label"]: m["value"] for m in planning.headline(s, None)}
    headline["Energy source and interval"] = planning.energy_note(s)
    inputs = html_report.ReportInputs(
        plan=plan,
        baselines=baselines,
        summary=headline,
        comparison=planning.comparison_table(compare(plan, baselines, ctx.fleet)),
        workload_name=ctx.workload.name,
        sources=sources(ctx, plan),
        assumptions=assumptions(ctx, plan),
        frontier=list(frontier or []),
        zetas=list(zetas or []),
        estimated_arms=ctx.estimated,
    )
    return html_report.build_html_report(inputs).encode("utf-8")
