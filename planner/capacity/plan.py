"""A capacity plan: ``plan_capacity(profile, options, ...) -> CapacityPlan``.

``plan_capacity`` turns a load profile (``planner.capacity.profile``) and the candidate
options (``planner.capacity.options``) into the MILP's data (``planner.capacity.problem``),
solves it, and adds the baselines (``planner.capacity.baselines``).  ``CapacityPlan``
holds the result with its totals, warnings and figure-ready frames (``instances_frame``,
``energy_frame``, ``profile_frame``); ``to_json`` is the CLI's ``--json`` document.

What the figures leave out, said in every plan's warnings: energy is GPU energy at the
measured operating points plus per-GPU idle power (its source named), times the PUE;
CPU, memory and network are not in it; an instance is assumed to run at its option's
operating point while it serves and to idle otherwise (no ramp between the two).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.capacity.baselines import run_baselines
from planner.capacity.problem import (
    CapacityData,
    InfeasibleCapacityError,
    energy_terms,
    objective_terms,
    solve,
)
from planner.capacity.profile import LoadProfile
from planner.quantities import G_PER_KG, J_PER_KWH, S_PER_H

__all__ = [
    "CapacityError",
    "CapacityPlan",
    "InfeasibleCapacityError",
    "TOTAL_KEYS",
    "plan_capacity",
]

TOTAL_KEYS = (
    "energy_j",
    "active_energy_j",
    "idle_energy_j",
    "gpu_hours",
    "co2e_kg",
    "cost",
    "accuracy",
)


class CapacityError(ValueError):
    """Inputs a plan cannot use (no scores, no prices for the cost objective, ...)."""


@dataclass
class CapacityPlan:
    profile: LoadProfile
    options: pd.DataFrame
    data: CapacityData
    n: np.ndarray  # (T, O) instances
    w: np.ndarray  # (T, O) output tokens served
    served_requests: np.ndarray  # (T,) requests served in each slot
    objective: str
    zeta: float | None
    min_accuracy: float | None
    totals: dict
    baselines: dict[str, dict]
    warnings: list[str]
    solve_seconds: float
    method: str
    objective_value: float
    currency: str = "USD"
    settings: dict = field(default_factory=dict)

    # -- figure-ready frames ------------------------------------------------------------
    def instances_frame(self) -> pd.DataFrame:
        """Long: one row per (slot, option) provisioned: instances, GPUs, load."""
        t, o = np.nonzero(self.n)
        opts = self.options.iloc[o]
        cap = self.n[t, o] * self.data.throughput_tps[o] * self.data.slot_s
        return pd.DataFrame(
            {
                "slot": t,
                "start_h": t * self.data.slot_s / S_PER_H,
                "arm": opts["arm"].to_numpy(),
                "option": opts["option"].to_numpy(),
                "llm": opts["llm"].to_numpy(),
                "system": opts["system"].to_numpy(),
                "batch": opts["batch"].to_numpy(),
                "instances": self.n[t, o],
                "gpus": self.n[t, o] * self.data.gpus[o],
                "output_tokens": self.w[t, o],
                "capacity_output_tokens": cap,
                "utilisation": np.divide(self.w[t, o], cap, out=np.zeros(len(t)), where=cap > 0),
            }
        )

    def energy_frame(self) -> pd.DataFrame:
        """Per slot: active and idle energy (J, PUE included), CO2e, cost where known."""
        active, idle = energy_terms(self.data, self.n, self.w)
        out = pd.DataFrame(
            {
                "slot": np.arange(self.data.n_slots),
                "start_h": np.arange(self.data.n_slots) * self.data.slot_s / S_PER_H,
                "active_energy_j": active.sum(axis=1),
                "idle_energy_j": idle.sum(axis=1),
            }
        )
        out["energy_j"] = out["active_energy_j"] + out["idle_energy_j"]
        kwh = out["energy_j"] / J_PER_KWH
        d = self.data
        out["co2e_kg"] = (
            kwh * d.intensity_g_per_kwh / G_PER_KG if d.intensity_g_per_kwh is not None else np.nan
        )
        return out

    def profile_frame(self) -> pd.DataFrame:
        """The load profile per slot, with the grid's intensity and price where given."""
        out = self.profile.frame()
        out["served_requests"] = self.served_requests
        out["served_output_tokens"] = self.w.sum(axis=1)
        d = self.data
        out["gco2e_per_kwh"] = (
            d.intensity_g_per_kwh if d.intensity_g_per_kwh is not None else np.nan
        )
        out["price_per_kwh"] = d.price_per_kwh if d.price_per_kwh is not None else np.nan
        return out

    # -- JSON --------------------------------------------------------------------------
    def slots_json(self) -> list[dict]:
        opts = self.options
        slots = []
        starts = self.profile.slots["start_s"].to_numpy(float)
        for t in range(self.data.n_slots):
            tokens = float(self.w[t].sum())
            arms = []
            for o in np.flatnonzero(self.n[t]):
                row = opts.iloc[o]
                share = self.w[t, o] / tokens if tokens > 0 else 0.0
                ttft = row["ttft_ms_p90"]
                arms.append(
                    {
                        "arm": row["arm"],
                        "model": row["model"],
                        "system": row["system"],
                        "operating_point": {
                            "batch": float(row["batch"]),
                            "energy_per_token_j": float(row["energy_per_token_j"]),
                            "throughput_tps": float(row["throughput_tps"]),
                            "gpus_per_instance": int(row["gpus_per_instance"]),
                        },
                        "instances": int(self.n[t, o]),
                        "requests": float(share * self.served_requests[t]),
                        "output_tokens": float(self.w[t, o]),
                        "capacity_output_tokens": float(
                            self.n[t, o] * row["throughput_tps"] * self.data.slot_s
                        ),
                        "itl_ms_p90": float(row["itl_ms_p90"]),
                        "ttft_ms_p90": None if not np.isfinite(ttft) else float(ttft),
                    }
                )
            slots.append(
                {
                    "start": float(starts[t]),
                    "requests": float(self.served_requests[t]),
                    "output_tokens": tokens,
                    "arrived_requests": int(self.profile.slots["requests"].iloc[t]),
                    "arms": arms,
                }
            )
        return slots

    def to_json(self) -> dict:
        totals = dict(self.totals)
        totals["solve_seconds"] = self.solve_seconds
        totals["warnings"] = list(self.warnings)
        return _safe(
            {
                "objective": self.objective,
                "zeta": self.zeta,
                "min_accuracy": self.min_accuracy,
                "slot_seconds": self.data.slot_s,
                "currency": self.currency,
                "method": self.method,
                "settings": self.settings,
                "profile": {
                    "source": self.profile.source,
                    "slots": self.data.n_slots,
                    "requests": self.profile.n_requests,
                },
                "slots": self.slots_json(),
                "totals": totals,
                "baselines": {
                    k: {
                        key: v.get(key)
                        for key in (
                            *TOTAL_KEYS,
                            "feasible",
                            "objective_value",
                            "note",
                            "violations",
                        )
                    }
                    for k, v in self.baselines.items()
                },
            }
        )


