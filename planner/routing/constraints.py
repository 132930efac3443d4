"""Coupling constraints of the routing problem, and telling the user which one cannot be met.

Three families, all written as ``>=`` rows over the (group, arm) columns:

- ``share``: LLM K serves at least max(1, N * gamma_K * min_share_fraction) queries;
- ``capacity``: device-seconds assigned to system s <= devices_s * window_h * 3600;
- ``accuracy``: token-weighted mean accuracy (percent) >= the floor.

Every row is scaled to "queries" units (capacity in mean device-seconds per query, accuracy
in mean tokens per query at 100 %), so duals are costs per query and are well conditioned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from planner.routing.plan import PlanData

FAMILIES = ("share", "capacity", "accuracy")


class InfeasiblePlanError(ValueError):
    """No allocation meets the constraints; the message names the constraint."""


@dataclass
class Rows:
    family: list[str] = field(default_factory=list)
    label: list[str] = field(default_factory=list)
    index: list[int] = field(default_factory=list)  # model / system index, -1 for accuracy
    rhs: list[float] = field(default_factory=list)
    value: list[float] = field(default_factory=list)  # in the user's units
    coef: list[np.ndarray | None] = field(default_factory=list)  # own coefficients, or None

    def __len__(self) -> int:
        return len(self.family)

    def append(
        self,
        family: str,
        label: str,
        index: int,
        rhs: float,
        value: float,
        coef: np.ndarray | None = None,
    ) -> None:
        for name, item in (
            ("family", family),
            ("label", label),
            ("index", index),
            ("rhs", rhs),
            ("value", value),
            ("coef", coef),
        ):
            getattr(self, name).append(item)

    def key(self) -> tuple:
        return tuple(zip(self.family, self.label))

    def without(self, family: str) -> Rows:
        keep = [i for i, f in enumerate(self.family) if f != family]
        return Rows(
            *[
                [getattr(self, a)[i] for i in keep]
                for a in ("family", "label", "index", "rhs", "value", "coef")
            ]
        )


def coupling_rows(data: PlanData, min_accuracy: float | None) -> Rows:
    rows = Rows()
    for model, need in sorted(data.min_queries.items()):
        rows.append(
            "share",
            f"{model}'s minimum share ({need} queries)",
            data.models.index(model) if model in data.models else -1,
            float(need),
            float(need),
        )
    for s, system in enumerate(data.systems):
        cap = data.capacity_device_s[s]
        if np.isfinite(cap):
            rows.append(
                "capacity",
                f"{system} capacity ({cap / 3600:.4g} device-hours)",
                s,
                -cap / device_scale(data),
                cap,
            )
    if min_accuracy is not None:
        rows.append(
            "accuracy",
            f"accuracy floor {min_accuracy:g} %",
            -1,
            float(min_accuracy) * data.n_queries / 100.0,
            float(min_accuracy),
        )
    return rows


def device_scale(data: PlanData) -> float:
    """Mean device-seconds per query over all arms (weighted by count), for row scaling."""
    return data.device_scale


def row_coef(data: PlanData, rows: Rows, j: int) -> np.ndarray:
    """Dense (groups x arms) coefficients of coupling row j."""
    if rows.coef[j] is not None:
        return rows.coef[j]
    family, idx = rows.family[j], rows.index[j]
    if family == "share":
        return np.broadcast_to((data.arm_model == idx).astype(float), data.shape)
    if family == "capacity":
        mask = (data.arm_system == idx)[None, :]
        return -data.device_s * mask / device_scale(data)
    return data.acc_tokens * (data.n_queries / (100.0 * data.total_tokens))


def coupling_matrix(data: PlanData, rows: Rows, gi: np.ndarray, ki: np.ndarray) -> sp.csr_matrix:
    if not len(rows):
        return sp.csr_matrix((0, len(gi)))
    dense = np.vstack([row_coef(data, rows, j)[gi, ki] for j in range(len(rows))])
    return sp.csr_matrix(dense)


def lagrangian(data: PlanData, rows: Rows, cost: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.array(cost, dtype=float, copy=True)
    for j in range(len(rows)):
        if y[j] != 0:
            out -= y[j] * row_coef(data, rows, j)
    return out


def undominated(data: PlanData, cost: np.ndarray) -> np.ndarray:
    """Columns worth considering: per group and LLM, its cheapest arm on a system without
    a capacity limit (of equal costs, the one of least energy), and any arm of that LLM on
    a limited system that comes before it in (cost, energy) order.

    Arms of one LLM share its share row and accuracy; one on an unlimited system uses no
    capacity, so moving queries to it from an arm of the same LLM that is no cheaper and
    (at equal cost) uses no less energy never hurts, nor breaks ties toward more energy.
    """
    d = data
    allowed = np.ones(d.shape, dtype=bool)
    unlimited = ~np.isfinite(d.capacity_device_s[d.arm_system])
    rows_g = np.arange(d.shape[0])
    for m in range(len(d.models)):
        free = np.flatnonzero((d.arm_model == m) & unlimited)
        if not len(free):
            continue
        keep = free[lexicographic_argmin(cost[:, free], d.energy_j[:, free])]
        best, best_e = cost[rows_g, keep], d.energy_j[rows_g, keep]
        for k in np.flatnonzero(d.arm_model == m):
            before = (cost[:, k] < best) | ((cost[:, k] == best) & (d.energy_j[:, k] < best_e))
            allowed[:, k] = (k == keep) | ((~unlimited[k]) & before)
    return allowed


def lexicographic_argmin(cost: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """Per row the column of least cost and, of equal costs, of least energy."""
    tied = cost == cost.min(axis=1, keepdims=True)
    return np.argmin(np.where(tied, energy, np.inf), axis=1)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.3g}"


def _share_capacity_message(data: PlanData, model: str, need: int) -> str | None:
    k_mask = np.array([a.model == model for a in data.arms])
    systems = sorted({data.arm_system[k] for k in np.flatnonzero(k_mask)})
    cap = float(np.sum(data.capacity_device_s[systems]))
    if not np.isfinite(cap):
        return None
    per_query = data.device_s[:, k_mask].min(axis=1)
    order = np.argsort(per_query, kind="stable")
    counts = np.minimum(
        data.count[order],
        np.maximum(need - np.concatenate([[0], np.cumsum(data.count[order])[:-1]]), 0),
    )
    needed = float(counts @ per_query[order])
    if needed <= cap * (1 + 1e-9):
        return None
    names = ", ".join(data.systems[s] for s in systems)
    return (
        f"{names} capacity {_hours(cap)} device-hours < {_hours(needed)} needed for "
        f"{model}'s minimum share ({need} queries on its fastest arms)"
    )


def precheck(data: PlanData, rows: Rows) -> None:
    """Raise InfeasiblePlanError for a constraint family that cannot be met on its own."""
    for model, need in sorted(data.min_queries.items()):
        if model not in data.models:
            raise InfeasiblePlanError(
                f"the fleet gives {model} a share, but no arm serves "
                f"{model} (its minimum share is {need} queries)"
            )
    total_need = sum(data.min_queries.values())
    if total_need > data.n_queries:
        raise InfeasiblePlanError(
            f"minimum shares need {total_need} queries in all but the workload has {data.n_queries}"
        )
    for model, need in sorted(data.min_queries.items()):
        message = _share_capacity_message(data, model, need)
        if message:
            raise InfeasiblePlanError(message)
    capacity = float(np.sum(data.capacity_device_s))
    if np.isfinite(capacity):
        needed = float(data.count @ data.device_s.min(axis=1))
        if needed > capacity * (1 + 1e-9):
            raise InfeasiblePlanError(
                f"total capacity {_hours(capacity)} device-hours < {_hours(needed)} needed to "
                f"serve all {data.n_queries} queries even on their fastest arms"
            )
    _single_query_fits(data)
    if "accuracy" in rows.family:
        floor = rows.value[rows.family.index("accuracy")]
        best = float(data.count @ data.acc_tokens.max(axis=1)) / data.total_tokens
        if floor > best + 1e-9:
            raise InfeasiblePlanError(
                f"accuracy floor {floor:g} % is above the best achievable {best:.4g} % "
                f"(every query on its most accurate LLM)"
            )


def _single_query_fits(data: PlanData) -> None:
    """Every query needs some arm whose system's whole capacity holds one such query."""
    cap = data.capacity_device_s[data.arm_system][None, :]
    fits = (data.device_s <= cap * (1 + 1e-9)).any(axis=1)
    if fits.all():
        return
    g = int(np.flatnonzero(~fits)[0])
    k = int(np.argmin(data.device_s[g] - cap[0]))
    raise InfeasiblePlanError(
        f"a query of {data.tin[g]:g} input and {data.tout[g]:g} output tokens needs "
        f"{_hours(data.device_s[g, k])} device-hours on {data.arms[k].name}, more than "
        f"{data.systems[data.arm_system[k]]} capacity {_hours(cap[0, k])} device-hours "
        "(and no arm's system holds it)"
    )


def culprit_message(rows: Rows, feasible_without: dict[str, bool]) -> str:
    """Name the family whose removal makes the problem feasible."""
    fixers = [f for f, ok in feasible_without.items() if ok]
    labels = {
        f: [lab for fam, lab in zip(rows.family, rows.label) if fam == f] for f in feasible_without
    }
    if fixers:
        parts = [f"the {f} constraints ({'; '.join(labels[f])})" for f in fixers]
        return (
            "no allocation meets all constraints together; it becomes feasible without "
            + " or without ".join(parts)
        )
    return (
        "no allocation meets all constraints together, and dropping any one family "
        f"({', '.join(feasible_without)}) is not enough"
    )
