"""The plan in a paragraph, for a reader who reads nothing else: which LLMs on which systems
serve what share of the workload, what that saves in energy, CO2e and cost against one
baseline, and the main caveats (``caveats.main_caveats``).

The baseline is the reader's choice; by default the common practice of serving everything
with the most accurate LLM on its fastest system (``DEFAULT_BASELINE``).
"""

from __future__ import annotations

from planner.report.caveats import main_caveats
from planner.report.summary import summarize
from planner.report.units import change, money, number, percent, points, quantity

# ``planner.routing.baselines.run_baselines``' key of "most accurate LLM on fastest system"
DEFAULT_BASELINE = "most_accurate_fastest"


def choose_baseline(baselines: dict, key: str | None = None) -> str | None:
    """The key of the baseline a report compares with: ``key`` when it names one, else
    ``DEFAULT_BASELINE``, else the first (None when there are none).  A ``key`` naming no
    baseline is a ValueError listing the known ones."""
    if key is not None:
        if key not in baselines:
            raise ValueError(
                f"no baseline {key!r}; the baselines are: {', '.join(sorted(baselines))}"
            )
        return key
    if DEFAULT_BASELINE in baselines:
        return DEFAULT_BASELINE
    return next(iter(baselines), None)


def _served(plan) -> str:
    used = plan.arms[plan.arms["queries"] > 0].sort_values("queries", ascending=False)
    n = max(plan.n_queries, 1)
    parts = [
        f"{row.model} on {row.system} ({percent(100 * row.queries / n)} of queries)"
        for row in used.itertuples()
    ]
    if len(parts) == 1:
        return parts[0].replace(" (100% of queries)", " (every query)")
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _savings(s: dict, b: dict) -> str:
    """ ", saving 0.2 kg CO2e and 0.05 EUR" (or adding them), never a negative figure; empty
    when neither carbon nor price is known."""
    parts, diffs = [], []
    if s["co2e_kg"] is not None and b["co2e_kg"] is not None:
        diff = b["co2e_kg"] - s["co2e_kg"]
        parts.append(quantity(abs(diff), "kg CO2e"))
        diffs.append(diff)
    if s["cost"] is not None and b["cost"] is not None:
        diff = b["cost"] - s["cost"]
        parts.append(money(abs(diff), s["currency"]))
        diffs.append(diff)
    if not parts or all(d == 0 for d in diffs):
        return ""
    # both scale with facility energy, so they share a sign
    return (", saving " if diffs[0] > 0 else ", adding ") + " and ".join(parts)


def summary_paragraph(plan, baselines: dict, fleet=None, baseline_key: str | None = None) -> str:
    """The recommendation, its savings against the chosen baseline and the main caveats,
    as plain sentences."""
    s = summarize(plan, fleet)
    wl = plan.data.workload if plan.data is not None else None
    what = f"the {plan.n_queries:,} queries" + (f" of {wl.name}" if wl is not None else "")
    text = [f"Recommendation: serve {what} with {_served(plan)}."]
    key = choose_baseline(baselines, baseline_key)
    base_plan = baselines.get(key) if key is not None else None
    if base_plan is not None:
        b = summarize(base_plan, fleet)
        than = f"the baseline \u201c{base_plan.name}\u201d"
        versus = change(s["facility_kwh"], b["facility_kwh"])
        energy = (
            f"the same energy as {than}" if versus == "the same" else f"{versus} energy than {than}"
        )
        text.append(
            f"It uses {energy} ({quantity(s['facility_kwh'], 'kWh')} against "
            f"{quantity(b['facility_kwh'], 'kWh')} of facility energy){_savings(s, b)}, at an "
            f"accuracy {points(s['accuracy'], b['accuracy'])} ({number(s['accuracy'])}% "
            f"against {number(b['accuracy'])}%)."
        )
        if base_plan.violations:
            text.append(f"That baseline breaks the fleet's limits ({base_plan.violations[0]}).")
    missing = [what for what, key_ in (("CO2e", "co2e_kg"), ("cost", "cost")) if s[key_] is None]
    if missing:
        text.append(
            f"No {' or '.join(missing)} figures: the fleet gives no "
            + " or ".join(
                f"[facility] {k}"
                for k, m in (("carbon_g_per_kwh", "CO2e"), ("price_per_kwh", "cost"))
                if m in missing
            )
            + "."
        )
    caveats = main_caveats(plan, base_plan)
    if caveats:
        text.append("Main caveats: " + "; ".join(caveats) + " (all caveats below).")
    return " ".join(text)
