"""The energy-optimal routing of a workload's queries to arms (LLM, system): ``Planner``.

The problem (objectives, variables, rows) is written down in ``planner.routing.problem``;
the coupling rows are built in ``planner.routing.constraints``.  A ``Planner`` builds the
planning data once and solves it for many objectives, zetas and accuracy floors.

Solving one plan:

1. LP by column generation over exact LP duals (``_pricing``).  Small problems start
   from every undominated column; larger ones from, per group, the arms whose Lagrangian
   cost is (near) the least under duals from the previous solve with the same rows, or
   from an LP over a sample of queries, improved by a cutting-plane ascent of the
   Lagrangian dual.  Each restricted LP is solved with HiGHS (interior point with
   crossover, which returns a vertex); pricing every left-out column against its duals
   adds those of negative reduced cost, until none is left -- that certifies the
   restricted optimum optimal for the full LP.  Without coupling rows every group simply
   takes its cheapest arm.
2. Integrality (``_integer``).  Group rows plus share rows form a bipartite incidence
   matrix (totally unimodular), so with integral counts and shares the LP vertex is
   integral; capacity and accuracy rows can make it fractional.  If it is, the integer
   program is solved (HiGHS MILP) over the columns whose LP reduced cost is within the gap
   between an integer solution and the LP bound -- no other column can appear in a better
   integer solution, so that optimum is the full problem's.  Nothing is rounded.
3. Ties (``_tiebreak``): of plans with the optimal paper objective, the least energy (a
   lexicographic second stage; at zeta = 0 energy is otherwise no part of the choice).
"""

from __future__ import annotations

import time

import numpy as np

from planner.fleet.spec import Fleet
from planner.routing._integer import INTEGRAL_TOL, integer_plan
from planner.routing._pricing import (
    ColumnGeneration,
    ascend_duals,
    candidates,
    column_generation,
    sample_duals,
)
from planner.routing._tiebreak import energy_ties, least_energy
from planner.routing.arms import Arm
from planner.routing.constraints import (
    InfeasiblePlanError,
    coupling_rows,
    infeasibility,
    lexicographic_argmin,
    precheck,
    raise_devices,
    undominated,
)
from planner.routing.plan import Plan, PlanData, make_plan
from planner.routing.problem import (
    OBJECTIVES,
    PlanningTimeout,
    RoutingProblem,
    energy_scale,
    objective_cost,
    objective_value,
)
from planner.workload.load import Workload

__all__ = ["Planner", "Plan", "InfeasiblePlanError", "PlanningTimeout", "OBJECTIVES"]

SAMPLE_GROUPS = 1000  # groups in the LP that supplies starting duals
FULL_LP_GROUPS = 3000  # below this, solve over every column at once
MAX_ROUNDS = 8  # column-generation rounds before solving over every column
TIEBREAK_TIME_S = 2.0  # the least-energy second stage's own limit (the plan is optimal
# before it; a stage cut short keeps the best it found)
ASCENT_TOL = 1e-8  # dual ascent stops this close (relative) to its model's bound


def _energy_text(joules: float) -> str:
    return f"{joules / 3.6e6:.3g} kWh" if joules >= 3.6e5 else f"{joules:.3g} J"


