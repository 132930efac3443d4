"""The routing problem: its formulation, and the object every solver stage works on.

Data (``PlanData``): queries aggregated into groups g of identical (input tokens tin,
output tokens tout, task), n_g queries each, N in all; arms k = (LLM K, system s).  Per
(g, k): predicted energy e[g, k], device-seconds d[g, k] (runtime x devices an instance
needs) and accuracy tokens a[g, k] = A_K(task) * (tin + tout).

Variables: x[g, k] >= 0, the number of group g's queries routed to arm k; integer in the
end (a plan routes whole queries).

Objective (``objective_cost``): minimise sum_{g,k} c[g, k] * x[g, k] with

- ``paper`` (Wilkins, Keshav and Mortier, HotCarbon '24):
  c = zeta * e_hat - (1 - zeta) * a_hat, where e_hat = e / max e and a_hat = a / max a
  over all (distinct query, arm) (``PlanData.normalised``);
- ``energy``: c = e / max |e|, optionally under an accuracy floor.

Rows:

- group rows: sum_k x[g, k] = n_g -- every query is served exactly once;
- coupling rows B x >= b (``Rows``; the planner's are built in
  ``constraints.coupling_rows``), each scaled to "queries" units so that its dual is a
  cost per query:

  - share of LLM K: sum over K's arms of x >= max(1, N * gamma_K * min_share_fraction),
    rounded up;
  - capacity of system s: -sum over s's arms of d * x / D >= -devices_s * window_s / D,
    D the mean device-seconds per query (``PlanData.device_scale``);
  - accuracy floor F %: sum a * x * N / (100 T) >= F * N / 100, T the total tokens.

Duals y >= 0 of the coupling rows price a column at its Lagrangian cost c - B'y; less
its group's least Lagrangian cost, that is its reduced cost, and a column of negative
reduced cost would improve a restricted optimum (``RoutingProblem.price``).  For any
y >= 0, g(y) = b'y + sum_g n_g min_k (c - B'y)[g, k] is a lower bound on the LP optimum
(``RoutingProblem.dual_function``).

The solver stages (``optimize.Planner`` runs them) all take a ``RoutingProblem``:
column generation and its starting duals (``_pricing``), the integer phase
(``_integer``) and the least-energy tie-break (``_tiebreak``, which builds a second
problem: energy over the plans of optimal cost); ``_lp`` writes one LP/MILP for HiGHS.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from planner.routing._lp import MIP_REL_GAP, LPResult, solve_columns
from planner.routing.plan import PlanData

OBJECTIVES = ("paper", "energy")
FEASIBILITY_TOL = 1e-6  # relative violation of a row that counts as meeting it


class PlanningTimeout(RuntimeError):
    """The time limit ended before any plan meeting the constraints was found.  The message
    says so in plain words with the next step; ``detail`` keeps the solver's account."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.detail = detail


def energy_scale(data: PlanData) -> float:
    """max |e| over the allowed (distinct query, arm) columns (1 if every energy is 0): the
    ``energy`` objective's costs are energies divided by it."""
    return data.allowed_max(np.abs(data.energy_j)) or 1.0


def objective_cost(data: PlanData, objective: str, zeta: float = 0.5) -> np.ndarray:
    """The cost per query of each (group, arm) column under ``objective``."""
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}: use one of {OBJECTIVES}")
    if objective == "energy":
        return data.energy_j / energy_scale(data)
    if not 0.0 <= float(zeta) <= 1.0:
        raise ValueError(f"zeta must be in [0, 1], got {zeta}")
    e_hat, a_hat = data.normalised()
    return float(zeta) * e_hat - (1.0 - float(zeta)) * a_hat


def objective_value(data: PlanData, alloc: np.ndarray, objective: str, zeta: float = 0.5) -> float:
    """A plan's ``objective_value``: the paper objective summed over queries, or the total
    energy in joules (not divided by max |e|)."""
    if objective == "energy":
        return float(np.sum(alloc * data.energy_j))
    return float(np.sum(alloc * objective_cost(data, objective, zeta)))


