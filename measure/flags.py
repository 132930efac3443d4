"""Plausibility flags for measured rows, imported or swept: kept in the store, listed in
``flags``, left out of fits by default.  A sweep adds its meter's flags and
``output_tokens_short`` (the model generated fewer tokens than asked) to these.

- ``negative_cpu_energy`` / ``negative_gpu_energy``: idle power subtracted from a noisy reading;
- ``gpu_total_mismatch``: a total GPU column that disagrees with the per-GPU sum by more
  than ``TOTAL_MISMATCH_FRACTION`` (the per-GPU columns are the source and are stored);
- ``gpu_count_mismatch``: the row has per-GPU values for a different number of GPUs than its
  ``Number of GPUs`` says (a blank per-GPU cell for a GPU in use leaves the sum short);
- ``implausible_cpu_power``: mean CPU power over the measurement above ``MAX_CPU_POWER_W``;
- ``implausible_gpu_power``: mean power of one GPU above ``MAX_GPU_POWER_W`` (with only a
  total column, the total is shared evenly over ``Number of GPUs``);
- ``nonpositive_runtime``: runtime zero or negative (power checks are then skipped);
- ``missing_energy``: the row has no energy value at all;
- ``duplicate_of_stored`` (set at import): the store already holds the same measurement
  (model, system, tokens, runtime and energies) from another file, e.g. a re-exported copy.
"""

from __future__ import annotations

import pandas as pd

# Physical bounds on mean power over a measurement.  A two-socket server's CPU packages
# (plus DRAM) stay well under 1 kW; no shipping single GPU board is rated above 1 kW
# (A100 400 W, H100 SXM 700 W, B200 1000 W).
MAX_CPU_POWER_W = 1000.0
MAX_GPU_POWER_W = 1000.0
TOTAL_MISMATCH_FRACTION = 0.01


def row_flags(runtime_s, gpu_j, per_device, total_j, cpu_j, n_gpus) -> list[str]:
    """The flags of one row; energies in J (``gpu_j`` is the stored GPU energy, ``per_device``
    the per-GPU values it was summed from, ``total_j`` a total column beside them)."""
    flags = []
    if cpu_j is not None and cpu_j < 0:
        flags.append("negative_cpu_energy")
    if (gpu_j is not None and gpu_j < 0) or any(e < 0 for e in per_device):
        flags.append("negative_gpu_energy")
    if per_device and total_j is not None:
        if abs(total_j - gpu_j) > TOTAL_MISMATCH_FRACTION * abs(gpu_j):
            flags.append("gpu_total_mismatch")
    if per_device and n_gpus is not None and len(per_device) != n_gpus:
        flags.append("gpu_count_mismatch")
    if gpu_j is None and cpu_j is None:
        flags.append("missing_energy")
    if runtime_s is None or runtime_s <= 0:
        flags.append("nonpositive_runtime")
        return flags
    if cpu_j is not None and cpu_j / runtime_s > MAX_CPU_POWER_W:
        flags.append("implausible_cpu_power")
    device_j = per_device or ([gpu_j / max(n_gpus or 1, 1)] if gpu_j is not None else [])
    if any(e / runtime_s > MAX_GPU_POWER_W for e in device_j):
        flags.append("implausible_gpu_power")
    return flags


def count_flags(frame: pd.DataFrame, column: str) -> dict[str, int]:
    """How many rows carry each flag, in name order."""
    counts: dict[str, int] = {}
    if column in frame.columns:
        for flags in frame[column]:
            for flag in flags:
                counts[flag] = counts.get(flag, 0) + 1
    return dict(sorted(counts.items()))
