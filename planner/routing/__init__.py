"""Routing queries to arms (LLM, system): the optimisation problem, its solver, baselines.

``problem`` writes the problem down (objective, variables, rows) and holds
``RoutingProblem``, the object the solver stages work on; ``constraints`` builds the
planner's coupling rows (a new constraint goes there) and names the one that cannot be met;
``optimize`` holds the ``Planner``, which runs the private stages (``_pricing``: column
generation; ``_integer``: the integer phase; ``_tiebreak``: least energy among optimal
plans; ``_lp``: one LP/MILP for HiGHS).  ``arms`` builds arms from fits and a fleet;
``plan`` holds the planning data and the ``Plan`` every planner and baseline returns;
``baselines`` the policies a plan is compared with; ``paper_milp`` the paper's per-query
formulation, kept as a reference.
"""

from planner.routing.arms import Arm, ArmError, build_arms
from planner.routing.baselines import run_baselines
from planner.routing.constraints import InfeasiblePlanError
from planner.routing.optimize import OBJECTIVES, Planner, PlanningTimeout
from planner.routing.plan import Plan

__all__ = [
    "Arm",
    "ArmError",
    "InfeasiblePlanError",
    "OBJECTIVES",
    "Plan",
    "Planner",
    "PlanningTimeout",
    "build_arms",
    "run_baselines",
]
