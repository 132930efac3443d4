"""Capacity planning under load: how many instances of which arm (LLM, system, operating
point) to provision, slot by slot, to serve traffic within latency targets, and what it
costs in energy, carbon and money.

``arrivals`` (synthetic arrival processes), ``profile`` (requests with arrival times ->
per-slot load; traces aggregated out of core by ``measure.store.traces``), ``grid``
(hourly carbon intensity and price), ``options`` (serving arms -> candidate operating
points under the latency targets), ``problem`` (the MILP, written down in its docstring),
``baselines`` and ``plan`` (``plan_capacity`` -> ``CapacityPlan``).  Names load on first
use (``problem`` and ``plan`` need cvxpy).
"""

from planner._lazy import lazy_api

_PUBLIC = {
    "ArrivalSpec": "planner.capacity.arrivals",
    "parse_arrivals": "planner.capacity.arrivals",
    "synthetic_arrivals": "planner.capacity.arrivals",
    "synthetic_slot_counts": "planner.capacity.arrivals",
    "GridError": "planner.capacity.grid",
    "GridProfile": "planner.capacity.grid",
    "load_grid": "planner.capacity.grid",
    "LoadProfile": "planner.capacity.profile",
    "ProfileError": "planner.capacity.profile",
    "profile_from_trace": "planner.capacity.profile",
    "profile_from_workload": "planner.capacity.profile",
    "synthetic_profile": "planner.capacity.profile",
    "InfeasibleTargetError": "planner.capacity.options",
    "OPTION_COLUMNS": "planner.capacity.options",
    "apply_targets": "planner.capacity.options",
    "candidate_options": "planner.capacity.options",
    "pareto_front": "planner.capacity.options",
    "CapacityData": "planner.capacity.problem",
    "InfeasibleCapacityError": "planner.capacity.problem",
    "OBJECTIVES": "planner.capacity.problem",
    "run_baselines": "planner.capacity.baselines",
    "CapacityError": "planner.capacity.plan",
    "CapacityPlan": "planner.capacity.plan",
    "plan_capacity": "planner.capacity.plan",
}
__all__ = sorted(_PUBLIC)
__getattr__ = lazy_api(__name__, _PUBLIC)
