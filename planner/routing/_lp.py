"""One LP (or integer program) over a list of columns, written with cvxpy for HiGHS.

    minimise    sum_j c_j x_j  (+ penalty * sum s when the coupling rows are elastic)
    subject to  sum_{j in group g} x_j = n_g          for every group g
                B x (+ s) >= b                        (the coupling rows; s >= 0)
                x >= 0  (integer when asked)

The coupling rows are all ``>=`` rows, so their duals ``y`` are >= 0 and a column's
Lagrangian cost is c_j - B_j' y.  ``planner.routing.problem`` maps (group, arm) columns to
this list and back.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

# interior point with crossover: fast on these LPs, and crossover returns a vertex (an
# integral one wherever the rows allow) with exact duals for pricing
LP_OPTIONS = {"solver": "ipm", "run_crossover": "on", "output_flag": False}
# Integer programs stop at a gap of 1e-6 of the objective's magnitude (sum over queries of
# the mean |cost| over arms): far below any fit's error.  ``RoutingProblem.solve`` passes it
# as an absolute gap, since the groups it fixes leave a remainder whose own relative gap
# would mean far less.
MIP_REL_GAP = 1e-6
MILP_OPTIONS = {"mip_rel_gap": MIP_REL_GAP, "mip_abs_gap": 1e-9, "output_flag": False}
_banner_lock = threading.Lock()
_banner_done = False


def silence_highs_banner() -> None:
    """HiGHS prints a banner on stdout when the first solver object of a process is made;
    make that object with stdout pointed at /dev/null so ``--json`` output stays clean."""
    global _banner_done
    with _banner_lock:
        if _banner_done:
            return
        import highspy

        sys.stdout.flush()
        saved = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        _banner_done = True


@dataclass
class LPResult:
    status: str  # cvxpy status: optimal, infeasible, user_limit, ...
    x: np.ndarray | None  # column values
    y: np.ndarray | None  # duals of the coupling rows (LP only)
    value: float | None
    seconds: float
    integer: bool
    slack: np.ndarray | None = None  # elastic slack of the coupling rows, where allowed

    @property
    def has_solution(self) -> bool:
        return self.x is not None and self.status in ("optimal", "optimal_inaccurate", "user_limit")


def group_matrix(gi: np.ndarray, n_groups: int) -> sp.csr_matrix:
    return sp.csr_matrix((np.ones(len(gi)), (gi, np.arange(len(gi)))), shape=(n_groups, len(gi)))


def solve_columns(
    cost: np.ndarray,
    gi: np.ndarray,
    counts: np.ndarray,
    coupling: sp.spmatrix | None,
    rhs: np.ndarray | None,
    *,
    integer: bool = False,
    time_limit_s: float | None = None,
    penalty: float | None = None,
    mip_abs_gap: float | None = None,
) -> LPResult:
    """Solve over columns ``j`` with costs ``cost[j]`` in groups ``gi[j]``.

    ``penalty`` makes the coupling rows elastic: B x + s >= b with s >= 0 costing
    ``penalty`` per unit, so a restricted column set is never infeasible; the result's
    ``slack`` says whether any row needed it.  A run stopped by the time limit keeps its
    point only if that point meets every row (HiGHS hands back zeros when it found none).
    """
    silence_highs_banner()
    has_coupling = coupling is not None and coupling.shape[0] > 0
    if not has_coupling:
        coupling = None
    problem, x, slack, rows = _problem(cost, gi, counts, coupling, rhs, integer, penalty)
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():  # status is checked by the caller
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            problem.solve(
                solver=cp.HIGHS, highs_options=_options(integer, mip_abs_gap, time_limit_s)
            )
    except cp.error.SolverError as exc:
        return LPResult(f"solver_error: {exc}", None, None, None, time.perf_counter() - t0, integer)
    seconds = time.perf_counter() - t0
    xv = None if x.value is None else np.asarray(x.value, dtype=float)
    sv = None if slack is None or slack.value is None else np.asarray(slack.value, float)
    if (
        problem.status == "user_limit"
        and xv is not None
        and not _meets_rows(xv, sv, gi, counts, coupling, rhs)
    ):
        xv = sv = None
    y = None
    if rows is not None and not integer and rows.dual_value is not None:
        y = np.maximum(np.asarray(rows.dual_value, dtype=float).ravel(), 0.0)
    elif not integer:
        y = np.zeros(0)
    value = (
        None
        if xv is None or problem.value is None or not np.isfinite(problem.value)
        else float(problem.value)
    )
    return LPResult(problem.status, xv, y, value, seconds, integer, sv)


def _problem(cost, gi, counts, coupling, rhs, integer, penalty):
    """(problem, x, slack or None, the coupling constraint or None)."""
    x = cp.Variable(len(cost), integer=integer)
    cons = [group_matrix(gi, len(counts)) @ x == counts, x >= 0]
    objective = cost @ x
    slack = rows = None
    if coupling is not None:
        lhs = sp.csr_matrix(coupling) @ x
        if penalty is not None:
            slack = cp.Variable(coupling.shape[0], nonneg=True)
            lhs = lhs + slack
            objective = objective + penalty * cp.sum(slack)
        rows = lhs >= rhs
        cons.append(rows)
    return cp.Problem(cp.Minimize(objective), cons), x, slack, rows


def _options(integer: bool, mip_abs_gap: float | None, time_limit_s: float | None) -> dict:
    opts = dict(MILP_OPTIONS if integer else LP_OPTIONS)
    if integer and mip_abs_gap is not None:
        opts.update(mip_rel_gap=0.0, mip_abs_gap=float(mip_abs_gap))
    if time_limit_s is not None:
        opts["time_limit"] = float(max(time_limit_s, 1e-3))
    return opts


def _meets_rows(x, slack, gi, counts, coupling, rhs, tol: float = 1e-6) -> bool:
    """Whether a point meets the group rows, x >= 0 and the coupling rows (with its slack)."""
    served = np.bincount(gi, weights=x, minlength=len(counts))
    if np.any(np.abs(served - counts) > tol * np.maximum(1.0, counts)) or np.any(x < -tol):
        return False
    if coupling is None:
        return True
    lhs = sp.csr_matrix(coupling) @ x + (0.0 if slack is None else slack)
    return bool(np.all(lhs >= np.asarray(rhs) - tol * np.maximum(1.0, np.abs(rhs))))