class Planner:
    """Routes one workload over a set of arms; build once, solve many times.

    A plan's ``message`` says in plain words how the solve ended (optimal; or stopped at
    the time limit, how far from optimal at most, and the next step); its ``detail`` keeps
    the solver's account (LP, integer program, columns, certificates).  Errors say what
    cannot be met and what would make it feasible."""

    # Per group, the arms within CANDIDATE_BAND x mean |cost| of the least Lagrangian cost
    # (at most CANDIDATE_CAP) enter the first LP.  The ascent's duals are near exact, so a
    # narrow band suffices; the cap is loose because at zeta = 0 an LLM's arms on all its
    # systems tie, and the arm that fills a capacity must be among them.
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
        cost = objective_cost(self.data, objective, zeta)
        rows = coupling_rows(self.data, self._check_floor(min_accuracy))
        precheck(self.data, rows)
        try:
            alloc, status, how = self._allocate(
                RoutingProblem(self.data, rows, cost, deadline=deadline),
                (objective, zeta if objective == "paper" else None, rows.key()),
                ties=self._ties(objective, zeta),
            )
            self._check_feasible(alloc, min_accuracy, status)
        except PlanningTimeout as exc:
            raise PlanningTimeout(
                self._timeout_message(cost, time_limit_s), detail=str(exc)
            ) from exc
        value = objective_value(self.data, alloc, objective, zeta)
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
            message=self._headline(status, how, objective, value, time_limit_s),
            detail=how,
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
        most_accurate = RoutingProblem(self.data, rows, -self.data.normalised()[1])
        alloc, _, _ = self._allocate(most_accurate, ("max-accuracy", None, rows.key()))
        high = float(np.sum(alloc * self.data.acc_tokens)) / self.data.total_tokens
        return low, high

    # -- plain words ---------------------------------------------------------------------
    def _headline(self, status, how, objective, value, time_limit_s) -> str:
        """How the solve ended, in a sentence a planner's user acts on; ``how`` (the plan's
        ``detail``) keeps the solver's account."""
        if status == "optimal":
            proof = (
                " (an integer program proved it: the LP relaxation split some queries)"
                if self.last_stats.get("integer")
                else ""
            )
            return f"Optimal: no plan that meets these settings does better{proof}."
        limit = f"the {time_limit_s:g} s time limit" if time_limit_s else "the time limit"
        gap = self.last_stats.get("integrality_gap")
        if gap is None:
            within = "the best plan found in time"
        elif objective == "energy":
            gap_j = gap * energy_scale(self.data)
            share = f" ({100 * gap_j / value:.2g} %)" if value > 0 else ""
            within = f"within {_energy_text(gap_j)}{share} of the least energy possible"
        else:
            share = f" ({100 * gap / abs(value):.2g} % of it)" if value else ""
            within = f"within {gap:.3g}{share} of the best objective value possible"
        return (
            f"Stopped at {limit}: this plan is {within}, not proven optimal; allow more "
            "time to prove it (or to find a better one)."
        )

    def _timeout_message(self, cost: np.ndarray, time_limit_s) -> str:
        """No plan in time: say so, and the capacity the cheapest plan would need where
        capacity binds (binding capacity is what makes large plans slow)."""
        d = self.data
        limit = f"the {time_limit_s:g} s time limit" if time_limit_s else "the time limit"
        base = (
            f"no plan meeting the constraints was found within {limit} "
            f"({d.n_queries:,} queries, {d.shape[0]:,} distinct)"
        )
        cheapest = np.zeros(d.shape, dtype=np.int64)
        best = lexicographic_argmin(
            np.where(d.allowed, cost, np.inf), np.where(d.allowed, d.energy_j, np.inf)
        )
        cheapest[np.arange(d.shape[0]), best] = d.count
        used = d.capacity_use(cheapest)
        over = {
            system: float(used[s])
            for s, system in enumerate(d.systems)
            if used[s] > d.capacity_device_s[s] * (1 + 1e-9)
        }
        if not over:
            return f"{base}: allow more time"
        names = ", ".join(over)
        return (
            f"{base}. The capacity of {names} binds: the cheapest plan needs more than it "
            f"has, which makes the problem hard. Next step: {raise_devices(d, over)} (the "
            "plan then solves quickly), or allow more time"
        )

    # -- checks ------------------------------------------------------------------------
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

    @staticmethod
    def _ties(objective: str, zeta: float) -> str | None:
        """At zeta = 0 energy is no part of the cost: equal costs are everywhere."""
        if objective != "paper":
            return None
        return "all" if float(zeta) == 0.0 else "exact"

    # -- solving -----------------------------------------------------------------------
    def _allocate(self, problem: RoutingProblem, key, ties=None) -> tuple[np.ndarray, str, str]:
        """(allocation, status, how).  ``ties`` "all": of the plans of optimal cost, the
        least energy; "exact": the same, when some query has arms of exactly equal cost."""
        d = self.data
        if not len(problem.rows):
            alloc = np.zeros(d.shape, dtype=np.int64)
            best = lexicographic_argmin(
                np.where(d.allowed, problem.cost, np.inf), np.where(d.allowed, d.energy_j, np.inf)
            )
            alloc[np.arange(d.shape[0]), best] = d.count
            self.last_stats = {"method": "argmin", "rounds": 0, "columns": d.shape[0]}
            return (
                alloc,
                "optimal",
                (
                    "no coupling constraints: every distinct query takes "
                    "its cheapest arm that can take it (of equal costs, the least energy; "
                    "integral by construction)"
                ),
            )
        lp, cand, reduced, _ = self._column_generation(problem, key)
        if np.any(np.abs(lp.x - np.rint(lp.x)) > INTEGRAL_TOL):
            self.last_stats["integer"] = True
            alloc, status, how, gap = integer_plan(problem, cand, reduced, lp, self._lp_summary())
            if gap is not None:
                self.last_stats["integrality_gap"] = gap
        else:
            alloc, status = problem.allocation(cand, lp.x), "optimal"
            how = (
                f"LP optimum is an integral vertex ({self._lp_summary()}): "
                "no integer program needed"
            )
        if status == "optimal" and (
            ties == "all" or ties == "exact" and energy_ties(problem, np.isfinite(reduced))
        ):
            ties_by = time.perf_counter() + TIEBREAK_TIME_S
            if problem.deadline is not None:
                ties_by = min(problem.deadline, ties_by)
            alloc, note = least_energy(problem, alloc, lp, reduced, ties_by)
            how += note
        return alloc, status, how

    def _lp_summary(self) -> str:
        s = self.last_stats
        return (
            f"{s.get('columns')} of {self.data.shape[0] * self.data.shape[1]} columns, "
            f"{s.get('rounds')} pricing round(s)"
        )

    def _column_generation(self, problem: RoutingProblem, key) -> ColumnGeneration:
        """The LP optimum over the undominated columns, with the reduced costs of all of
        them; raises when the LP is infeasible or the time limit ends first."""
        allowed = undominated(problem)
        if problem.shape[0] <= FULL_LP_GROUPS:
            cand = allowed.copy()
        else:
            y0 = self._start_duals(problem, key, allowed)
            lagr0 = np.where(allowed, problem.lagrangian(y0), np.inf)
            cand = candidates(
                lagr0, float(np.mean(np.abs(problem.cost))), self.CANDIDATE_BAND, self.CANDIDATE_CAP
            )
        result = column_generation(problem, allowed, cand, MAX_ROUNDS)
        lp = result.lp
        self.last_stats = {
            "method": "column generation",
            "rounds": result.rounds,
            "columns": int(result.cand.sum()),
        }
        if lp.status == "user_limit":
            raise PlanningTimeout(
                "time limit reached before the LP was solved; no plan meeting "
                "the constraints was found in time"
            )
        if result.reduced is None:
            if not lp.status.startswith("infeasible"):
                raise RuntimeError(f"the solver failed: {lp.status}")
            raise infeasibility(problem.data, problem.rows)
        self._warm_y[key] = lp.y
        self._last_y = (list(problem.rows.family), lp.y)
        return result

    def _start_duals(self, problem: RoutingProblem, key, allowed) -> np.ndarray:
        """The duals of this very problem if solved before; else the Lagrangian dual's
        ascent from a neighbouring solve's duals (same rows) or a sample LP's."""
        if key in self._warm_y:
            return self._warm_y[key]
        if self._last_y is not None and self._last_y[0] == list(problem.rows.family):
            start = self._last_y[1]
        else:
            start = sample_duals(problem, allowed, self.seed, SAMPLE_GROUPS)
        return ascend_duals(
            problem,
            allowed,
            start,
            y_max=problem.penalty,
            tol=ASCENT_TOL * max(problem.magnitude, 1e-12),
        )
