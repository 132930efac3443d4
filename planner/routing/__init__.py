"""Routing queries to arms (LLM, system): the optimisation problem, its solver, baselines.

``arms`` builds arms from fits and a fleet; ``plan`` holds the planning data and the
``Plan`` every planner and baseline returns; ``constraints`` the coupling rows;
``optimize`` the ``Planner`` (column generation, integer phase, tie-break; the solver
stages are the private ``_*`` modules); ``baselines`` the policies a plan is compared with;
``paper_milp`` the paper's per-query formulation, kept as a reference.
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