@dataclass
class Rows:
    """Coupling rows B x >= b: per row its family, a label naming it to the user, its
    right-hand side b (scaled), its value in the user's units, its (groups x arms)
    coefficients B and its subject (the LLM of a share row, the system of a capacity row;
    "" otherwise), which the next-step advice of an infeasible plan names."""

    family: list[str] = field(default_factory=list)
    label: list[str] = field(default_factory=list)
    rhs: list[float] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    coef: list[np.ndarray] = field(default_factory=list)
    subject: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.family)

    def append(
        self,
        family: str,
        label: str,
        rhs: float,
        value: float,
        coef: np.ndarray,
        subject: str = "",
    ) -> None:
        self.family.append(family)
        self.label.append(label)
        self.rhs.append(rhs)
        self.value.append(value)
        self.coef.append(coef)
        self.subject.append(subject)

    def key(self) -> tuple:
        return tuple(zip(self.family, self.label))

    def copy(self) -> Rows:
        return self._select(range(len(self)))

    def without(self, family: str) -> Rows:
        return self._select([i for i, f in enumerate(self.family) if f != family])

    def _select(self, keep) -> Rows:
        return Rows(
            *[
                [getattr(self, a)[i] for i in keep]
                for a in ("family", "label", "rhs", "value", "coef", "subject")
            ]
        )


class Pricing(NamedTuple):
    """One pricing step: Lagrangian costs of the allowed columns (inf elsewhere), each
    group's least over its candidates, each group's least allowed column, and the groups
    whose least allowed column undercuts their candidates."""

    lagr: np.ndarray
    least: np.ndarray
    best: np.ndarray
    short: np.ndarray

    @property
    def reduced(self) -> np.ndarray:
        """Reduced costs: Lagrangian cost less the group's least over the candidates."""
        return self.lagr - self.least[:, None]


