"""The energy-optimal routing of a workload's queries to arms (LLM, system).

Objectives (Wilkins, Keshav and Mortier, HotCarbon '24):

- ``paper``: minimise sum over queries of zeta*e_hat - (1 - zeta)*a_hat, with
  a = A_K(task) * (tin + tout) and hats dividing by the largest value over all
  (distinct query, arm);
- ``energy``: minimise total energy, optionally under a floor on the token-weighted mean
  accuracy (sweeping the floor traces the energy/accuracy frontier).

Identical queries are aggregated: x[g, k] >= 0 counts the queries of group g on arm k with
sum_k x[g, k] = n_g, so the size follows distinct (tin, tout, task), not query count.
Minimum shares, capacity and the accuracy floor couple the groups through a handful of rows.

Solving: the LP is solved by column generation over exact LP duals.  Start from duals
found by a cutting-plane ascent of the Lagrangian dual (one variable per coupling row,
every column priced in numpy per step), keep per group the arms whose Lagrangian cost is
(near) the lowest, solve that restricted LP with HiGHS (interior point + crossover, a vertex), price
every left-out column with the new duals and add any with negative reduced cost; repeat
until none -- that certifies the restricted optimum optimal for the full LP.  Without
coupling rows every group simply takes its cheapest arm.

Integrality: group rows plus share rows form a bipartite incidence matrix (totally
unimodular), so with integral counts and shares the LP vertex is integral; capacity and
accuracy rows can make it fractional.  The solution is checked, and if fractional the
integer program is solved (HiGHS MILP) over every column whose LP reduced cost is within
the gap between an integer solution and the LP bound -- no other column can appear in a
better integer solution, so that optimum is the full problem's.  Nothing is rounded.

Ties: of plans with the optimal paper objective, the least energy (``planner.routing._tiebreak``, a
lexicographic second stage; at zeta = 0 energy is otherwise no part of the choice).
"""

from __future__ import annotations

import time

import numpy as np

from planner.fleet.spec import Fleet
from planner.routing._integer import INTEGRAL_TOL, PlanningTimeout, integer_plan
from planner.routing._lp import LPResult
from planner.routing._pricing import ascend_duals, candidates, price, sample_duals
from planner.routing._restricted import allocation, infeasibility, solve_restricted
from planner.routing._tiebreak import energy_ties, least_energy
from planner.routing.arms import Arm
from planner.routing.constraints import (
    InfeasiblePlanError,
    Rows,
    coupling_rows,
    lagrangian,
    lexicographic_argmin,
    precheck,
    undominated,
)
from planner.routing.plan import Plan, PlanData, make_plan
from planner.workload.load import Workload

__all__ = ["Planner", "Plan", "InfeasiblePlanError", "PlanningTimeout", "OBJECTIVES"]

OBJECTIVES = ("paper", "energy")
SAMPLE_GROUPS = 1000  # groups in the LP that supplies starting duals
FULL_LP_GROUPS = 3000  # below this, solve over every column at once
MAX_ROUNDS = 8  # column-generation rounds before solving over every column
TIEBREAK_TIME_S = 2.0  # the least-energy second stage's own limit (the plan is optimal
# before it; a stage cut short keeps the best it found)
ASCENT_TOL = 1e-8  # dual ascent stops this close (relative) to its model's bound


