"""A plan's caveats on the page, next to its figures: what a reader of the numbers must know
(queries extrapolated beyond the fits, predictions raised to their physical floor, energy of
different bases side by side, estimated energy, LLMs left out, a plan not proven optimal).

The sentences come from ``planner.report.caveats`` (their one owner, shared with the CLI and
the HTML report); this module lays them out: one warning box of plain sentences under a
plan's headline figures, and for a frontier the caveats of each stretch of it in short
phrases (neighbouring points that share them said once).
"""

from __future__ import annotations

import streamlit as st

from app_pages.text import md, sentence
from planner.report.caveats import caveat_list, main_caveats
from planner.report.units import NOTHING

ZETA, FLOOR = "zeta", "accuracy floor"  # what a frontier's points are


SERVING_CAVEAT = (
    "Serving arms' energy is GPU energy only (no CPU, memory or network), measured at "
    "steady state at each arm's operating point, with the prompt (prefill) cost folded into "
    "energy per output token (the serving data have no input lengths); the idle energy of "
    "provisioned GPUs is not in the Energy figure: it is shown apart above"
)
PREFILL_NOTE = "prefill folded in"  # the serving arms' own note, said once by SERVING_CAVEAT


def plan_caveats(plan, against=None, *, skip=()) -> list[str]:
    """The caveats of ``plan`` (and of its comparison with the baseline ``against``) as
    sentences, without how the solve ended (``plan_state.solve`` says it above the plan)
    and without any sentence in ``skip`` (said elsewhere on the page).  A plan on serving
    arms opens with ``SERVING_CAVEAT``, which says once what each arm's note would."""
    said = {_bare(text) for text in skip}
    out = [
        c.text
        for c in caveat_list(plan, against)
        if c.kind != "ending" and _bare(c.text) not in said
    ]
    if not _serving(plan):
        return out
    return [SERVING_CAVEAT] + [text for text in out if PREFILL_NOTE not in text]


def _serving(plan) -> bool:
    arms = plan.arms
    return bool("form" in arms and (arms.loc[arms["queries"] > 0, "form"] == "serving").any())


def _bare(text: str) -> str:
    return str(text).strip().rstrip(".").lower()


def show(sentences: list[str], lead: str) -> None:
    """One warning box: ``lead`` (the app's own words) and the sentences as a list."""
    if not sentences:
        return
    items = "\n".join(f"- {md(sentence(text))}" for text in sentences)
    st.warning(f"{lead}\n\n{items}", icon=":material/warning:")


def _point(plan):
    return plan.zeta if plan.zeta is not None else plan.min_accuracy


def frontier_caveats(plans, what: str = ZETA, *, skip=()) -> list[str]:
    """A frontier's caveats as lines: per run of neighbouring points with the same caveats,
    their short phrases (``main_caveats``: "8.15% of queries extrapolated ..."); then each
    other sentence (an LLM left out, ...) once, with the points it holds at."""
    said = {_bare(text) for text in skip}
    runs: list[list] = []  # [first point, last point, phrases]
    notes: dict[str, list] = {}
    for plan in plans:
        phrases = "; ".join(main_caveats(plan))
        if runs and runs[-1][2] == phrases:
            runs[-1][1] = _point(plan)
        else:
            runs.append([_point(plan), _point(plan), phrases])
        for c in caveat_list(plan):
            if not c.short and _bare(c.text) not in said:
                notes.setdefault(c.text, []).append(_point(plan))
    lines = [
        f"At {what} {_span(first, last, what)}: {phrases}"
        for first, last, phrases in runs
        if phrases
    ]
    for text, points in notes.items():
        at = "every plan" if len(points) == len(plans) else _points(what, points)
        lines.append(f"{sentence(text).rstrip('.')} ({at}).")
    return lines


def _span(first, last, what: str) -> str:
    return _num(first, what) if first == last else f"{_num(first, what)} to {_num(last, what)}"


def _points(what: str, points) -> str:
    return f"{what} " + ", ".join(_num(p, what) for p in points)


def _num(value, what: str) -> str:
    """A frontier point: a zeta as it is, an accuracy floor (percent) to 3 figures."""
    if value is None:
        return NOTHING
    return f"{value:.3g}%" if what == FLOOR else f"{value:g}"


def show_frontier(plans, what: str = ZETA, *, skip=()) -> None:
    """A frontier's caveats (``frontier_caveats``); every plan's sentences in full one
    click away."""
    lines = frontier_caveats(plans, what, skip=skip)
    if not lines:
        return
    show(lines, f"Caveats of the {len(plans)} plans on this frontier:")
    said = {_bare(text) for text in skip}
    with st.expander("Each plan's caveats in full"):
        for plan in plans:
            full = [c.text for c in caveat_list(plan) if _bare(c.text) not in said]
            if full:
                st.markdown(f"**{md(what)} {md(_num(_point(plan), what))}**")
                st.markdown("\n".join(f"- {md(sentence(t))}" for t in full))


def mixes_bases(plan, against=None) -> bool:
    """Whether the caveats already say that energy bases are mixed (plan and baseline)."""
    return any(c.kind == "bases" for c in caveat_list(plan, against))
