"""Planners over the reference catalogue's fits, with the fleet built as the dashboard
builds it (``planner.fleet.table``), for the report tests."""

from __future__ import annotations

import functools

from planner.fits.catalogue import load_catalogue
from planner.fleet.spec import Fleet
from planner.fleet.table import fleet_dict, llm_table, models_and_systems
from planner.report.exports import PlanSetup
from planner.report.fit_views import estimated_arms
from planner.routing.arms import build_arms
from planner.routing.baselines import run_baselines
from planner.routing.optimize import Planner

FITS_LABEL = "Reference catalogue (published fits and fits of the paper's data)"
FLEET_ARGS = {"devices": 8, "window_h": 24.0, "min_share_fraction": 0.25}
FACILITY = {"pue": 1.2, "carbon_g_per_kwh": 400.0, "price_per_kwh": 0.15}


@functools.cache
def catalogue():
    return load_catalogue()


def catalogue_fleet(reports=None) -> Fleet:
    """The dashboard's fleet for ``reports`` (every catalogue fit by default)."""
    cat = catalogue()
    models, systems = models_and_systems(cat.reports if reports is None else reports)
    table = llm_table(models, cat.gpus_per_instance)
    return Fleet.from_dict(fleet_dict(table, systems, **FLEET_ARGS, facility=FACILITY))


def catalogue_planner(workload) -> Planner:
    fleet = catalogue_fleet()
    return Planner(build_arms(catalogue().reports, fleet), workload, fleet)


def baselines(planner: Planner) -> dict:
    return run_baselines(planner.data.arms, planner.data.workload, planner.fleet, data=planner.data)


def setup(planner: Planner, settings: dict | None = None) -> PlanSetup:
    cat = catalogue()
    return PlanSetup(
        fleet=planner.fleet,
        fits=FITS_LABEL,
        citation=cat.citation,
        settings=settings or {},
        estimated_arms=estimated_arms(cat.reports),
    )


def code_trace_tokens(n: int = 400, seed: int = 7):
    """(input, output) tokens shaped like a code trace: prompts ~1,500 tokens, outputs ~13."""
    import numpy as np

    rng = np.random.default_rng(seed)
    tin = np.clip(np.round(rng.lognormal(np.log(1500), 0.5, n)), 16, 8000).astype(np.int64)
    tout = np.clip(np.round(rng.lognormal(np.log(13), 0.6, n)), 1, 256).astype(np.int64)
    return tin, tout


def code_trace(n: int = 400, seed: int = 7):
    """A code-trace-shaped workload (``code_trace_tokens``)."""
    import pandas as pd

    from planner.workload.load import Workload

    tin, tout = code_trace_tokens(n, seed)
    queries = pd.DataFrame({"input_tokens": tin, "output_tokens": tout, "task": "code", "count": 1})
    return Workload(queries, "code-trace")


def default_planner(workload, fleet: Fleet | None = None) -> Planner:
    """A planner over every catalogue fit with the defaults: the fleet file's defaults (no
    capacity, no shares) and the best form per arm for this workload."""
    fleet = fleet or Fleet()
    return Planner(build_arms(catalogue().reports, fleet, workload=workload), workload, fleet)
