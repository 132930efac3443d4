"""The energy, time and latency of serving a workload on one serving arm (LLM x system).

``estimate(workload, arm, devices=...)`` serves the workload's requests on
``devices // arm.setup.n_gpus`` instances of the arm, each limited to the batch with the
lowest energy per token that meets the latency target (``OperatingPointModel.best_batch``):

- With arrival times (a workload column ``arrival_s``), the requests go through the
  continuous-batching simulation of ``planner.serving.queueing``: the batch each instance
  runs at follows the load, so a lightly loaded server runs small batches at a higher
  energy per token, and the GPUs draw idle power whenever an instance has nothing in flight.
- Without arrival times, every request is there at once and is served back to back at
  that batch; instances go idle only in the tail, when the last requests drain.  Up to
  ``MAX_SIMULATED_REQUESTS`` requests this is the same simulation with every arrival at 0;
  above it, the fluid figure (output tokens / (instances x T(B)), no tail), which says so.

Energy: active energy (the source's mean power at each batch x the seconds spent there;
that power includes the GPUs' own baseline while serving) + idle energy (per-GPU idle power
x GPUs x the seconds an instance has nothing in flight, from the first arrival to the last
completion or ``horizon_s``), times the facility's PUE.  Idle power comes from
``planner.serving.idle``.  Carbon and cost only where the facility gives an intensity or a
price; figures the data cannot give (TTFT without TTFT data, say) are None with a warning.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from planner.fleet.spec import Facility
from planner.quantities import G_PER_KG, J_PER_KWH
from planner.serving.catalogue import IDLE_NOTE
from planner.serving.idle import IdlePower, IdlePowerError
from planner.serving.idle import idle_power as lookup_idle_power
from planner.serving.queueing import QueueResult, simulate

__all__ = ["Estimate", "EstimateError", "MAX_SIMULATED_REQUESTS", "estimate"]

# Above this many requests (after counts are expanded) a back-to-back workload is served
# as a fluid; a timed workload is refused.  The simulation runs ~100k requests in about
# half a second on one core, so this keeps an estimate to seconds.
MAX_SIMULATED_REQUESTS = 2_000_000
ITL_QUANTILE = 90.0


class EstimateError(ValueError):
    """The estimate cannot be made as asked; the message says which setting is why."""


@dataclass
class Estimate:
    """Figures of one estimate (SI units in the names), with what they leave out."""

    setup: str
    source: str
    mode: str  # 'simulated' (arrival times), 'back-to-back', 'fluid'
    n_requests: int
    output_tokens: int
    instances: int
    gpus: int
    gpus_per_instance: int
    max_batch: int
    operating_point: dict
    energy_j: float
    gpu_energy_j: float
    active_energy_j: float
    idle_energy_j: float
    pue: float
    idle_power_w: float
    idle_power_kind: str
    idle_source: str
    duration_s: float
    busy_fraction: float | None
    mean_batch: float | None
    # active GPU energy per output token as served (the operating point's figure is at the
    # cap; a server below the cap runs smaller batches at more energy per token)
    realised_energy_per_token_j: float | None
    itl_ms_p90: float | None
    ttft_ms_p90: float | None
    wait_s_p90: float | None
    e2e_s_p90: float | None
    co2e_kg: float | None
    cost: float | None
    currency: str
    caveats: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def energy_kwh(self) -> float:
        return self.energy_j / J_PER_KWH

    def to_json(self) -> dict:
        """A dict for ``json.dumps``: non-finite figures become None."""
        out = asdict(self)
        out["energy_kwh"] = self.energy_kwh
        return _finite(out)


def _finite(value):
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _number(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _check_finite(name: str, value: float | None, least: float, strict: bool = False) -> None:
    """An EstimateError unless ``value`` is None or a finite number >= ``least`` (> when
    ``strict``): inf or NaN would pass a plain comparison and spread through every figure."""
    if value is None:
        return
    ok = math.isfinite(value) and (value > least if strict else value >= least)
    if not ok:
        bound = f"> {least:g}" if strict else f">= {least:g}"
        raise EstimateError(f"{name} must be a finite number {bound}, not {value}")


def _nonnegative(name: str, value: float) -> float:
    """A computed energy: NaN or inf is a fault named here; a negative rounding residue of a
    sum of non-negative terms is floored at 0."""
    if not math.isfinite(value):
        raise EstimateError(f"the {name} came out as {value}: the model or inputs are not finite")
    return max(float(value), 0.0)


def _percent(share: float) -> str:
    """A share as a percentage a reader parses: '100%', '12.5%', '0.042%'."""
    return f"{100.0 * share:.3g}%"


def _requests(workload) -> tuple[np.ndarray | None, np.ndarray]:
    """(arrival seconds or None, output tokens), one entry per request (counts expanded)."""
    q = workload.queries
    count = q["count"].to_numpy(dtype=np.int64)
    n = int(count.sum())
    if n > MAX_SIMULATED_REQUESTS and "arrival_s" in q.columns:
        raise EstimateError(
            f"workload {workload.name!r} has {n:,} requests with arrival times, over the "
            f"{MAX_SIMULATED_REQUESTS:,} the simulation takes; use a shorter trace"
        )
    if n > MAX_SIMULATED_REQUESTS:
        return None, q["output_tokens"].to_numpy(dtype=np.int64)  # fluid: only totals used
    tokens = np.repeat(q["output_tokens"].to_numpy(dtype=float), count)
    if "arrival_s" not in q.columns:
        return None, tokens
    return np.repeat(q["arrival_s"].to_numpy(dtype=float), count), tokens


@dataclass
class _Curves:
    """The operating points at integer batches 0..max_batch (index = batch)."""

    throughput_tps: np.ndarray
    power_w: np.ndarray
    itl_ms_p90: np.ndarray
    ttft_ms_p90: np.ndarray | None


def _curves(model, max_batch: int) -> _Curves:
    grid = np.arange(1, max_batch + 1, dtype=float)
    many = getattr(model, "predict_many", None)
    points = None if many is not None else [model.predict(b) for b in grid]

    def column(name):
        if points is None:
            if name == "power_w":  # derived, as OperatingPoint.power_w is
                return np.full(max_batch + 1, np.nan)
            if name == "ttft_ms_p90" and not getattr(model, "has_ttft_", False):
                return np.full(max_batch + 1, np.nan)
            values = many(name, grid)
        else:
            values = [np.nan if getattr(p, name) is None else getattr(p, name) for p in points]
        return np.concatenate([[np.nan], np.asarray(values, dtype=float)])

    tps = column("throughput_tps")
    power = column("power_w")
    energy = column("energy_per_token_j")
    # power_w is energy per token x throughput unless the model fitted it apart
    power = np.where(np.isfinite(power), power, energy * tps)
    ttft = column("ttft_ms_p90")
    has_ttft = bool(getattr(model, "has_ttft_", False)) and np.isfinite(ttft[1:]).all()
    bad = [b for b in range(1, max_batch + 1) if not (tps[b] > 0 and power[b] >= 0)]
    if bad:
        raise EstimateError(
            f"the operating-point model gives no positive throughput and power at batch {bad[0]}"
        )
    tps[0], power[0] = 0.0, 0.0
    return _Curves(
        throughput_tps=tps,
        power_w=power,
        itl_ms_p90=column("itl_ms_p90"),
        ttft_ms_p90=ttft if has_ttft else None,
    )


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float | None:
    ok = np.isfinite(values) & (weights > 0)
    if not ok.any():
        return None
    v, w = values[ok], weights[ok]
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    return float(v[order][np.searchsorted(cum, q / 100.0 * cum[-1])])


def _at(curve: np.ndarray, batch: np.ndarray) -> np.ndarray:
    """A curve over integer batches 1..B read at (fractional) batches, linearly."""
    grid = np.arange(1, curve.size)
    return np.interp(np.clip(batch, 1, curve.size - 1), grid, curve[1:])


def _fluid(tokens: int, instances: int, curves: _Curves, cap: int) -> QueueResult:
    """Every instance at batch ``cap`` until the work runs out; no tail."""
    duration = tokens / (instances * curves.throughput_tps[cap])
    batch_time = np.zeros((instances, cap + 1))
    batch_time[:, cap] = duration
    empty = np.array([], dtype=float)
    return QueueResult(empty, empty, empty, empty, batch_time, duration)


def estimate(
    workload,
    arm,
    devices: int | None = None,
    max_batch: int | None = None,
    itl_ms_p90_max: float | None = None,
    facility: Facility | None = None,
    idle_power: tuple[float, str] | IdlePower | None = None,
    horizon_s: float | None = None,
) -> Estimate:
    """Serve ``workload`` on ``arm`` (a ``ServingArm``) with ``devices`` GPUs (None: one
    instance), each instance capped at ``max_batch`` requests and the ITL target.
    ``idle_power``: (per-GPU watts, source) or an ``IdlePower``; None looks the system's
    documented figure up (``planner.serving.idle``)."""
    facility = facility or Facility()
    _check_finite("PUE", facility.pue, 1.0)
    _check_finite("carbon intensity (g per kWh)", facility.carbon_g_per_kwh, 0.0)
    _check_finite("price per kWh", facility.price_per_kwh, 0.0)
    _check_finite("horizon (s)", horizon_s, 0.0)
    _check_finite("p90 ITL target (ms)", itl_ms_p90_max, 0.0, strict=True)
    setup, model = arm.setup, arm.model
    n_gpus = int(setup.n_gpus)
    warnings: list[str] = []
    if devices is None:
        instances = 1
        warnings.append(f"no device count given: one instance ({n_gpus} GPU(s))")
    else:
        if devices < n_gpus:
            raise EstimateError(
                f"{devices} device(s) cannot hold one instance of {setup.label}, "
                f"which takes {n_gpus} GPUs"
            )
        instances = devices // n_gpus
        if devices % n_gpus:
            warnings.append(
                f"{devices % n_gpus} of the {devices} devices unused: instances take "
                f"{n_gpus} GPUs each"
            )
    if max_batch is not None and max_batch < 1:
        raise EstimateError(f"max batch must be >= 1, not {max_batch}")
    try:
        best = model.best_batch(itl_ms_p90_max=itl_ms_p90_max, max_batch=max_batch)
    except ValueError as exc:  # e.g. an ITL target for a setup without ITL data
        raise EstimateError(f"{setup.label}: {exc}") from exc
    if best is None:
        lowest = _number(model.predict(1.0).itl_ms_p90)
        shown = "unknown" if lowest is None else f"{lowest:.3g} ms"
        raise EstimateError(
            f"no batch of {setup.label} meets the p90 ITL target of {itl_ms_p90_max:g} ms "
            f"(batch 1 predicts {shown})"
        )
    cap = max(1, int(math.floor(float(best.batch) + 1e-9)))
    curves = _curves(model, cap)

    if isinstance(idle_power, IdlePower):
        idle = idle_power
    elif idle_power is not None:
        idle = IdlePower(float(idle_power[0]), "user", str(idle_power[1]))
    else:
        try:
            idle = lookup_idle_power(setup.system)
        except IdlePowerError as exc:
            raise EstimateError(str(exc)) from exc
    _check_finite("idle power (W per GPU)", idle.power_w, 0.0)
    if idle.warning:
        warnings.append(idle.warning)

    arrival, tokens = _requests(workload)
    n_requests = int(workload.queries["count"].sum())
    total_tokens = int((workload.queries["output_tokens"] * workload.queries["count"]).sum())
    if arrival is not None:
        mode = "simulated"
        result = simulate(arrival, tokens, curves.throughput_tps, instances, horizon_s)
    elif n_requests <= MAX_SIMULATED_REQUESTS:
        mode = "back-to-back"
        result = simulate(np.zeros(n_requests), tokens, curves.throughput_tps, instances, horizon_s)
    else:
        mode = "fluid"
        warnings.append(
            f"no arrival times: served back to back at up to batch {cap}, as a fluid "
            f"({n_requests:,} requests, over the {MAX_SIMULATED_REQUESTS:,} simulated): "
            "the drain of the last batch is not modelled"
        )
        result = _fluid(total_tokens, instances, curves, cap)
        if horizon_s is not None and horizon_s > result.horizon_s:
            result.batch_time_s[:, 0] += horizon_s - result.horizon_s
            result.horizon_s = float(horizon_s)

    active_j = _nonnegative("active energy", result.active_energy_j(curves.power_w))
    idle_j = _nonnegative("idle energy", idle.power_w * n_gpus * result.idle_s)
    realised_j = active_j / total_tokens if total_tokens > 0 else None
    mean_batch = result.time_mean_batch()
    op = model.predict(float(cap))
    if mode == "back-to-back":
        # the cap is a limit: a workload smaller than it never fills it
        realised = "unknown" if realised_j is None else f"{realised_j:.3g} J per token"
        shown_batch = "unknown" if mean_batch is None else f"{mean_batch:.3g}"
        cap_j = _number(op.energy_per_token_j)
        at_cap = "unknown" if cap_j is None else f"{cap_j:.3g} J per token"
        warnings.append(
            f"no arrival times: served back to back at up to batch {cap}; realised mean "
            f"batch {shown_batch}, {realised} active (the cap's operating point: {at_cap})"
        )
    gpu_j = active_j + idle_j
    energy_j = gpu_j * facility.pue
    kwh = energy_j / J_PER_KWH
    co2e_kg = None if facility.carbon_g_per_kwh is None else kwh * facility.carbon_g_per_kwh
    if co2e_kg is not None:
        co2e_kg /= G_PER_KG
    cost = None if facility.price_per_kwh is None else kwh * facility.price_per_kwh

    itl90 = ttft90 = wait90 = e2e90 = None
    if result.finish_s.size:
        mean_b = result.mean_batch
        itl90 = _weighted_quantile(_at(curves.itl_ms_p90, mean_b), tokens, ITL_QUANTILE)
        if itl90 is None:
            warnings.append("the serving data have no ITL: p90 ITL unknown")
        if curves.ttft_ms_p90 is not None:
            first_ms = _at(curves.ttft_ms_p90, mean_b)
        else:
            # prefill is not in the data: one inter-token time (batch / throughput) stands in
            first_ms = 1000.0 * mean_b / _at(curves.throughput_tps, mean_b)
            warnings.append(
                "prefill time is not in the serving data: TTFT is the wait plus one "
                "inter-token time"
            )
        wait90 = float(np.percentile(result.wait_s, ITL_QUANTILE))
        ttft90 = float(np.percentile(1000.0 * result.wait_s + first_ms, ITL_QUANTILE))
        e2e = result.finish_s - (arrival if arrival is not None else 0.0)
        e2e90 = float(np.percentile(e2e, ITL_QUANTILE))
    else:  # a fluid runs every instance at the cap throughout
        itl90 = _number(curves.itl_ms_p90[cap])
        warnings.append("wait, TTFT and end-to-end latency are not estimated for a fluid run")

    busy_by_batch = result.batch_time_s[:, 1:].sum(axis=0)
    busy = float(busy_by_batch.sum())
    extrapolated_s = sum(
        float(busy_by_batch[b - 1])
        for b in np.flatnonzero(busy_by_batch > 0) + 1
        if model.predict(float(b)).extrapolated
    )
    if busy > 0 and extrapolated_s > 0:
        warnings.append(
            f"{_percent(extrapolated_s / busy)} of busy time is at batches outside the "
            f"measured range ({_range(model)}): those figures are extrapolated"
        )
    # the arm's data leave idle out; this estimate adds it, so its caveat replaces that one
    caveats = [c for c in getattr(arm, "caveats", []) or [] if c != IDLE_NOTE]
    caveats.append(
        f"idle power of provisioned GPUs added for time with no request in flight: "
        f"{idle.power_w:g} W per GPU ({idle.source})"
    )
    caveats.append(f"facility overhead: GPU energy x PUE {facility.pue:g}")
    if mode != "fluid":
        caveats.append(
            "latencies from a processor-sharing model of continuous batching at the fitted "
            "throughput; p90 ITL is the source's p90 at each request's mean batch"
        )
    return Estimate(
        setup=str(setup.label),
        source=str(arm.source),
        mode=mode,
        n_requests=n_requests,
        output_tokens=total_tokens,
        instances=instances,
        gpus=instances * n_gpus,
        gpus_per_instance=n_gpus,
        max_batch=cap,
        operating_point={
            "batch": float(cap),
            "energy_per_token_j": _number(op.energy_per_token_j),
            "throughput_tps": _number(op.throughput_tps),
            "power_w": _number(op.power_w),
            "itl_ms_p50": _number(op.itl_ms_p50),
            "itl_ms_p90": _number(op.itl_ms_p90),
            "ttft_ms_p90": _number(op.ttft_ms_p90),
            "extrapolated": bool(op.extrapolated),
            "measured": bool(op.measured),
        },
        energy_j=energy_j,
        gpu_energy_j=gpu_j,
        active_energy_j=active_j,
        idle_energy_j=idle_j,
        pue=float(facility.pue),
        idle_power_w=float(idle.power_w),
        idle_power_kind=idle.kind,
        idle_source=idle.source,
        duration_s=float(result.horizon_s),
        busy_fraction=busy / (instances * result.horizon_s) if result.horizon_s > 0 else None,
        mean_batch=mean_batch,
        realised_energy_per_token_j=realised_j,
        itl_ms_p90=itl90,
        ttft_ms_p90=ttft90,
        wait_s_p90=wait90,
        e2e_s_p90=e2e90,
        co2e_kg=co2e_kg,
        cost=cost,
        currency=facility.currency,
        caveats=caveats,
        warnings=warnings,
    )


def _range(model) -> str:
    lo, hi = getattr(model, "min_batch_", None), getattr(model, "max_batch_", None)
    return "unknown" if lo is None or hi is None else f"batch {lo:.3g} to {hi:.3g}"
