"""The meter interface: one reading per measured window, energy per domain, a source label.

A meter measures one *kind* of energy (``gpu`` or ``cpu``); :class:`CompositeMeter` runs
one meter per kind over the same window.  Use a meter either as ``start()`` / ``stop()``
or as a context manager::

    with meter.measure() as window:
        generate()
    window.reading.energy_j      # {"gpu:0": 12.5, "gpu:1": 11.9}

Every reading carries ``source`` (``nvml``, ``rapl``, ``estimated``, ...): an estimate is
never passed off as a measurement.  ``min_window_s`` is the shortest window the meter can
measure to within its resolution; a sweep repeats shorter work inside one window and
divides, rather than reporting a near-zero energy.
"""

from __future__ import annotations

import importlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

KINDS = ("gpu", "cpu")


class MeterUnavailable(RuntimeError):
    """A meter cannot work on this machine; ``fix`` says what would make it work."""

    def __init__(self, meter: str, reason: str, fix: str = ""):
        self.meter, self.reason, self.fix = meter, reason, fix
        super().__init__(f"{meter}: {reason}" + (f" (fix: {fix})" if fix else ""))


class MeterError(RuntimeError):
    """A working meter failed during a measurement (translated from the vendor library)."""


def vendor_module(meter: str, module: str, package: str):
    """Import a vendor library, or raise :class:`MeterUnavailable` saying how to install it.

    The import is quiet: pyRAPL logs "You need to install pymongo" through the root logger
    on import, which would also leave a stderr handler on the root logger of our process."""
    root = logging.getLogger()
    guard = logging.NullHandler()
    root.addHandler(guard)  # no basicConfig() behind our back
    previous = root.manager.disable
    logging.disable(logging.WARNING)
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MeterUnavailable(
            meter, f"the {package} package is not installed", f"pip install {package}"
        ) from exc
    finally:
        logging.disable(previous)
        root.removeHandler(guard)


@dataclass
class MeterReading:
    """Energy over one window, in joules per domain (``"gpu:0"``, ``"cpu:package-0"``...)."""

    source: str
    duration_s: float
    energy_j: dict[str, float] = field(default_factory=dict)
    power_w: dict[str, float] | None = None  # mean sampled power, where the meter samples
    flags: list[str] = field(default_factory=list)

    def kind_energy_j(self, kind: str) -> float | None:
        values = [v for k, v in self.energy_j.items() if k.split(":", 1)[0] == kind]
        return float(sum(values)) if values else None

    @property
    def gpu_energy_j(self) -> float | None:
        return self.kind_energy_j("gpu")

    @property
    def cpu_energy_j(self) -> float | None:
        """CPU packages plus DRAM where measured (the store's ``cpu_energy_j``)."""
        values = [v for k, v in self.energy_j.items() if k.split(":", 1)[0] in ("cpu", "dram")]
        return float(sum(values)) if values else None

    @property
    def gpu_energy_per_device_j(self) -> list[float] | None:
        keys = sorted(
            (k for k in self.energy_j if k.startswith("gpu:")),
            key=lambda k: int(k.split(":", 1)[1]),
        )
        return [float(self.energy_j[k]) for k in keys] or None

    def scaled(self, factor: float) -> MeterReading:
        """This reading divided over ``1/factor`` repetitions (energies and duration)."""
        return MeterReading(
            self.source,
            self.duration_s * factor,
            {k: v * factor for k, v in self.energy_j.items()},
            dict(self.power_w) if self.power_w else None,
            list(self.flags),
        )


@dataclass
class MeterStatus:
    """Whether a meter works here, and why not."""

    name: str
    available: bool
    detail: str
    fix: str = ""


class Window:
    """Holds the reading of a ``with meter.measure()`` block once the block ends."""

    reading: MeterReading | None = None


class EnergyMeter(ABC):
    """One energy source.  Subclasses implement ``_begin`` and ``_end``."""

    name: str = "meter"
    source: str = "unknown"
    kind: str = "cpu"
    min_window_s: float = 0.01

    def __init__(self) -> None:
        self._t0: float | None = None

    def start(self) -> None:
        if self._t0 is not None:
            raise MeterError(f"{self.name}: start() called twice without stop()")
        self._begin()
        self._t0 = time.perf_counter()

    def stop(self) -> MeterReading:
        if self._t0 is None:
            raise MeterError(f"{self.name}: stop() called before start()")
        duration_s = time.perf_counter() - self._t0
        self._t0 = None
        return self._end(duration_s)

    @contextmanager
    def measure(self) -> Iterator[Window]:
        window = Window()
        self.start()
        try:
            yield window
        except BaseException:
            self._t0 = None
            self._abort()
            raise
        window.reading = self.stop()

    def describe(self) -> dict:
        """What goes into a run's provenance about this meter."""
        return {
            "name": self.name,
            "source": self.source,
            "kind": self.kind,
            "min_window_s": self.min_window_s,
        }

    def close(self) -> None:
        """Release vendor resources (idempotent)."""

    @abstractmethod
    def _begin(self) -> None: ...

    @abstractmethod
    def _end(self, duration_s: float) -> MeterReading: ...

    def _abort(self) -> None:
        """Undo ``_begin`` after the measured block raised (stop threads, ...)."""


class CompositeMeter(EnergyMeter):
    """Several meters (at most one per kind) over the same window; source ``nvml+rapl``..."""

    name = "composite"

    def __init__(self, meters: list[EnergyMeter]):
        super().__init__()
        kinds = [m.kind for m in meters]
        if len(set(kinds)) != len(kinds):
            raise ValueError(f"one meter per kind, got kinds {kinds}")
        order = {k: i for i, k in enumerate(KINDS)}
        self.meters = sorted(meters, key=lambda m: order.get(m.kind, 99))
        measuring = [m.source for m in self.meters if m.source != "none"]
        self.source = "+".join(measuring) if measuring else "none"
        self.min_window_s = max((m.min_window_s for m in self.meters), default=0.0)

    def _begin(self) -> None:
        started = []
        try:
            for meter in self.meters:
                meter.start()
                started.append(meter)
        except BaseException:
            for meter in started:
                meter._t0 = None
                meter._abort()
            raise

    def _end(self, duration_s: float) -> MeterReading:
        readings = [m.stop() for m in reversed(self.meters)]
        energy: dict[str, float] = {}
        power: dict[str, float] = {}
        flags: list[str] = []
        for reading in readings:
            energy.update(reading.energy_j)
            power.update(reading.power_w or {})
            flags.extend(reading.flags)
        return MeterReading(self.source, duration_s, energy, power or None, flags)

    def _abort(self) -> None:
        for meter in self.meters:
            if meter._t0 is not None:
                meter._t0 = None
                meter._abort()

    def describe(self) -> dict:
        return {
            "source": self.source,
            "min_window_s": self.min_window_s,
            "meters": [m.describe() for m in self.meters],
        }

    def close(self) -> None:
        for meter in self.meters:
            meter.close()
