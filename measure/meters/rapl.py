"""CPU package (and DRAM, where present) energy through RAPL, read with ``pyRAPL``.

pyRAPL reads ``/sys/class/powercap/intel-rapl*/energy_uj`` (microjoules) per socket.  The
counters wrap at ``max_energy_range_uj``; a window whose end reading is below its start
reading is corrected by adding that range (one wrap per window: a wrap takes tens of
minutes at full load, far longer than any trial).

Since Linux 5.10 (CVE-2020-8694) ``energy_uj`` is readable only by root; that, and a machine
without ``/sys/class/powercap`` (most virtual machines), become :class:`MeterUnavailable`
with the fix, not a crash.  ``pyRAPL.Sensor`` is looked up at call time (tests replace it
with an autospecced fake).
"""

from __future__ import annotations

from pathlib import Path

from measure.meters.base import (
    EnergyMeter,
    MeterError,
    MeterReading,
    MeterStatus,
    MeterUnavailable,
    vendor_module,
)

POWERCAP_ROOT = Path("/sys/class/powercap")
PERMISSION_FIX = (
    "since Linux 5.10 energy_uj is root-only: run as root, or "
    "`sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj "
    "/sys/class/powercap/intel-rapl:*/intel-rapl:*/energy_uj` (until reboot)"
)
MISSING_FIX = (
    "RAPL needs an Intel or AMD CPU on bare metal with the powercap driver "
    "(`sudo modprobe intel_rapl_msr`); most virtual machines have none"
)
PKG, DRAM = 0, 1  # pyRAPL.Device values; pyRAPL's energy() lists (pkg, dram) per socket


def max_energy_ranges_uj(root: Path = POWERCAP_ROOT) -> dict[tuple[int, int], float]:
    """``{(socket, PKG or DRAM): max_energy_range_uj}`` from the powercap tree."""
    ranges: dict[tuple[int, int], float] = {}
    for zone in sorted(root.glob("intel-rapl:*")):
        if zone.name.count(":") != 1:
            continue
        name = (zone / "name").read_text().strip()
        if not name.startswith("package-"):
            continue
        socket = int(name.split("-", 1)[1])
        ranges[(socket, PKG)] = float((zone / "max_energy_range_uj").read_text())
        for sub in sorted(zone.glob(f"{zone.name}:*")):
            if (sub / "name").read_text().strip() == "dram":
                ranges[(socket, DRAM)] = float((sub / "max_energy_range_uj").read_text())
    return ranges


class RaplMeter(EnergyMeter):
    name = "rapl"
    source = "rapl"
    kind = "cpu"
    min_window_s = 0.05

    def __init__(self, powercap_root: Path | str | None = None):
        super().__init__()
        root = Path(powercap_root) if powercap_root is not None else POWERCAP_ROOT
        if not root.exists():
            raise MeterUnavailable(
                "rapl", f"{root} does not exist: no RAPL interface here", MISSING_FIX
            )
        rapl = vendor_module("rapl", "pyRAPL", "pyRAPL")
        try:
            self.ranges_uj = max_energy_ranges_uj(root)
            self._sensor = rapl.Sensor()
            self._sensor.energy()
        except PermissionError as exc:
            raise MeterUnavailable(
                "rapl",
                f"permission denied reading RAPL counters "
                f"({getattr(exc, 'filename', None) or root})",
                PERMISSION_FIX,
            ) from exc
        except (rapl.PyRAPLException, OSError, ValueError) as exc:
            raise MeterUnavailable(
                "rapl",
                f"no usable RAPL package domain under {root} ({type(exc).__name__}: {exc})",
                MISSING_FIX,
            ) from exc
        if not self.ranges_uj:
            raise MeterUnavailable("rapl", f"no RAPL package zone under {root}", MISSING_FIX)
        self._start_uj: list[float] = []

    def _read(self) -> list[float]:
        try:
            return [float(v) for v in self._sensor.energy()]
        except (PermissionError, OSError) as exc:
            raise MeterError(f"rapl: reading the counters failed: {exc}") from exc

    def _begin(self) -> None:
        self._start_uj = self._read()

    def _end(self, duration_s: float) -> MeterReading:
        end_uj = self._read()
        energy: dict[str, float] = {}
        for index, (start, end) in enumerate(zip(self._start_uj, end_uj)):
            if start < 0 or end < 0:
                continue  # pyRAPL reports -1 for an absent domain
            socket, device = divmod(index, 2)
            delta = end - start
            if delta < 0:
                delta += self.ranges_uj.get((socket, device), 0.0)
            if delta < 0:
                raise MeterError(
                    f"rapl: counter for socket {socket} went backwards and no "
                    "max_energy_range_uj is known to correct it"
                )
            key = f"cpu:package-{socket}" if device == PKG else f"dram:{socket}"
            energy[key] = delta / 1e6
        return MeterReading(self.source, duration_s, energy)

    def describe(self) -> dict:
        domains = sorted(f"{'package' if d == PKG else 'dram'}-{s}" for s, d in self.ranges_uj)
        return {**super().describe(), "domains": domains}

    @classmethod
    def probe(cls, powercap_root: Path | str | None = None) -> MeterStatus:
        try:
            meter = cls(powercap_root)
        except MeterUnavailable as exc:
            return MeterStatus("rapl", False, exc.reason, exc.fix)
        return MeterStatus("rapl", True, "domains " + ", ".join(meter.describe()["domains"]))
