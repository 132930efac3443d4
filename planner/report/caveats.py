"""What a reader must know before trusting a plan's figures, in plain sentences.

``caveat_list`` is the one builder of a plan's caveats, ``plan_caveats`` their sentences
(the CLI, the summary JSON, the HTML report and the dashboard take them from here): how the search ended when it is not a proven optimum,
the limits a baseline breaks, the queries each arm serves outside the token counts its fits
were measured on (extrapolated, with their share of the workload), predictions raised to
a fit's physical floor, energy of different bases side by side (GPU only beside GPU + CPU),
estimated rather than measured energy, default accuracy scores of different benchmarks,
and every other warning the plan carries.
``main_caveats`` gives the same list as short phrases for a summary line.

The plan's figures (``Plan.arms``, its allocation and planning data) are the source; a
warning of ``Plan.warnings`` that these sentences do not already say is passed on as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.fleet.registry import lookup
from planner.quantities import J_PER_KWH
from planner.report.units import percent

ENERGY_BASES = {"gpu": "GPU only", "total": "GPU + CPU", "cpu": "CPU only"}
UNKNOWN_BASIS = "of unknown basis"
MAX_NAMES = 4  # arms named in one sentence; the rest are counted

# Warnings that the sentences below restate from the plan's figures (those of
# ``planner.routing.plan.plan_warnings`` on extrapolation, floors and estimates, and an
# arm's note that its energy fit is of another basis than asked for); any other warning is
# passed on verbatim, so a new kind of warning is never lost.
_RESTATED = (
    "(extrapolated)",
    "raised to the physical floor",
    "is estimated, not measured",
    "energy fit for this arm: using",
)


@dataclass(frozen=True)
class Caveat:
    kind: str  # ending, limits, extrapolated, floor, bases, estimated, note
    text: str  # a full sentence
    short: str  # a phrase for a summary line


def _used(plan):
    return plan.arms[plan.arms["queries"] > 0]


def _arm(model, system) -> str:
    return f"{model} on {system}"


def _names(names: list[str]) -> str:
    shown = names[:MAX_NAMES]
    if len(names) > len(shown):
        return ", ".join(shown) + f" and {len(names) - len(shown)} more"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _share(n: int, total: int) -> str:
    return percent(100 * n / total) if total else "all"


def _queries(n: int) -> str:
    return f"{n:,} {'query' if n == 1 else 'queries'}"


def _ending(plan) -> list[Caveat]:
    if plan.status in ("optimal", "baseline"):
        return []
    return [
        Caveat("ending", plan.message or f"The search ended: {plan.status}.", "not proven optimal")
    ]


def _limits(plan) -> list[Caveat]:
    if not plan.violations:
        return []
    return [
        Caveat(
            "limits",
            "This plan breaks the fleet's limits (a baseline ignores them): "
            + "; ".join(plan.violations)
            + ".",
            "breaks the fleet's limits",
        )
    ]


def _extrapolated(plan) -> list[Caveat]:
    n = plan.n_queries
    out = []
    for row in _used(plan).itertuples():
        k = int(row.out_of_range_queries)
        if k:
            out.append(
                Caveat(
                    "extrapolated",
                    f"{_arm(row.model, row.system)} serves {_queries(k)} ({_share(k, n)} of the "
                    "workload) outside the token counts its fits were measured on: their "
                    "energy and runtime are extrapolated.",
                    "",
                )
            )
    total = int(_used(plan)["out_of_range_queries"].sum())
    if out:
        short = f"{_share(total, n)} of queries extrapolated beyond the measured token counts"
        out = [Caveat(c.kind, c.text, short) for c in out]
    return out


def _floored_counts(plan) -> list[tuple[int, int, int]]:
    """(arm index, queries with energy floored, with runtime floored) per used arm."""
    d, alloc = plan.data, plan.alloc
    if d is None or alloc is None or not hasattr(d, "energy_floored"):
        arms = plan.arms.reset_index(drop=True)
        return [
            (k, int(q), int(q))
            for k, q in enumerate(arms.get("floored_queries", [0] * len(arms)))
            if q
        ]
    a = np.asarray(alloc, dtype=float)
    energy = np.rint((a * d.energy_floored).sum(axis=0)).astype(int)
    runtime = np.rint((a * d.runtime_floored).sum(axis=0)).astype(int)
    return [
        (k, int(energy[k]), int(runtime[k])) for k in range(a.shape[1]) if energy[k] or runtime[k]
    ]


def _floors(plan) -> list[Caveat]:
    arms = plan.arms.reset_index(drop=True)
    out, served = [], 0
    for k, energy, runtime in _floored_counts(plan):
        row = arms.iloc[k]
        if energy == runtime:
            what = f"the energy and runtime of {_queries(energy)}"
        else:
            what = " and ".join(
                f"the {label} of {_queries(count)}"
                for count, label in ((energy, "energy"), (runtime, "runtime"))
                if count
            )
        served += max(energy, runtime)
        out.append(
            Caveat(
                "floor",
                f"{_arm(row['model'], row['system'])}: {what} ({_share(max(energy, runtime), plan.n_queries)} "
                f"of the workload) come from a physical floor, not the fitted curve: its "
                f"{row['form']}-form fit predicted less for them than for a shorter query "
                "(some below zero), so each is charged the fit's figure for the measured "
                "query it dominates.",
                "",
            )
        )
    if out:
        short = f"{_share(served, plan.n_queries)} of queries charged a physical floor, not the fit"
        out = [Caveat(c.kind, c.text, short) for c in out]
    return out


def _bases(plan, against) -> list[Caveat]:
    frames = [_used(plan)] + ([] if against is None else [_used(against)])
    by_kind: dict[str, list[str]] = {}
    for frame in frames:
        for row in frame.itertuples():
            name = _arm(row.model, row.system)
            names = by_kind.setdefault(ENERGY_BASES.get(row.energy_kind, UNKNOWN_BASIS), [])
            if name not in names:
                names.append(name)
    if not by_kind:
        return []
    if len(by_kind) == 1:
        kind, names = next(iter(by_kind.items()))
        if kind == ENERGY_BASES["total"]:
            return []
        text = (
            f"The energy of {_names(names)} is {kind}: the rest of the server's energy is "
            "left out, so it understates what the facility draws."
            if kind != UNKNOWN_BASIS
            else f"The energy basis of {_names(names)} is unknown (GPU only or GPU + CPU)."
        )
        return [Caveat("bases", text, f"energy {kind}")]
    parts = "; ".join(f"{kind} for {_names(names)}" for kind, names in sorted(by_kind.items()))
    where = "this plan and the baseline it is compared with" if against is not None else "this plan"
    return [
        Caveat(
            "bases",
            f"The energy of {where} mixes bases: {parts}. GPU-only figures leave out the "
            "CPU's energy, so these are not like for like; plan on arms of one basis (leave "
            "the others out with include = false in the fleet) to compare like with like.",
            "energy bases mixed (GPU only beside GPU + CPU)",
        )
    ]


def _estimated(plan) -> list[Caveat]:
    used = _used(plan)
    names = [_arm(r.model, r.system) for r in used.itertuples() if r.is_estimated]
    if not names:
        return []
    return [
        Caveat(
            "estimated",
            f"The energy of {_names(names)} is estimated (from CPU time and an assumed power "
            "per core), not measured.",
            "some energy estimated, not measured",
        )
    ]


def _benchmarks(plan) -> list[Caveat]:
    """Planned LLMs whose default scores come from different benchmarks (the paper's Open
    LLM Leaderboard averages beside developers' GPQA Diamond figures) are not comparable."""
    used = _used(plan)
    column = "llm" if "llm" in used.columns else "model"
    by_benchmark: dict[str, list[str]] = {}
    for llm in sorted(set(used[column].astype(str))):
        info = lookup(llm)
        if info is None or info.accuracy_source is None:
            continue
        bench = "GPQA Diamond" if "GPQA" in info.accuracy_source else "Open LLM Leaderboard average"
        by_benchmark.setdefault(bench, []).append(info.name)
    if len(by_benchmark) < 2:
        return []
    groups = "; ".join(f"{b}: {_names(n)}" for b, n in sorted(by_benchmark.items()))
    return [
        Caveat(
            "benchmarks",
            f"The default accuracy scores of the planned LLMs come from different benchmarks "
            f"({groups}), so the accuracy trade-off compares unlike figures; give scores of one "
            "benchmark in the fleet to compare like with like.",
            "accuracy scores from different benchmarks",
        )
    ]


def _idle(plan) -> list[Caveat]:
    """Idle energy above active energy: the provisioning assumed (the fleet's GPUs over its
    window) is far more than the work needs, and dominates the total; say so in numbers."""
    idle, table = getattr(plan, "idle_energy_j", 0.0) or 0.0, getattr(plan, "idle", None)
    if not idle > plan.energy_j or table is None or len(table) == 0:
        return []
    gpu_h = float(table["gpus"].mul(table["window_h"]).sum())
    busy = float(table["busy_gpu_hours"].sum())
    share = percent(100 * busy / gpu_h) if gpu_h > 0 else "none"
    kwh = J_PER_KWH
    return [
        Caveat(
            "idle",
            f"Idle energy ({idle / kwh:.3g} kWh) exceeds active energy "
            f"({plan.energy_j / kwh:.3g} kWh): it assumes {gpu_h:,.4g} GPU-hours provisioned "
            f"(the fleet's devices over its planning window), of which the plan keeps {share} "
            "busy; set the devices and window to what you would provision.",
            "idle energy dominates",
        )
    ]


def _notes(plan) -> list[Caveat]:
    return [
        Caveat("note", w if w.endswith(".") else w + ".", "")
        for w in plan.warnings
        if not any(marker in w for marker in _RESTATED)
    ]


def caveat_list(plan, against=None) -> list[Caveat]:
    """Every caveat of ``plan`` (and of its comparison with ``against``, a baseline)."""
    return (
        _ending(plan)
        + _limits(plan)
        + _extrapolated(plan)
        + _floors(plan)
        + _bases(plan, against)
        + _estimated(plan)
        + _benchmarks(plan)
        + _idle(plan)
        + _notes(plan)
    )


def plan_caveats(plan, against=None) -> list[str]:
    """The caveats of a plan as plain sentences, most important first; with ``against``
    (the baseline a plan is compared with) the comparison's too (mixed energy bases)."""
    return [c.text for c in caveat_list(plan, against)]


def main_caveats(plan, against=None) -> list[str]:
    """The caveats as short phrases, one per kind, for a summary line."""
    seen: list[str] = []
    for c in caveat_list(plan, against):
        if c.short and c.short not in seen:
            seen.append(c.short)
    return seen
