"""Idle power of provisioned GPUs: what a GPU draws while it holds a model and serves nothing.

A serving estimate adds, to the energy of the batches it runs, the power of every
provisioned GPU over the time it has no request in flight.  Where that power comes from,
in order of precedence:

1. ``user``: a figure the caller passes (``--idle-power-w``).
2. ``measured``: the median per-GPU idle power the store recorded for this system
   (``Store.idle_power()``: ``measure sweep --idle-s`` and serving runs that measured it).
3. ``documented``: ``DEFAULT_IDLE_POWER_W``.  One kind has a figure: the H100's 95 W, the
   middle of "an H100 idles near 70-120 W" in the project's reference notes beside the
   ML.ENERGY data (``../shared/reference/mlenergy-v3/README.md``, "Caveats to carry").
   That sentence is a note, not a measurement, and is not in ML.ENERGY's data or paper; no
   public page we could cite gives an absolute idle power per GPU kind, so the figure says
   where it is from and a measurement (or ``--idle-power-w``) should replace it.
4. ``nearest``: a kind without a figure borrows the documented kind's, with a warning that
   names both, only where that cannot overstate it: where the kind's TDP (``TDP_W``) is at
   least the documented kind's, the stand-in is no larger a share of the kind's power than
   it is of the documented kind's.  Any other kind (an L4 has a 72 W TDP, below the
   stand-in itself; an A10 150 W), and a system whose GPU kind is not recognised, has no
   stand-in: ``IdlePowerError`` asks for a measurement or ``--idle-power-w``.

Idle power here is GPU power only (as the serving data are); the facility's PUE is applied
on top by the estimate, not here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from measure.importers.mlenergy import CITATION
from planner.fleet.registry import normalise

__all__ = [
    "DEFAULT_IDLE_POWER_W",
    "IdlePower",
    "IdlePowerError",
    "NEAREST_DOCUMENTED_KIND",
    "TDP_W",
    "gpu_kind",
    "idle_power",
    "idle_power_w",
]

REFERENCE_NOTES = "../shared/reference/mlenergy-v3/README.md"
MLENERGY_IDLE_SOURCE = (
    "documented: 'an H100 idles near 70-120 W', a sentence in the project's reference notes "
    f"beside the ML.ENERGY data ({REFERENCE_NOTES}, 'Caveats to carry'; data: {CITATION}), "
    "not a measurement and not in ML.ENERGY's data or paper; the middle of that range"
)

# Per-GPU idle power (W) by GPU kind, each with where the figure comes from.
DEFAULT_IDLE_POWER_W: dict[str, tuple[float, str]] = {
    "H100": (95.0, MLENERGY_IDLE_SOURCE),
}

# The documented kind each other kind would borrow its idle figure from (there is one).
DOCUMENTED_KIND = "H100"

# Thermal design power (W) per GPU of each recognised kind, its SXM or top board variant,
# from NVIDIA's datasheets: the bound a borrowed idle figure is checked against.  Names are
# matched longest first, so 'GH200' is not read as 'H200'.
TDP_W: dict[str, float] = {
    "GB200": 1200.0,
    "GH200": 1000.0,
    "B200": 1000.0,
    "B100": 700.0,
    "H200": 700.0,
    "H800": 700.0,
    "H100": 700.0,
    "H20": 400.0,
    "A100": 400.0,
    "A800": 400.0,
    "L40S": 350.0,
    "V100": 300.0,
    "A10": 150.0,
    "L4": 72.0,
}

# Kinds that may borrow the documented kind's figure: TDP at least the documented kind's.
NEAREST_DOCUMENTED_KIND: dict[str, str] = {
    kind: DOCUMENTED_KIND for kind, tdp in TDP_W.items() if tdp >= TDP_W[DOCUMENTED_KIND]
}


class IdlePowerError(ValueError):
    """No idle power can be given for a system without overstating it: measure it or give
    one (``--idle-power-w``)."""


@dataclass(frozen=True)
class IdlePower:
    """Per-GPU idle power, how it was found (``user``, ``measured``, ``documented`` or
    ``nearest``), where it came from in words, and a warning for a stand-in figure."""

    power_w: float
    kind: str
    source: str
    warning: str | None = None


def gpu_kind(system: str) -> str | None:
    """The GPU kind a system name holds ('H100' in 'NVIDIA H100 80GB HBM3'), or None."""
    key = normalise(system)
    for kind in sorted(TDP_W, key=len, reverse=True):
        if normalise(kind) in key:
            return kind
    return None


def _measured(system: str, store) -> IdlePower | None:
    table = store.idle_power()
    if table is None or len(table) == 0:
        return None
    rows = table[table["system"].astype(str) == str(system)]
    if len(rows) == 0:
        return None
    row = rows.iloc[0]
    power = float(row["idle_power_w"])
    if not power > 0:
        return None
    sources = str(row.get("sources") or "unknown meter")
    n = int(row["n"])
    warning = None
    if "rapl" in sources:
        warning = (
            f"measured idle power of {system} includes CPU readings ({sources}), "
            "added to GPU-only serving energy"
        )
    return IdlePower(
        power,
        "measured",
        f"measured: median of {n} idle reading{'s' if n != 1 else ''} in the store "
        f"({sources}), per GPU",
        warning,
    )


def idle_power(system: str, store=None, override_w: float | None = None) -> IdlePower:
    """Per-GPU idle power of ``system``: the caller's figure, else the store's measured
    median, else the documented default of its GPU kind, else the documented kind's with a
    warning naming it where that cannot overstate it; else ``IdlePowerError``."""
    if override_w is not None:
        if not (math.isfinite(override_w) and override_w >= 0):
            raise IdlePowerError(
                f"idle power must be a finite number of watts >= 0, not {override_w}"
            )
        return IdlePower(float(override_w), "user", "given by the user (--idle-power-w)")
    if store is not None:
        found = _measured(system, store)
        if found is not None:
            return found
    kind = gpu_kind(system)
    if kind in DEFAULT_IDLE_POWER_W:
        power, source = DEFAULT_IDLE_POWER_W[kind]
        return IdlePower(power, "documented", source)
    named = f"{system} ({kind})" if kind and kind != system else system
    nearest = NEAREST_DOCUMENTED_KIND.get(kind or "")
    if nearest is None:
        why = (
            f"its GPU kind's TDP, {TDP_W[kind]:g} W, is below the {DOCUMENTED_KIND}'s "
            f"{TDP_W[DOCUMENTED_KIND]:g} W, so the {DOCUMENTED_KIND}'s idle figure could "
            "overstate it"
            if kind is not None
            else "its GPU kind is not recognised, so no stand-in can be checked against its TDP"
        )
        raise IdlePowerError(
            f"no documented or measured idle power for {named}: {why}; measure it "
            "(measure sweep --idle-s) or pass --idle-power-w"
        )
    power, source = DEFAULT_IDLE_POWER_W[nearest]
    return IdlePower(
        power,
        "nearest",
        f"stand-in: {nearest}'s figure ({source})",
        f"no documented or measured idle power for {named}: used {nearest}'s "
        f"{power:g} W per GPU as a stand-in; measure it (measure sweep --idle-s) or pass "
        "--idle-power-w",
    )


def idle_power_w(system: str, store=None) -> tuple[float, str]:
    """(per-GPU idle power in W, its source in words) for ``system``; see ``idle_power``."""
    found = idle_power(system, store)
    source = found.source if found.warning is None else f"{found.source}; {found.warning}"
    return found.power_w, source