class RoutingProblem:
    """The routing problem for one cost and one set of coupling rows.

    It solves over a subset of the (group, arm) columns, prices columns against duals and
    gives the Lagrangian dual bound; every solve stops at ``deadline`` (a
    ``time.perf_counter()`` instant; None: no limit).
    """

    def __init__(
        self, data: PlanData, rows: Rows, cost: np.ndarray, *, deadline: float | None = None
    ):
        self.data, self.rows, self.cost, self.deadline = data, rows, cost, deadline
        self.rhs = np.asarray(rows.rhs, dtype=float)
        # the largest |cost| of an allowed column (columns beyond an arm's context never
        # enter a solve, and their extrapolated costs must not set its tolerances)
        self.scale = max(data.allowed_max(np.abs(cost)), 1e-12)
        # the objective's magnitude: sum over queries of the mean |cost| over allowed arms
        self.magnitude = float(data.count @ data.allowed_mean(np.abs(cost)))
        # integer programs stop within this absolute gap, and the integer phase certifies
        # a plan against the same figure
        self.mip_tolerance = MIP_REL_GAP * max(self.magnitude, 1e-12)
        # elastic rows: a unit of violation costs far more than moving any query
        self.penalty = 1e3 * self.scale
        self.pricing_tol = 1e-9 * max(self.scale, 1.0)

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape

    def time_left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.perf_counter()

    # -- coupling rows -----------------------------------------------------------------
    def coupling_matrix(self, gi: np.ndarray, ki: np.ndarray) -> sp.csr_matrix:
        """B restricted to the columns (gi, ki)."""
        if not len(self.rows):
            return sp.csr_matrix((0, len(gi)))
        return sp.csr_matrix(np.vstack([coef[gi, ki] for coef in self.rows.coef]))

    def row_activity(self, alloc: np.ndarray) -> np.ndarray:
        """B x of an allocation, per coupling row."""
        return np.array([float(np.sum(coef * alloc)) for coef in self.rows.coef])

    def rows_met(self, alloc: np.ndarray) -> bool:
        act = self.row_activity(alloc)
        return bool(np.all(act >= self.rhs - 1e-9 * np.maximum(1.0, np.abs(self.rhs))))

    # -- duals -------------------------------------------------------------------------
    def lagrangian(self, y: np.ndarray) -> np.ndarray:
        """c - B'y for every column."""
        out = np.array(self.cost, dtype=float, copy=True)
        for j, coef in enumerate(self.rows.coef):
            if y[j] != 0:
                out -= y[j] * coef
        return out

    def price(self, y: np.ndarray, allowed: np.ndarray, cand: np.ndarray, tol: float) -> Pricing:
        """Price every ``allowed`` column against duals ``y``; a group is short when one
        of them undercuts its candidates ``cand`` by more than ``tol``."""
        lagr = np.where(allowed, self.lagrangian(y), np.inf)
        least = np.where(cand, lagr, np.inf).min(axis=1)
        best = np.argmin(lagr, axis=1)
        short = np.flatnonzero(lagr[np.arange(self.shape[0]), best] < least - tol)
        return Pricing(lagr, least, best, short)

    def dual_function(self, allowed: np.ndarray):
        """g(y) = b'y + sum_g n_g min_k (c - B'y) over the ``allowed`` columns: a function
        returning (g(y), a supergradient b - B x(y)).  Every value bounds the LP optimum
        over those columns from below."""
        coef = np.stack([np.asarray(c, float) for c in self.rows.coef])
        masked = np.where(allowed, self.cost, np.inf)
        counts = self.data.count.astype(float)
        groups = np.arange(self.shape[0])

        def g(y: np.ndarray) -> tuple[float, np.ndarray]:
            lagr = masked - np.tensordot(y, coef, axes=1)
            arm = np.argmin(lagr, axis=1)
            value = float(self.rhs @ y + counts @ lagr[groups, arm])
            return value, self.rhs - coef[:, groups, arm] @ counts

        return g

    # -- solving -----------------------------------------------------------------------
    def solve(
        self, chosen: np.ndarray, *, integer: bool = False, penalty: float | None = None
    ) -> LPResult:
        """Solve over the columns ``chosen`` (a groups x arms mask, at least one per group).

        Groups with a single chosen column are fixed (all their queries on that arm): they
        leave the LP, and their use of the coupling rows moves to the right-hand side.
        ``x`` comes back over the chosen columns in ``np.nonzero(chosen)`` order, and the
        value includes the fixed groups' cost.  ``penalty``: the coupling rows are elastic
        at that cost per unit of violation (see ``_lp.solve_columns``).
        """
        data = self.data
        n_chosen = chosen.sum(axis=1)
        if np.any(n_chosen == 0):
            raise ValueError("every group needs at least one chosen column")
        fixed = n_chosen == 1
        gi_all, ki_all = np.nonzero(chosen)
        free_col = ~fixed[gi_all]
        gf, kf = gi_all[~free_col], ki_all[~free_col]
        fixed_counts = data.count[gf].astype(float)
        coupling = self.coupling_matrix(gi_all, ki_all)
        rhs = self.rhs - coupling[:, ~free_col] @ fixed_counts
        fixed_cost = float(self.cost[gf, kf] @ fixed_counts)
        gi, ki = gi_all[free_col], ki_all[free_col]
        if len(gi) == 0:
            res = _no_free_columns(rhs, penalty, integer)
        else:
            free_groups, local = np.unique(gi, return_inverse=True)
            res = solve_columns(
                self.cost[gi, ki],
                local,
                data.count[free_groups].astype(float),
                coupling[:, free_col],
                rhs,
                integer=integer,
                time_limit_s=self.time_left(),
                penalty=penalty,
                mip_abs_gap=self.mip_tolerance,
            )
        x = None
        if res.x is not None:
            x = np.empty(len(gi_all))
            x[free_col] = res.x
            x[~free_col] = fixed_counts
        value = None if res.value is None else res.value + fixed_cost
        return LPResult(res.status, x, res.y, value, res.seconds, integer, res.slack)

    def allocation(self, chosen: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The (groups x arms) integer counts of a solution over the columns ``chosen``."""
        gi, ki = np.nonzero(chosen)
        alloc = np.zeros(self.shape, dtype=np.int64)
        alloc[gi, ki] = np.rint(x).astype(np.int64)
        return alloc


def _no_free_columns(rhs: np.ndarray, penalty: float | None, integer: bool) -> LPResult:
    """Every group fixed: feasible iff 0 >= rhs (after moving the fixed groups over)."""
    short = np.maximum(rhs, 0.0)
    if penalty is None and np.any(short > FEASIBILITY_TOL * np.maximum(1.0, np.abs(rhs))):
        return LPResult("infeasible", None, None, None, 0.0, integer)
    y = None if integer else np.where(short > 0, penalty or 0.0, 0.0)
    value = float(penalty * short.sum()) if penalty is not None else 0.0
    return LPResult(
        "optimal", np.zeros(0), y, value, 0.0, integer, short if penalty is not None else None
    )
