"""The null meter: stands in for hardware that is missing, measures nothing, says why."""

from __future__ import annotations

from measure.meters.base import EnergyMeter, MeterReading


class NullMeter(EnergyMeter):
    name = "null"
    source = "none"
    min_window_s = 0.0

    def __init__(self, kind: str = "gpu", reason: str = "no meter"):
        super().__init__()
        self.kind = kind
        self.reason = reason

    def _begin(self) -> None:
        pass

    def _end(self, duration_s: float) -> MeterReading:
        return MeterReading(self.source, duration_s, {})

    def describe(self) -> dict:
        return {**super().describe(), "reason": self.reason}
