"""One Planner per (workload, arms, fleet), with the plans, baselines and frontiers it made.

The dashboard caches a ``PlannerBundle`` (``st.cache_resource``), so moving zeta re-solves
the same Planner (its warm starts included) and a zeta already visited is not solved
again.  Sessions share bundles, so every use takes the bundle's lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

MAX_PLANS = 64
TIME_LIMIT_S = 15.0  # interactive solves end with the best plan found (and say so)
MAX_FRONTIERS = 8


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


class PlannerBundle:
    def __init__(self, arms, workload, fleet, seed: int = 0):
        from app_pages.imports import collector_paused

        with collector_paused():  # cvxpy and scipy: the plan's largest import
            from planner.report import summary as report  # noqa: F401  (used right after the plan)
            from planner.routing.optimize import Planner

        self.arms, self.workload, self.fleet, self.seed = arms, workload, fleet, seed
        self.planner = Planner(arms, workload, fleet, seed=seed)
        self.lock = threading.Lock()
        self._plans: OrderedDict = OrderedDict()
        self._frontiers: OrderedDict = OrderedDict()
        self._baselines = None
        self._accuracy_range = None

    @staticmethod
    def _remember(store: OrderedDict, key, value, limit: int):
        store[key] = value
        store.move_to_end(key)
        while len(store) > limit:
            store.popitem(last=False)
        return value

    def solve(
        self,
        objective: str = "paper",
        zeta: float = 0.5,
        min_accuracy: float | None = None,
        time_limit_s: float | None = TIME_LIMIT_S,
    ):
        """The plan for these settings (InfeasiblePlanError / PlanningTimeout propagate)."""
        key = (objective, _round(zeta) if objective == "paper" else None, _round(min_accuracy))
        with self.lock:
            if key in self._plans:
                self._plans.move_to_end(key)
                return self._plans[key]
            plan = self.planner.solve(
                objective, zeta=float(zeta), min_accuracy=min_accuracy, time_limit_s=time_limit_s
            )
            return self._remember(self._plans, key, plan, MAX_PLANS)

    def baselines(self) -> dict:
        """Every baseline plan (they do not depend on zeta or the accuracy floor)."""
        from planner.routing.baselines import run_baselines

        with self.lock:
            if self._baselines is None:
                self._baselines = run_baselines(
                    self.arms, self.workload, self.fleet, seed=self.seed, data=self.planner.data
                )
            return self._baselines

    def accuracy_range(self) -> tuple[float, float]:
        """(accuracy of the least-energy plan, best achievable), percent."""
        with self.lock:
            if self._accuracy_range is None:
                self._accuracy_range = self.planner.accuracy_range()
            return self._accuracy_range

    def zeta_frontier(self, zetas) -> list:
        zetas = tuple(_round(z) for z in zetas)
        return [self.solve("paper", zeta=z) for z in zetas]

    def accuracy_frontier(self, n_points: int = 11) -> tuple[list, list[str]]:
        """Least-energy plans at evenly spaced accuracy floors; skipped floors say why."""
        low, high = self.accuracy_range()
        floors = tuple(_round(f) for f in np.linspace(low, high, n_points))
        with self.lock:
            if floors in self._frontiers:
                return self._frontiers[floors]
            plans = self.planner.frontier(min_accuracies=floors, time_limit_s=TIME_LIMIT_S)
            skipped = list(self.planner.last_stats.get("skipped", []))
            return self._remember(self._frontiers, floors, (plans, skipped), MAX_FRONTIERS)
