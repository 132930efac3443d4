"""Energy meters: NVML (GPUs), RAPL (CPU packages, DRAM), an estimate, and a null meter.

:func:`build_meter` picks one meter per kind (``gpu``, ``cpu``) and returns a
:class:`CompositeMeter` whose ``source`` is what the store records (``nvml+rapl``,
``estimated``, ...).  :func:`probe_all` says which meters work here and why the others
do not (``python -m measure meters``).
"""

from __future__ import annotations

from collections.abc import Callable

from measure.meters.base import (
    CompositeMeter,
    EnergyMeter,
    MeterError,
    MeterReading,
    MeterStatus,
    MeterUnavailable,
)
from measure.meters.estimate import DEFAULT_WATTS_PER_CORE, EstimateMeter
from measure.meters.null import NullMeter
from measure.meters.nvml import NvmlMeter
from measure.meters.rapl import RaplMeter

METER_NAMES = ("nvml", "rapl", "estimate")

__all__ = [
    "CompositeMeter",
    "EnergyMeter",
    "EstimateMeter",
    "MeterError",
    "MeterReading",
    "MeterStatus",
    "MeterUnavailable",
    "NullMeter",
    "NvmlMeter",
    "RaplMeter",
    "DEFAULT_WATTS_PER_CORE",
    "METER_NAMES",
    "build_meter",
    "named_meters",
    "probe_all",
    "parse_meter_spec",
]


def probe_all() -> list[MeterStatus]:
    return [NvmlMeter.probe(), RaplMeter.probe(), EstimateMeter.probe()]


def parse_meter_spec(spec: str) -> list[str] | None:
    """``"auto"`` -> None; ``"nvml,rapl"`` -> ["nvml", "rapl"]; unknown names raise."""
    if spec.strip().lower() == "auto":
        return None
    names = [n.strip().lower() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in METER_NAMES]
    if unknown or not names:
        raise ValueError(
            f"unknown meter(s) {unknown or [spec]}: choose 'auto' or a comma "
            f"list of {', '.join(METER_NAMES)}"
        )
    if "rapl" in names and "estimate" in names:
        raise ValueError("meters 'rapl' and 'estimate' both measure the CPU: choose one")
    return names


def build_meter(
    spec: str = "auto",
    *,
    device: str = "cpu",
    watts_per_core: float = DEFAULT_WATTS_PER_CORE,
    gpu_indices: list[int] | None = None,
) -> CompositeMeter:
    """The meter for a sweep.  ``auto``: NVML when running on CUDA and NVML works, RAPL when
    it works, else the CPU-time estimate.  Explicitly named meters must work, or this raises
    :class:`MeterUnavailable` naming the fix."""
    names = parse_meter_spec(spec)
    meters: list[EnergyMeter] = []
    if names is None:
        if device.startswith("cuda"):
            meters.append(
                _try(lambda: NvmlMeter(gpu_indices)) or NullMeter("gpu", "NVML unavailable")
            )
        meters.append(_try(RaplMeter) or EstimateMeter(watts_per_core))
    else:
        meters = named_meters(names, gpu_indices, lambda: EstimateMeter(watts_per_core))
    return CompositeMeter(meters)


def named_meters(
    names: list[str], gpu_indices: list[int] | None, estimate: Callable[[], EnergyMeter]
) -> list[EnergyMeter]:
    """The meters ``parse_meter_spec`` named, in order; each must work (else
    :class:`MeterUnavailable`).  ``estimate`` makes the caller's CPU estimate (a sweep
    estimates its own process, ``measure serve`` the server's)."""
    makers = {"nvml": lambda: NvmlMeter(gpu_indices), "rapl": RaplMeter, "estimate": estimate}
    return [makers[name]() for name in names]


def _try(factory) -> EnergyMeter | None:
    try:
        return factory()
    except MeterUnavailable:
        return None
