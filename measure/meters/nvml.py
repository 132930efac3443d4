"""NVIDIA GPU energy through NVML (the ``nvidia-ml-py`` package, module ``pynvml``).

Volta and newer GPUs have a total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``,
millijoules since the driver loaded); the meter reads it at the start and end of a window
for each selected GPU.  Where the counter is unsupported (pre-Volta: ``NVMLError_NotSupported``)
the meter samples ``nvmlDeviceGetPowerUsage`` (milliwatts) in a background thread every
``sample_interval_s`` (default 50 ms: 20+ samples in a 1 s window, and a waking thread that
costs the generation well under 1%; see bench/meter_overhead.py): energy is the samples' mean
power (trapezoid integral over their span) times the window's duration.  The counter updates
only every ~20-100 ms, so windows shorter than ``min_window_s`` are not measured directly:
a sweep repeats the work inside one window, and a shorter counter window is flagged
``nvml_window_below_counter_period``.

Vendor errors are translated here, at the boundary: a missing library or driver or no GPU
becomes :class:`MeterUnavailable` with a fix; a failure mid-measurement becomes
:class:`MeterError`.  The ``pynvml`` functions are looked up at call time (tests replace
them with autospecced fakes).
"""

from __future__ import annotations

import os
import threading
import time

from measure.meters.base import (
    EnergyMeter,
    MeterError,
    MeterReading,
    MeterStatus,
    MeterUnavailable,
    vendor_module,
)

DEFAULT_SAMPLE_INTERVAL_S = 0.05


def _init_error(pynvml, exc: Exception) -> MeterUnavailable:
    if isinstance(exc, pynvml.NVMLError_LibraryNotFound):
        return MeterUnavailable(
            "nvml",
            "the NVML library (libnvidia-ml.so) was not found: no NVIDIA driver here",
            "install the NVIDIA driver on a GPU node",
        )
    if isinstance(exc, pynvml.NVMLError_DriverNotLoaded):
        return MeterUnavailable(
            "nvml", "the NVIDIA driver is not loaded", "load the driver (nvidia-smi should work)"
        )
    if isinstance(exc, pynvml.NVMLError_NoPermission):
        return MeterUnavailable(
            "nvml", "no permission to use NVML", "run as a user allowed to access /dev/nvidia*"
        )
    return MeterUnavailable("nvml", f"NVML failed to start: {exc}")


