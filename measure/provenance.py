"""Where a sweep ran: host, CPU and GPU names, library versions (for a run's provenance)."""

from __future__ import annotations

import os
import platform
import socket
import sys
from importlib import metadata

LIBRARIES = ("torch", "transformers", "numpy", "nvidia-ml-py", "pyRAPL", "duckdb")


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    versions["python"] = platform.python_version()
    return versions


def gpu_names(device: str, meter_description: dict) -> list[str]:
    """GPU names from the NVML meter where present, else from torch for a CUDA device."""
    for meter in meter_description.get("meters", []):
        if meter.get("name") == "nvml":
            return list(meter.get("gpu_names", []))
    if device.startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            index = torch.device(device).index or 0
            return [torch.cuda.get_device_name(index)]
    return []


def collect(device: str, meter_description: dict) -> dict:
    """Machine-level provenance for a run (row-level fields live in the rows)."""
    import torch

    gpus = gpu_names(device, meter_description)
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "cpu_name": cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu_names": gpus,
        "gpu_count": len(gpus),
        "libraries": library_versions(),
        "argv": sys.argv,
        "slurm": {
            k: v
            for k, v in os.environ.items()
            if k
            in ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURM_JOB_NODELIST")
        },
    }
