"""Idle power of provisioned GPUs: what a GPU draws while it holds a model and serves nothing.

A serving estimate adds, to the energy of the batches it runs, the power of every
provisioned GPU over the time it has no request in flight.  Where that power comes from,
in order of precedence:

1. ``user``: a figure the caller passes (``--idle-power-w``).
2. ``measured``: the median per-GPU idle power the store recorded for this system
   (``Store.idle_power()``: ``measure sweep --idle-s`` and serving runs that measured it).
3. ``documented``: ``DEFAULT_IDLE_POWER_W``, figures with a public source.  Only the H100
   has one we could source: the ML.ENERGY Leaderboard v3 README says "an H100 idles near
   70-120 W"; the default is the middle of that range.  We searched public pages for
   per-kind figures of other GPUs (H200, B200, A100, V100) and found none we could cite as
   an absolute idle power (a 2026 preprint, "The Model Parking Tax", arXiv:2605.23918, gives
   only the rise over bare idle that a CUDA context causes, 26-50 W on HBM GPUs), so those
   kinds have no default.
4. ``nearest``: for any other kind, the figure of the nearest documented kind (today
   always the H100, the one documented kind), with a warning that names it: an estimate
   with a stated stand-in is more useful than one that leaves idle energy out, and the
   warning tells the reader how to replace it (measure it, or pass ``--idle-power-w``).

Idle power here is GPU power only (as the serving data are); the facility's PUE is applied
on top by the estimate, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.fleet.registry import normalise

__all__ = [
    "DEFAULT_IDLE_POWER_W",
    "IdlePower",
    "NEAREST_DOCUMENTED_KIND",
    "gpu_kind",
    "idle_power",
    "idle_power_w",
]

MLENERGY_IDLE_SOURCE = (
    "documented: ML.ENERGY Leaderboard v3 README ('an H100 idles near 70-120 W'; "
    "Chung et al., 'The ML.ENERGY Benchmark', NeurIPS Datasets and Benchmarks 2025; "
    "data ml-energy/leaderboard@0cd52da, Apache-2.0), the middle of that range"
)

# Per-GPU idle power (W) by GPU kind, each with where the figure comes from.  Only kinds
# with a public source are listed (see the module docstring for what was searched).
DEFAULT_IDLE_POWER_W: dict[str, tuple[float, str]] = {
    "H100": (95.0, MLENERGY_IDLE_SOURCE),
}

# GPU kinds recognised in system names (longest first, so 'GH200' is not read as 'H200'),
# and the documented kind each borrows its idle figure from.  Hopper kinds share the
# H100's architecture; the others differ and borrow it only because it is the one
# documented kind, which the warning says.
NEAREST_DOCUMENTED_KIND: dict[str, str] = {
    "GH200": "H100",
    "GB200": "H100",
    "H200": "H100",
    "H800": "H100",
    "H100": "H100",
    "H20": "H100",
    "B200": "H100",
    "B100": "H100",
    "A100": "H100",
    "A800": "H100",
    "L40S": "H100",
    "A10": "H100",
    "V100": "H100",
    "L4": "H100",
}


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
    for kind in sorted(NEAREST_DOCUMENTED_KIND, key=len, reverse=True):
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
    median, else the documented default of its GPU kind, else the nearest documented
    kind's with a warning naming it."""
    if override_w is not None:
        if not override_w >= 0:
            raise ValueError(f"idle power must be a number of watts >= 0, not {override_w}")
        return IdlePower(float(override_w), "user", "given by the user (--idle-power-w)")
    if store is not None:
        found = _measured(system, store)
        if found is not None:
            return found
    kind = gpu_kind(system)
    if kind in DEFAULT_IDLE_POWER_W:
        power, source = DEFAULT_IDLE_POWER_W[kind]
        return IdlePower(power, "documented", source)
    nearest = NEAREST_DOCUMENTED_KIND.get(kind or "", "H100")
    power, source = DEFAULT_IDLE_POWER_W[nearest]
    named = f"{system} ({kind})" if kind and kind != system else system
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
