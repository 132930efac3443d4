"""What a capacity plan is compared with, each with the same totals and a ``feasible`` flag.

- ``peak_most_accurate_newest``: the most accurate LLM on the newest GPU kind it runs on
  (at its least-energy operating point meeting the targets), provisioned for the peak slot
  in every slot;
- ``one_kind:<system>``: the optimal plan with options of one GPU kind only (each kind);
- ``zeta_routing_peak``: the offline routing of Wilkins, Keshav and Mortier (HotCarbon
  '24): the option mix minimising zeta x normalised energy per token - (1 - zeta) x
  normalised accuracy (or energy under the accuracy floor), with no notion of time,
  provisioned for the peak of each option's share in every slot.

A baseline is ``feasible`` when it meets every constraint of the plan (GPU limits, the
accuracy floor; latency targets hold since it uses the same options); an infeasible one
keeps its totals and says why.
"""

from __future__ import annotations

from dataclasses import replace

import cvxpy as cp
import numpy as np

from planner.capacity.problem import (
    CapacityData,
    InfeasibleCapacityError,
    objective_terms,
    select_options,
    solve,
)

__all__ = ["BASELINE_TIME_LIMIT_S", "NEWEST_FIRST", "newest_system", "run_baselines"]

# a one-kind plan whose slots are coupled (deferral, accuracy floor) stops here: a baseline
# needs to be feasible and near optimal, not proven optimal
BASELINE_TIME_LIMIT_S = 5.0

# GPU kinds, newest first (NVIDIA's announcements: Blackwell B200/GB200 2024, H200 late
# 2023, Hopper H100 2022, Ampere A100 2020, Volta V100 2017)
NEWEST_FIRST = ("GB200", "B200", "B100", "H200", "GH200", "H100", "H800", "H20", "L40S",
                "A100", "A800", "L4", "A10", "V100")  # fmt: skip


def newest_system(systems) -> str:
    """The system of the newest GPU kind among ``systems`` (unknown kinds last)."""
    from planner.serving.idle import gpu_kind

    def rank(system: str) -> int:
        kind = gpu_kind(system)
        return NEWEST_FIRST.index(kind) if kind in NEWEST_FIRST else len(NEWEST_FIRST)

    return sorted(systems, key=lambda s: (rank(s), s))[0]


def _total_demand(d: CapacityData) -> np.ndarray:
    """Output tokens arriving per slot, deferrable ones in their arrival slot."""
    total = d.demand_tokens.astype(float).copy()
    for a, _, tokens in d.deferrable:
        total[a] += tokens
    return total


def _peak_plan(d: CapacityData, shares: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, w) serving ``shares`` of every slot with instances for the peak, all slots."""
    total = _total_demand(d)
    w = total[:, None] * shares[None, :]
    n_peak = np.ceil(w.max(axis=0) / d.capacity_tokens)
    n = np.broadcast_to(n_peak, w.shape).astype(np.int64)
    return n, w


def _limit_violations(d: CapacityData, n: np.ndarray) -> list[str]:
    out = []
    for system, limit in d.gpu_limits.items():
        used = int((n[:, d.system == system] @ d.gpus[d.system == system]).max(initial=0))
        if used > limit:
            out.append(f"needs {used} {system} GPUs, over the limit of {limit}")
    return out


def _accuracy(d: CapacityData, w: np.ndarray) -> float | None:
    served = w.sum(axis=0)
    used = served > 0
    if not used.any() or np.isnan(d.accuracy[used]).any():
        return None
    return float(served[used] @ d.accuracy[used] / served[used].sum())


def _check_floor(d: CapacityData, w: np.ndarray, min_accuracy) -> list[str]:
    if min_accuracy is None:
        return []
    acc = _accuracy(d, w)
    if acc is None or acc < min_accuracy - 1e-9:
        shown = "unknown" if acc is None else f"{acc:.4g} %"
        return [f"accuracy {shown} below the floor {min_accuracy:g} %"]
    return []


def _routing_shares(d: CapacityData, zeta: float | None, min_accuracy) -> np.ndarray:
    """The offline routing's option mix: per-token cost zeta e/max e - (1-zeta) A/max A."""
    e = d.energy_per_token_j / d.energy_per_token_j.max()
    cost = e.copy()
    if zeta is not None:
        acc = np.nan_to_num(d.accuracy, nan=0.0)
        cost = float(zeta) * e - (1 - float(zeta)) * acc / (acc.max() or 1.0)
    if min_accuracy is None:
        shares = np.zeros(d.n_options)
        shares[int(np.argmin(cost))] = 1.0
        return shares
    x = cp.Variable(d.n_options, nonneg=True)
    acc = np.nan_to_num(d.accuracy, nan=0.0)
    problem = cp.Problem(cp.Minimize(cost @ x), [cp.sum(x) == 1, acc @ x >= min_accuracy])
    problem.solve(solver=cp.HIGHS)
    if problem.status != "optimal":
        raise InfeasibleCapacityError(f"accuracy floor {min_accuracy:g} % above every option")
    return np.maximum(np.asarray(x.value, float), 0.0)


