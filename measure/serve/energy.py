"""Meters for a server in another process: NVML over the server's GPUs, RAPL for the host's
CPU, and, where neither sees the CPU, an estimate from the *server's* CPU time.

The sweep's :class:`~measure.meters.EstimateMeter` counts its own process's CPU time; here
the work runs in the server, so :class:`ServerCpuEstimateMeter` counts the CPU seconds of
the server's process tree (found from the port it listens on, or ``--server-pid``) times
watts per core, labelled ``estimated``.  It cannot see a server on another host: there the
GPUs (NVML on that host) or nothing can be metered, and the runner says so.
"""

from __future__ import annotations

import ipaddress
import socket

from measure.meters import (
    CompositeMeter,
    EnergyMeter,
    MeterReading,
    MeterUnavailable,
    NvmlMeter,
    RaplMeter,
    named_meters,
    parse_meter_spec,
)
from measure.serve.client import Endpoint


class ServerCpuEstimateMeter(EnergyMeter):
    """CPU seconds of the server's processes (the root and its children) x watts per core."""

    name = "estimate"
    source = "estimated"
    kind = "cpu"
    min_window_s = 0.05

    def __init__(self, pid: int, watts_per_core: float):
        super().__init__()
        if not watts_per_core > 0:
            raise ValueError(f"watts_per_core must be positive, got {watts_per_core!r}")
        self.psutil = _psutil()
        try:
            self.root = self.psutil.Process(pid)
        except self.psutil.Error as exc:
            raise MeterUnavailable("estimate", f"no server process {pid} here ({exc})") from exc
        self.pid, self.watts_per_core = pid, float(watts_per_core)
        self._cpu0_s = 0.0

    def cpu_s(self) -> float:
        total = 0.0
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except self.psutil.Error:
            processes = [self.root]
        for process in processes:
            try:
                times = process.cpu_times()
            except self.psutil.Error:
                continue  # gone: its last seconds are lost, a small undercount
            total += times.user + times.system
        return total

    def _begin(self) -> None:
        self._cpu0_s = self.cpu_s()

    def _end(self, duration_s: float) -> MeterReading:
        cpu_s = max(self.cpu_s() - self._cpu0_s, 0.0)
        return MeterReading(self.source, duration_s, {"cpu:server": cpu_s * self.watts_per_core})

    def describe(self) -> dict:
        return {
            **super().describe(),
            "watts_per_core": self.watts_per_core,
            "server_pid": self.pid,
            "method": "server process tree CPU time x watts per core",
        }


def _psutil():
    try:
        import psutil
    except ImportError:
        raise MeterUnavailable(
            "estimate",
            "psutil is not installed (it reads the server's CPU time)",
            'pip install "transformers[serving]" (it brings psutil) or pip install psutil',
        ) from None
    return psutil


def is_local(endpoint: Endpoint) -> bool:
    try:
        address = ipaddress.ip_address(socket.gethostbyname(endpoint.host))
    except (OSError, ValueError):
        return False
    return address.is_loopback or endpoint.host in (socket.gethostname(), socket.getfqdn())


def find_server_pid(endpoint: Endpoint) -> int | None:
    """The process listening on the endpoint's port on this host, where it can be seen."""
    if not is_local(endpoint):
        return None
    try:
        psutil = _psutil()
        connections = psutil.net_connections(kind="tcp")
    except (MeterUnavailable, OSError, RuntimeError):
        return None
    for conn in connections:
        if conn.status == "LISTEN" and conn.laddr and conn.laddr.port == endpoint.port:
            if conn.pid:
                return int(conn.pid)
    return None


def serve_meter(
    spec: str,
    *,
    gpu_indices: list[int] | None,
    server_pid: int | None,
    watts_per_core: float,
) -> CompositeMeter:
    """``auto``: NVML over ``gpu_indices`` (all visible GPUs when None) where NVML works,
    RAPL where it works, else the server CPU estimate where the server's process is known.
    Named meters must work or :class:`MeterUnavailable` says why."""
    names = parse_meter_spec(spec)
    meters: list[EnergyMeter] = []
    if names is None:
        for factory in (lambda: NvmlMeter(gpu_indices), RaplMeter):
            try:
                meters.append(factory())
            except MeterUnavailable:
                pass
        if not any(m.kind == "cpu" for m in meters) and server_pid is not None:
            meters.append(ServerCpuEstimateMeter(server_pid, watts_per_core))
        if not meters:
            raise MeterUnavailable(
                "serve",
                "no meter sees the server here: NVML and RAPL are unavailable and the "
                "server's process is unknown",
                "run on the server's host, or pass --server-pid for the CPU-time estimate",
            )
    else:

        def estimate() -> EnergyMeter:
            if server_pid is None:
                raise MeterUnavailable(
                    "estimate",
                    "the server's process is unknown (not a local port we can see)",
                    "pass --server-pid",
                )
            return ServerCpuEstimateMeter(server_pid, watts_per_core)

        meters = named_meters(names, gpu_indices, estimate)
    return CompositeMeter(meters)


def energy_scope(meter: CompositeMeter) -> str:
    kinds = {m.kind for m in meter.meters if m.source != "none"}
    return "+".join(k for k in ("gpu", "cpu") if k in kinds) or "none"