def _safe(x):
    """JSON-safe: numpy scalars as Python numbers, NaN/inf as null."""
    if isinstance(x, dict):
        return {str(k): _safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_safe(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x


def _totals_fn():
    def totals(d: CapacityData, n: np.ndarray, w: np.ndarray) -> dict:
        active, idle = energy_terms(d, n, w)
        energy_t = active.sum(axis=1) + idle.sum(axis=1)
        gpu_h = n * d.gpus * d.slot_s / S_PER_H
        co2e = None
        if d.intensity_g_per_kwh is not None:
            co2e = float(np.sum(energy_t / J_PER_KWH * d.intensity_g_per_kwh) / G_PER_KG)
        cost = None
        if (
            d.price_per_kwh is not None
            and d.gpu_hour_price is not None
            and not np.isnan(d.gpu_hour_price).any()
        ):
            cost = float(
                np.sum(energy_t / J_PER_KWH * d.price_per_kwh) + np.sum(gpu_h * d.gpu_hour_price)
            )
        served = w.sum(axis=0)
        used = served > 0
        accuracy = None
        if used.any() and not np.isnan(d.accuracy[used]).any():
            accuracy = float(served[used] @ d.accuracy[used] / served[used].sum())
        return {
            "energy_j": float(active.sum() + idle.sum()),
            "active_energy_j": float(active.sum()),
            "idle_energy_j": float(idle.sum()),
            "gpu_hours": float(gpu_h.sum()),
            "co2e_kg": co2e,
            "cost": cost,
            "accuracy": accuracy,
        }

    return totals


def _gpu_prices(options: pd.DataFrame, fleet, gpu_hour_price) -> np.ndarray:
    """Price per GPU-hour of each option's system: the fleet's ``[system.X]``
    ``price_per_gpu_hour`` where it has such a field, else ``gpu_hour_price`` (one number
    for all, or a dict by system), else NaN (unknown)."""
    prices = []
    for system in options["system"]:
        spec = None if fleet is None else fleet.system.get(system)
        price = getattr(spec, "price_per_gpu_hour", None) if spec is not None else None
        if price is None and isinstance(gpu_hour_price, dict):
            price = gpu_hour_price.get(system)
        elif price is None and gpu_hour_price is not None:
            price = gpu_hour_price
        prices.append(math.nan if price is None else float(price))
    return np.array(prices, dtype=float)


def plan_capacity(
    profile: LoadProfile,
    options: pd.DataFrame,
    *,
    fleet=None,
    grid=None,
    objective: str = "energy",
    zeta: float | None = None,
    min_accuracy: float | None = None,
    gpu_hour_price=None,
    utilisation: float = 1.0,
    time_limit_s: float | None = None,
    baselines: bool = True,
    notes=(),
) -> CapacityPlan:
    """The optimal capacity plan for ``profile`` over ``options``; raises CapacityError
    (unusable inputs) or InfeasibleCapacityError (naming the constraint)."""
    t0 = time.perf_counter()
    warnings = list(notes) + list(profile.notes)
    if zeta is not None and min_accuracy is not None:
        raise CapacityError("give zeta or an accuracy floor, not both")
    if not 0 < float(utilisation) <= 1:
        raise CapacityError(f"the utilisation cap must be in (0, 1], got {utilisation}")
    options = options.reset_index(drop=True)
    uses_accuracy = (zeta is not None and float(zeta) < 1) or min_accuracy is not None
    unscored = sorted(set(options.loc[options["accuracy"].isna(), "llm"]))
    if uses_accuracy and unscored:
        scored = options["accuracy"].notna()
        if not scored.any():
            raise CapacityError(
                "no LLM among the serving arms has an accuracy score, so the accuracy "
                "trade-off cannot be planned; give scores in a fleet file "
                f'([llm."{unscored[0]}"] accuracy = ...) with --fleet, or plan without '
                "--zeta/--min-accuracy"
            )
        warnings.append(
            f"left out (no accuracy score, none invented): {', '.join(unscored)}; give "
            'one in the fleet file ([llm."NAME"] accuracy = ...) to plan with them'
        )
        options = options[scored].reset_index(drop=True)
    elif unscored:
        warnings.append(
            f"no accuracy score for {', '.join(unscored)}: the plan's accuracy is "
            "reported only where every LLM it uses has one"
        )
    facility = None if fleet is None else fleet.facility
    pue = 1.0 if facility is None else float(facility.pue)
    n_slots = profile.n_slots
    intensity = price = None
    if grid is not None:
        intensity, price = grid.per_slot(n_slots, profile.slot_s)
        warnings.append(f"carbon intensity and electricity price per slot from {grid.source}")
    else:
        if facility is not None and facility.carbon_g_per_kwh is not None:
            intensity = np.full(n_slots, float(facility.carbon_g_per_kwh))
        if facility is not None and facility.price_per_kwh is not None:
            price = np.full(n_slots, float(facility.price_per_kwh))
    gpu_prices = _gpu_prices(options, fleet, gpu_hour_price)
    if np.isnan(gpu_prices).any() or price is None:
        if objective == "cost":
            missing = sorted(set(options.loc[np.isnan(gpu_prices), "system"]))
            what = (
                f"a price per GPU-hour for {', '.join(missing)} (--gpu-hour-price)"
                if missing
                else "an electricity price (--grid or [facility] price_per_kwh)"
            )
            raise CapacityError(f"objective cost needs {what}")
        warnings.append(
            "cost: null (unknown: needs a price per GPU-hour, --gpu-hour-price, and an "
            "electricity price, --grid or [facility] price_per_kwh)"
        )
    if intensity is None:
        if objective == "carbon":
            raise CapacityError(
                "objective carbon needs a carbon intensity: --grid or [facility] "
                "carbon_g_per_kwh in the fleet"
            )
        warnings.append("co2e_kg: null (no carbon intensity: --grid or [facility] in the fleet)")
    limits = {}
    if fleet is not None:
        limits = {
            s: int(spec.devices) for s, spec in fleet.system.items() if spec.devices is not None
        }
    data = CapacityData(
        slot_s=profile.slot_s,
        demand_tokens=profile.fixed_output_tokens(),
        energy_per_token_j=options["energy_per_token_j"].to_numpy(float),
        throughput_tps=options["throughput_tps"].to_numpy(float),
        gpus=options["gpus_per_instance"].to_numpy(np.int64),
        idle_power_w=options["idle_power_w_per_gpu"].to_numpy(float),
        accuracy=options["accuracy"].to_numpy(float),
        system=options["system"].astype(str).to_numpy(),
        pue=pue,
        intensity_g_per_kwh=intensity,
        price_per_kwh=price,
        gpu_hour_price=None if np.isnan(gpu_prices).any() else gpu_prices,
        gpu_limits=limits,
        utilisation=float(utilisation),
        deferrable=profile.deferrable_classes(),
    )
    if data.deferrable:
        warnings.append(
            f"{len(data.deferrable)} deferrable request class(es) may move to later slots "
            "before their deadline"
        )
    sol = solve(data, objective, zeta=zeta, min_accuracy=min_accuracy, time_limit_s=time_limit_s)
    if sol.status == "time_limit":
        warnings.append(f"not proven optimal: {sol.method}")
    coef, _ = objective_terms(data, objective, zeta)
    value = float(np.sum(coef.per_token * sol.w) + np.sum(coef.per_instance * sol.n))
    totals_fn = _totals_fn()
    totals = totals_fn(data, sol.n, sol.w)
    served = _served_requests(profile, data, sol.flows)
    sources = sorted(set(options.loc[sol.n.sum(axis=0) > 0, "idle_source"].astype(str)))
    warnings.append(
        "energy: GPU energy at the options' operating points (prefill folded into energy "
        "per output token where no input lengths were measured) plus idle power of the "
        f"provisioned GPUs, times PUE {pue:g}; CPU, memory and network excluded; idle "
        f"power: {'; '.join(sources) if sources else 'none used'}"
    )
    solve_s = time.perf_counter() - t0
    base = {}
    if baselines:
        base = run_baselines(
            data, options, totals_fn, objective=objective, zeta=zeta, min_accuracy=min_accuracy
        )
    return CapacityPlan(
        profile=profile,
        options=options,
        data=data,
        n=sol.n,
        w=sol.w,
        served_requests=served,
        objective=objective,
        zeta=zeta,
        min_accuracy=min_accuracy,
        totals=totals,
        baselines=base,
        warnings=warnings,
        solve_seconds=solve_s,
        method=sol.method,
        objective_value=value,
        currency="USD" if facility is None else facility.currency,
        settings={"utilisation": float(utilisation), "pue": pue},
    )


def _served_requests(profile: LoadProfile, d: CapacityData, flows: np.ndarray) -> np.ndarray:
    """Requests served per slot: those that arrived and stayed, plus deferred ones moved
    in (requests move in proportion to their class's tokens)."""
    served = profile.slots["requests"].to_numpy(float).copy()
    rows = profile.deferrable
    if not len(rows) or flows.size == 0:
        return served
    classes = rows[rows["output_tokens"] > 0].reset_index(drop=True)
    for k, r in enumerate(classes.itertuples()):
        per_token = r.requests / r.output_tokens
        served[int(r.slot)] -= r.requests
        served += flows[k] * per_token
    return np.maximum(served, 0.0)