def visible_gpu_indices(count: int) -> list[int]:
    """All GPUs, or those ``CUDA_VISIBLE_DEVICES`` names by integer index."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is None or not env.strip():
        return list(range(count))
    parts = [p.strip() for p in env.split(",") if p.strip()]
    if all(p.isdigit() for p in parts):
        return [int(p) for p in parts if int(p) < count]
    return list(range(count))


class NvmlMeter(EnergyMeter):
    name = "nvml"
    source = "nvml"
    kind = "gpu"
    min_window_s = 1.0

    def __init__(
        self,
        gpu_indices: list[int] | None = None,
        sample_interval_s: float = DEFAULT_SAMPLE_INTERVAL_S,
    ):
        super().__init__()
        self.sample_interval_s = sample_interval_s
        self._start_mj: dict[int, float] = {}
        self._samples: dict[int, list[tuple[float, float]]] = {}
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._nv = vendor_module("nvml", "pynvml", "nvidia-ml-py")
        try:
            self._nv.nvmlInit()
        except self._nv.NVMLError as exc:
            raise _init_error(self._nv, exc) from exc
        self._open = True
        try:
            self._select(gpu_indices)
        except self._nv.NVMLError as exc:
            self.close()
            raise MeterUnavailable(
                "nvml",
                f"reading the GPUs' energy or power failed: {exc}",
                "this GPU may not report power; use another meter",
            ) from exc
        except BaseException:
            self.close()
            raise

    # -- set-up ------------------------------------------------------------------------
    def _select(self, gpu_indices: list[int] | None) -> None:
        count = self._nv.nvmlDeviceGetCount()
        if count == 0:
            raise MeterUnavailable("nvml", "NVML works but sees no GPU", "run on a GPU node")
        indices = visible_gpu_indices(count) if gpu_indices is None else list(gpu_indices)
        bad = [i for i in indices if not 0 <= i < count]
        if bad or not indices:
            raise MeterUnavailable(
                "nvml",
                f"GPU indices {bad or indices} not among the {count} GPUs NVML sees",
                f"choose indices 0..{count - 1}",
            )
        self.gpu_indices = indices
        self._handles = {i: self._nv.nvmlDeviceGetHandleByIndex(i) for i in indices}
        self.gpu_names = {i: str(self._nv.nvmlDeviceGetName(h)) for i, h in self._handles.items()}
        self.mode: dict[int, str] = {}
        for i, handle in self._handles.items():
            try:
                self._nv.nvmlDeviceGetTotalEnergyConsumption(handle)
                self.mode[i] = "energy counter"
            except self._nv.NVMLError_NotSupported:
                self._nv.nvmlDeviceGetPowerUsage(handle)  # raises if power is unsupported too
                self.mode[i] = "power sampling"

    @property
    def _sampled(self) -> list[int]:
        return [i for i, m in self.mode.items() if m == "power sampling"]

    # -- a window ----------------------------------------------------------------------
    def _begin(self) -> None:
        try:
            self._start_mj = {
                i: float(self._nv.nvmlDeviceGetTotalEnergyConsumption(h))
                for i, h in self._handles.items()
                if self.mode[i] == "energy counter"
            }
            self._samples = {i: [self._sample(i)] for i in self._sampled}
        except self._nv.NVMLError as exc:
            raise MeterError(f"nvml: reading the GPUs failed: {exc}") from exc
        if self._sampled:
            self._stop_event.clear()
            self._thread = threading.Thread(
                target=self._sample_loop, daemon=True, name="nvml-power-sampler"
            )
            self._thread.start()

    def _sample(self, i: int) -> tuple[float, float]:
        return time.perf_counter(), float(self._nv.nvmlDeviceGetPowerUsage(self._handles[i]))

    def _sample_loop(self) -> None:
        while not self._stop_event.wait(self.sample_interval_s):
            try:
                for i in self._sampled:
                    self._samples[i].append(self._sample(i))
            except self._nv.NVMLError:
                return  # the end-of-window sample still bounds the integral

    def _abort(self) -> None:
        self._join()

    def _join(self) -> None:
        if self._thread is not None:
            self._stop_event.set()
            self._thread.join()
            self._thread = None

    def _end(self, duration_s: float) -> MeterReading:
        self._join()
        energy: dict[str, float] = {}
        power: dict[str, float] = {}
        try:
            for i, start_mj in self._start_mj.items():
                end_mj = float(self._nv.nvmlDeviceGetTotalEnergyConsumption(self._handles[i]))
                energy[f"gpu:{i}"] = (end_mj - start_mj) / 1000.0
            for i in self._sampled:
                samples = self._samples[i] + [self._sample(i)]
                span_s = samples[-1][0] - samples[0][0]
                mean_w = _integrate_mw(samples) / span_s if span_s > 0 else samples[-1][1] / 1e3
                power[f"gpu:{i}"] = mean_w
                energy[f"gpu:{i}"] = mean_w * duration_s  # the samples overhang the window
        except self._nv.NVMLError as exc:
            raise MeterError(f"nvml: reading the GPUs failed: {exc}") from exc
        energy = {k: energy[k] for k in sorted(energy, key=lambda k: int(k.split(":")[1]))}
        flags = (
            ["nvml_window_below_counter_period"]
            if self._start_mj and duration_s < self.min_window_s
            else []
        )
        return MeterReading(self.source, duration_s, energy, power or None, flags)

    def describe(self) -> dict:
        return {
            **super().describe(),
            "gpu_indices": self.gpu_indices,
            "gpu_names": [self.gpu_names[i] for i in self.gpu_indices],
            "mode": {str(i): m for i, m in self.mode.items()},
            "sample_interval_s": self.sample_interval_s if self._sampled else None,
        }

    def close(self) -> None:
        self._join()
        if getattr(self, "_open", False):
            self._open = False
            try:
                self._nv.nvmlShutdown()
            except self._nv.NVMLError:
                pass

    @classmethod
    def probe(cls) -> MeterStatus:
        try:
            meter = cls()
        except MeterUnavailable as exc:
            return MeterStatus("nvml", False, exc.reason, exc.fix)
        try:
            names = ", ".join(
                f"{i}: {meter.gpu_names[i]} ({meter.mode[i]})" for i in meter.gpu_indices
            )
            return MeterStatus("nvml", True, f"GPUs {names}")
        finally:
            meter.close()


def _integrate_mw(samples: list[tuple[float, float]]) -> float:
    """Trapezoid integral of (time_s, power_mW) samples, in joules."""
    total_mj = 0.0
    for (t0, p0), (t1, p1) in zip(samples, samples[1:]):
        total_mj += 0.5 * (p0 + p1) * (t1 - t0)
    return total_mj / 1000.0