def run_baselines(
    d: CapacityData,
    options,
    totals,
    *,
    objective: str,
    zeta: float | None,
    min_accuracy: float | None,
) -> dict[str, dict]:
    """Every baseline: ``totals(d, n, w)`` (the plan's own totals) plus ``feasible``,
    ``objective_value`` (what the plan minimises), ``note`` and ``violations``."""
    coef, _ = objective_terms(d, objective, zeta)

    def record(name: str, note: str, n, w, problems: list[str]) -> dict:
        out = dict(totals(d, n, w))
        out.update(
            name=name,
            note=note,
            feasible=not problems,
            violations=problems,
            objective_value=float(np.sum(coef.per_token * w) + np.sum(coef.per_instance * n)),
        )
        return out

    out: dict[str, dict] = {}
    # 1. the most accurate LLM on the newest GPU, for the peak
    scored = np.isfinite(d.accuracy)
    if scored.any():
        best_llm = options["llm"].to_numpy()[int(np.nanargmax(d.accuracy))]
        mine = options["llm"].to_numpy() == best_llm
        system = newest_system(sorted(set(d.system[mine])))
        idx = np.flatnonzero(mine & (d.system == system))
        o = int(idx[np.argmin(d.energy_per_token_j[idx])])
        shares = np.zeros(d.n_options)
        shares[o] = 1.0
        n, w = _peak_plan(d, shares)
        out["peak_most_accurate_newest"] = record(
            "peak_most_accurate_newest",
            f"{best_llm} on {system} ({options['option'].iloc[o]}), provisioned for the peak",
            n,
            w,
            _limit_violations(d, n),
        )
    else:
        out["peak_most_accurate_newest"] = {
            "name": "peak_most_accurate_newest",
            "feasible": False,
            "note": "no LLM has an accuracy score: the most accurate one is unknown",
            "violations": ["no accuracy scores"],
        }
    # 2. one GPU kind only
    for system in sorted(set(d.system)):
        keep = d.system == system
        sub = _subset(d, keep)
        try:
            sol = solve(
                sub,
                objective,
                zeta=zeta,
                min_accuracy=min_accuracy,
                time_limit_s=BASELINE_TIME_LIMIT_S,
            )
        except (InfeasibleCapacityError, ValueError) as exc:
            out[f"one_kind:{system}"] = {
                "name": f"one_kind:{system}",
                "feasible": False,
                "note": f"{system} only",
                "violations": [str(exc)],
            }
            continue
        n = np.zeros((d.n_slots, d.n_options), dtype=np.int64)
        w = np.zeros((d.n_slots, d.n_options))
        n[:, keep], w[:, keep] = sol.n, sol.w
        # deferral solved within the kind's own MILP: count served tokens per slot as solved
        note = f"the optimal plan on {system} only"
        if sol.status == "time_limit":
            note += f" (stopped at its time limit, within {100 * sol.gap:.2g} % of optimal)"
        out[f"one_kind:{system}"] = record(f"one_kind:{system}", note, n, w, [])
    # 3. the offline zeta-optimal routing, provisioned for the peak
    try:
        shares = _routing_shares(d, zeta, min_accuracy)
    except InfeasibleCapacityError as exc:
        out["zeta_routing_peak"] = {
            "name": "zeta_routing_peak",
            "feasible": False,
            "note": "offline routing",
            "violations": [str(exc)],
        }
    else:
        n, w = _peak_plan(d, shares)
        used = ", ".join(options["option"].to_numpy()[shares > 1e-9][:3])
        out["zeta_routing_peak"] = record(
            "zeta_routing_peak",
            "offline routing (Wilkins et al.'s trade-off"
            + ("" if zeta is None else f", zeta={zeta:g}")
            + f") with peak provisioning: {used}",
            n,
            w,
            _limit_violations(d, n) + _check_floor(d, w, min_accuracy),
        )
    return out


def _subset(d: CapacityData, keep: np.ndarray) -> CapacityData:
    """The data of the options ``keep``, with the GPU limits of their systems."""
    systems = set(d.system[keep])
    return replace(
        select_options(d, keep), gpu_limits={s: v for s, v in d.gpu_limits.items() if s in systems}
    )
