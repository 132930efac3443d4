"""An energy *estimate* for machines without counters: process CPU time x watts per core.

``energy_j = (CPU seconds this process used in the window) x watts_per_core``.  CPU time
counts every thread of the process (torch's intra-op threads included) and nothing else
running on the machine, so idle power is not part of it.  Readings carry source
``estimated`` and are stored and shown as such, never as measurements.

The default, :data:`DEFAULT_WATTS_PER_CORE` = 10 W, is a round figure for one fully busy
core: the thermal design power divided by the core count is 7.5 W for a Xeon Gold 6148
(150 W, 20 cores), 3.5 W for an EPYC 7742 (225 W, 64 cores) and 8-16 W for desktop parts.
Set your machine's own figure (``--watts-per-core``) when you know it.
"""

from __future__ import annotations

import time

from measure.meters.base import EnergyMeter, MeterReading, MeterStatus

DEFAULT_WATTS_PER_CORE = 10.0


class EstimateMeter(EnergyMeter):
    name = "estimate"
    source = "estimated"
    kind = "cpu"
    min_window_s = 0.01

    def __init__(self, watts_per_core: float = DEFAULT_WATTS_PER_CORE):
        super().__init__()
        if not watts_per_core > 0:
            raise ValueError(f"watts_per_core must be positive, got {watts_per_core!r}")
        self.watts_per_core = float(watts_per_core)
        self._cpu0_s = 0.0

    def _begin(self) -> None:
        self._cpu0_s = time.process_time()

    def _end(self, duration_s: float) -> MeterReading:
        cpu_s = max(time.process_time() - self._cpu0_s, 0.0)
        return MeterReading(self.source, duration_s, {"cpu:process": cpu_s * self.watts_per_core})

    def describe(self) -> dict:
        return {
            **super().describe(),
            "watts_per_core": self.watts_per_core,
            "method": "process CPU time x watts per core",
        }

    @staticmethod
    def probe() -> MeterStatus:
        return MeterStatus(
            "estimate",
            True,
            f"process CPU time x {DEFAULT_WATTS_PER_CORE:g} W per core by default "
            "(--watts-per-core); stored with source 'estimated'",
        )