class Planner:
    """Routes one workload over a set of arms; build once, solve many times."""

    # Per group, the arms within CANDIDATE_BAND x mean |cost| of the least Lagrangian cost
    # (at most CANDIDATE_CAP) enter the first LP.  With the ascent's near-exact duals a
    # narrow band suffices (one pricing round at 52,002 queries; 0.005 made that LP twice
    # the size and time); the cap is loose because at zeta = 0 an LLM's arms on all its
    # systems tie, and a cap of 3 cut the very arm that fills a capacity (a second round).
    CANDIDATE_BAND = 0.0005
    CANDIDATE_CAP = 12

    def __init__(
        self, arms: list[Arm], workload: Workload, fleet: Fleet | None = None, *, seed: int = 0
    ):
        self.fleet = fleet or Fleet()
        self.data = PlanData(arms, workload, self.fleet)
        self.seed = seed
        self._warm_y: dict[tuple, np.ndarray] = {}
        self._last_y: tuple[list[str], np.ndarray] | None = None
        self._e_max = float(np.max(np.abs(self.data.energy_j))) or 1.0
        self.last_stats: dict = {}

    # -- public ------------------------------------------------------------------------
    def solve(
        self,
        objective: str = "paper",
        zeta: float = 0.5,
        min_accuracy: float | None = None,
        time_limit_s: float | None = None,
    ) -> Plan:
        t0 = time.perf_counter()
        deadline = None if time_limit_s is None else t0 + float(time_limit_s)
        cost = self._cost(objective, zeta)
        rows = coupling_rows(self.data, self._check_floor(min_accuracy))
        precheck(self.data, rows)
        alloc, status, how = self._allocate(
            cost,
            rows,
            deadline,
            (objective, zeta if objective == "paper" else None, rows.key()),
            ties=self._ties(objective, zeta),
        )
        self._check_feasible(alloc, min_accuracy, status)
        value = (
            self.data.paper_objective(alloc, zeta)
            if objective == "paper"
            else float(np.sum(alloc * self.data.energy_j))
        )
        name = (
            f"optimal ({objective}"
            + (f", zeta={zeta:g}" if objective == "paper" else "")
            + (f", accuracy >= {min_accuracy:g} %" if min_accuracy is not None else "")
            + ")"
        )
        return make_plan(
            self.data,
            alloc,
            name=name,
            status=status,
            message=how,
            objective_value=value,
            solve_seconds=time.perf_counter() - t0,
            objective=objective,
            zeta=zeta if objective == "paper" else None,
            min_accuracy=min_accuracy,
        )

    def frontier(self, zetas=None, min_accuracies=None, **kwargs) -> list[Plan]:
        """Plans over zeta (paper objective) or over accuracy floors (energy objective).

        Floors above the best achievable accuracy are skipped and listed in
        ``self.last_stats['skipped']``.
        """
        plans, skipped = [], []  # each solve starts from its neighbour's duals
        if min_accuracies is not None:
            for floor in min_accuracies:
                try:
                    plans.append(self.solve("energy", min_accuracy=float(floor), **kwargs))
                except InfeasiblePlanError as exc:
                    skipped.append(f"accuracy >= {float(floor):g} %: {exc}")
        else:
            for z in np.linspace(0.0, 1.0, 11) if zetas is None else zetas:
                plans.append(self.solve("paper", zeta=float(z), **kwargs))
        self.last_stats["skipped"] = skipped
        return plans

    def accuracy_range(self) -> tuple[float, float]:
        """(accuracy of the least-energy plan, highest accuracy any plan meeting the shares
        and capacity reaches), in percent."""
        low = self.solve("energy").accuracy
        rows = coupling_rows(self.data, None)
        cost = -self.data.normalised()[1]
        alloc, _, _ = self._allocate(cost, rows, None, ("max-accuracy", None, rows.key()))
        high = float(np.sum(alloc * self.data.acc_tokens)) / self.data.total_tokens
        return low, high

    # -- objective ---------------------------------------------------------------------
    def _cost(self, objective: str, zeta: float) -> np.ndarray:
        if objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {objective!r}: use one of {OBJECTIVES}")
        if objective == "energy":
            return self.data.energy_j / self._e_max
        if not 0.0 <= float(zeta) <= 1.0:
            raise ValueError(f"zeta must be in [0, 1], got {zeta}")
        e_hat, a_hat = self.data.normalised()
        return float(zeta) * e_hat - (1.0 - float(zeta)) * a_hat

    def _check_feasible(self, alloc, min_accuracy, status) -> None:
        """Never hand back an allocation that breaks a constraint (e.g. cut off by a limit)."""
        broken = self.data.violations(alloc)
        accuracy = float(np.sum(alloc * self.data.acc_tokens)) / self.data.total_tokens
        if min_accuracy is not None and accuracy < min_accuracy - 1e-6:
            broken.append(f"accuracy {accuracy:.6g} % < floor {min_accuracy:g} %")
        if not broken:
            return
        if status == "time_limit":
            raise PlanningTimeout(
                "time limit reached before an integer plan meeting the "
                "constraints was found (" + "; ".join(broken) + ")"
            )
        raise RuntimeError("internal error: the solver's plan breaks " + "; ".join(broken))

    @staticmethod
    def _check_floor(min_accuracy):
        if min_accuracy is None:
            return None
        if not 0.0 <= float(min_accuracy) <= 100.0:
            raise ValueError(f"min_accuracy is a percentage in [0, 100], got {min_accuracy}")
        return float(min_accuracy)

    # -- solving -----------------------------------------------------------------------
    def _allocate(self, cost, rows: Rows, deadline, key, ties=False) -> tuple[np.ndarray, str, str]:
        """(allocation, status, how).  ``ties`` "all": of the plans of optimal cost, the
        least energy; "exact": the same, when some query has arms of exactly equal cost."""
        d = self.data
        if not len(rows):
            alloc = np.zeros(d.shape, dtype=np.int64)
            alloc[np.arange(d.shape[0]), lexicographic_argmin(cost, d.energy_j)] = d.count
            self.last_stats = {"method": "argmin", "rounds": 0, "columns": d.shape[0]}
            return (
                alloc,
                "optimal",
                (
                    "no coupling constraints: every distinct query takes "
                    "its cheapest arm (of equal costs, the least energy; "
                    "integral by construction)"
                ),
            )
        lp, cand, reduced = self._column_generation(cost, rows, deadline, key)
        if lp.status == "user_limit":
            self._timed_out()
        integral = not np.any(np.abs(lp.x - np.rint(lp.x)) > INTEGRAL_TOL)
        if integral:
            alloc = allocation(d, cand, lp.x)
            status, how = (
                "optimal",
                (
                    f"LP optimum is an integral vertex "
                    f"({self._lp_summary()}): no integer program needed"
                ),
            )
        else:
            alloc, status, how = self._integer(cost, rows, cand, reduced, lp, deadline)
        if status == "optimal" and (
            ties == "all" or ties == "exact" and energy_ties(d, cost, np.isfinite(reduced))
        ):
            ties_by = time.perf_counter() + TIEBREAK_TIME_S
            ties_by = ties_by if deadline is None else min(deadline, ties_by)
            alloc, note = least_energy(
                d,
                rows,
                cost,
                alloc,
                lp,
                reduced,
                lambda r, c, cols, integer, penalty=None: self._solve(
                    c, r, cols, ties_by, integer, penalty
                ),
            )
            how += note
        return alloc, status, how

    @staticmethod
    def _ties(objective: str, zeta: float) -> str | None:
        """At zeta = 0 energy is no part of the cost: equal costs are everywhere."""
        if objective != "paper":
            return None
        return "all" if float(zeta) == 0.0 else "exact"

    def _lp_summary(self) -> str:
        s = self.last_stats
        return (
            f"{s.get('columns')} of {self.data.shape[0] * self.data.shape[1]} columns, "
            f"{s.get('rounds')} pricing round(s)"
        )

    def _remaining(self, deadline) -> float | None:
        return None if deadline is None else deadline - time.perf_counter()

    def _solve(self, cost, rows, cand, deadline, integer=False, penalty=None) -> LPResult:
        return solve_restricted(
            self.data,
            rows,
            cost,
            cand,
            integer=integer,
            penalty=penalty,
            time_limit_s=self._remaining(deadline),
        )

    def _start_duals(self, cost, rows: Rows, deadline, key, allowed) -> np.ndarray:
        """The duals of this very problem if solved before; else the Lagrangian dual's
        ascent from a neighbouring solve's duals (same rows) or a sample LP's."""
        if key in self._warm_y:
            return self._warm_y[key]
        if self._last_y is not None and self._last_y[0] == list(rows.family):
            start = self._last_y[1]
        else:
            start = sample_duals(
                self.data, rows, cost, allowed, self.seed, SAMPLE_GROUPS, self._remaining(deadline)
            )
        magnitude = float(self.data.count @ np.abs(cost).mean(axis=1))
        return ascend_duals(
            self.data,
            rows,
            cost,
            allowed,
            start,
            y_max=1e3 * max(float(np.max(np.abs(cost))), 1e-12),
            tol=ASCENT_TOL * max(magnitude, 1e-12),
        )

    def _column_generation(self, cost, rows: Rows, deadline, key):
        """Restricted LPs with elastic coupling rows, priced until no column is missing.

        A restriction may not hold a feasible point, so its coupling rows may be violated
        at ``penalty`` per unit (a cost per query far above any query's cost difference);
        the duals then draw in the columns that repair it.  A final positive slack means
        the penalty was not exact, and the full problem is solved without slack.
        """
        d = self.data
        c_max = max(float(np.max(np.abs(cost))), 1e-12)
        tol = 1e-9 * max(c_max, 1.0)
        penalty = 1e3 * c_max
        allowed = undominated(d, cost)
        if d.shape[0] <= FULL_LP_GROUPS:
            cand = allowed.copy()
        else:
            y0 = self._start_duals(cost, rows, deadline, key, allowed)
            lagr0 = np.where(allowed, lagrangian(d, rows, cost, y0), np.inf)
            cand = candidates(
                lagr0, float(np.mean(np.abs(cost))), self.CANDIDATE_BAND, self.CANDIDATE_CAP
            )
        for rounds in range(1, MAX_ROUNDS + 2):
            elastic = not np.array_equal(cand, allowed)
            if rounds > MAX_ROUNDS:
                cand = allowed.copy()
                elastic = False
            lp = self._solve(cost, rows, cand, deadline, penalty=penalty if elastic else None)
            self.last_stats = {
                "method": "column generation",
                "rounds": rounds,
                "columns": int(cand.sum()),
            }
            if lp.status == "user_limit":
                return lp, cand, None
            if not lp.has_solution or lp.y is None:
                self._raise_infeasible(cost, rows, lp)
            lagr, least, best, short = price(d, rows, cost, allowed, cand, lp.y, tol)
            if not len(short):
                if lp.slack is not None and np.any(lp.slack > 1e-9):
                    cand = allowed.copy()  # penalty not exact: decide on the full problem
                    continue  # (which names the rows if it is infeasible)
                self._warm_y[key] = lp.y
                self._last_y = (list(rows.family), lp.y)
                return lp, cand, lagr - least[:, None]
            cand[short, best[short]] = True  # each short group's most negative column
        raise AssertionError("unreachable: the last round prices every column")

    def _raise_infeasible(self, cost, rows: Rows, lp: LPResult | None = None):
        if lp is not None and not lp.status.startswith("infeasible"):
            raise RuntimeError(f"the solver failed: {lp.status}")
        raise infeasibility(self.data, rows)

    def _integer(self, cost, rows, cand, reduced, lp, deadline):
        def solve(cols, integer=True, penalty=None):
            return self._solve(cost, rows, cols, deadline, integer=integer, penalty=penalty)

        alloc, status, how, gap = integer_plan(
            solve,
            self.data,
            cost,
            cand,
            reduced,
            lp,
            self._lp_summary(),
            lambda: infeasibility(self.data, rows, integer=True),
        )
        if gap is not None:
            self.last_stats["integrality_gap"] = gap
        return alloc, status, how

    @staticmethod
    def _timed_out():
        raise PlanningTimeout(
            "time limit reached before the LP was solved; no plan meeting "
            "the constraints was found in time"
        )
