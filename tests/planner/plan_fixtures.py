"""Arms built from the published coefficients (shared README table), for planner tests.

The coefficients are the paper's (Wilkins, Keshav, Mortier, HotCarbon '24; thesis Tables
5.2/5.3): energy e = a0*tin + a1*tout + a2*tin*tout (J, GPU only), runtime likewise (s).
Covariances are made up (small, diagonal) so the energy interval has something to propagate.
"""

from __future__ import annotations

import numpy as np

from planner.fits.curves import Curve, FitReport
from planner.fleet.spec import Fleet
from planner.routing.arms import build_arms

PAPER_TERMS = ("tin", "tout", "tin*tout")
PUBLISHED = {
    "falcon-7b": ((-8.808288, 41.282211, 0.089089), (-0.024520, 0.107277, 2.422806e-04)),
    "Llama-2-7b-chat-hf": ((-3.894991, 31.522735, 0.042712), (-0.010021, 0.083515, 1.069880e-04)),
    "Llama-2-13b-chat-hf": ((-6.794323, 56.008311, 0.072861), (-0.017357, 0.142605, 1.847095e-04)),
    "Mistral-7B-v0.1": ((-3.124223, 31.694194, 0.035282), (-0.007800, 0.081008, 8.763391e-05)),
    "falcon-40b": ((-20.76, 197.37, 0.235), (-0.0361, 0.362, 4.02e-04)),
    "Llama-2-70b-chat-hf": ((-12.03, 414.82, 0.315), (-0.0312, 0.703, 5.33e-04)),
    "Mixtral-8x7B-v0.1": ((-8.48, 105.54, 0.0986), (-0.0134, 0.296, 1.50e-04)),
}


def report(
    model,
    system,
    target,
    coef,
    terms=PAPER_TERMS,
    form="paper",
    sources=("imported",),
    cov_scale=1e-4,
    clip=False,
):
    coef = np.asarray(coef, float)
    cov = np.diag((coef * cov_scale) ** 2) if cov_scale is not None else None
    curve = Curve(
        terms=terms,
        coef=coef,
        target=target,
        coef_cov=cov,
        tin_range=(8.0, 2048.0),
        tout_range=(8.0, 2048.0),
        clip_negative=clip,
    )
    return FitReport(
        model=model,
        system=system,
        target=target,
        form=form,
        curve=curve,
        energy="gpu" if target == "energy" else None,
        energy_sources=list(sources) if target == "energy" else [],
        source="test fixture: published coefficients",
    )


def published_reports(models=None, system="argonne-swing"):
    out = []
    for model, (e, r) in PUBLISHED.items():
        if models is None or model in models:
            out.append(report(model, system, "energy", e))
            out.append(report(model, system, "runtime", r))
    return out


def published_arms(models=None, fleet=None):
    return build_arms(published_reports(models), fleet or Fleet(), energy="gpu")


def random_arms(n_arms, rng, n_models=None, systems=("s0", "s1", "s2")):
    """Arms with random positive linear curves (1, tin, tout) on a few systems."""
    reports = []
    names = [f"m{i}" for i in range(n_models or n_arms)]
    fleet_llm = {}
    for k in range(n_arms):
        model, system = names[k % len(names)], systems[(k // len(names)) % len(systems)]
        e = rng.uniform([0.5, 0.01, 0.5], [2.0, 0.2, 3.0])
        r = rng.uniform([0.01, 1e-4, 0.01], [0.05, 1e-3, 0.05])
        reports.append(report(model, system, "energy", e, ("1", "tin", "tout"), clip=True))
        reports.append(report(model, system, "runtime", r, ("1", "tin", "tout"), clip=True))
        fleet_llm[model] = {"accuracy": float(rng.uniform(30, 70))}
    return reports, fleet_llm
