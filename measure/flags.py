"""Plausibility flags for measured rows, imported or swept: kept in the store, listed in
``flags``.  A sweep adds its meter's flags and ``output_tokens_short`` (the model generated
fewer tokens than asked) to these.  Every flag disqualifies its row from fits
(:func:`disqualifies`) except the ``INFORMATIONAL_FLAGS``, which describe a column the row's
figures were not taken from.

- ``negative_cpu_energy`` / ``negative_gpu_energy``: idle power subtracted from a noisy reading;
- ``gpu_total_mismatch`` (informational): a total GPU column that disagrees with the per-GPU
  sum by more than ``TOTAL_MISMATCH_FRACTION`` (the per-GPU columns are the source and are
  stored, so the row stays usable);
- ``gpu_total_unit_mislabel`` (informational): the same, where the total is the per-GPU sum
  times a unit factor (``UNIT_MISLABEL_FACTORS``, e.g. a column headed J that holds mJ);
- ``gpu_count_mismatch``: the row has per-GPU values for a different number of GPUs than its
  ``Number of GPUs`` says (a blank per-GPU cell for a GPU in use leaves the sum short);
- ``implausible_cpu_power``: mean CPU power over the measurement above ``MAX_CPU_POWER_W``;
- ``implausible_gpu_power``: mean power of one GPU above ``MAX_GPU_POWER_W`` (with only a
  total column, the total is shared evenly over ``Number of GPUs``);
- ``nonpositive_runtime``: runtime zero or negative (power checks are then skipped);
- ``implausible_runtime``: runtime not finite or above ``MAX_RUNTIME_S`` (power checks skipped);
- ``implausible_tokens``: an input, output or generated token count above ``MAX_TOKENS``;
- ``implausible_gpu_count``: more GPUs than ``MAX_GPUS``;
- ``implausible_batch_size``: a batch of more than ``MAX_BATCH_SIZE`` queries;
- ``missing_energy``: the row has no energy value at all;
- ``duplicate_of_stored`` (set at import, on measurements and start-up rows): the store
  already holds the same row (model, system, tokens or phase, runtime and energies) from
  another file, e.g. a re-exported copy.
"""

from __future__ import annotations

import math

import pandas as pd

# Physical bounds on mean power over a measurement.  A two-socket server's CPU packages
# (plus DRAM) stay well under 1 kW; no shipping single GPU board is rated above 1 kW
# (A100 400 W, H100 SXM 700 W, B200 1000 W).
MAX_CPU_POWER_W = 1000.0
MAX_GPU_POWER_W = 1000.0
TOTAL_MISMATCH_FRACTION = 0.01
# One measured batch taking over a day is not a measurement of serving: a unit or export
# error, and one such value would dominate a least-squares fit.
MAX_RUNTIME_S = 86_400.0
# The longest context windows offered (10M tokens), the largest GPU count one model is served
# on (racks of 72, a few racks at most) and batch sizes of offline serving, each with room.
MAX_TOKENS = 10_000_000
MAX_GPUS = 1024
MAX_BATCH_SIZE = 1_000_000
# A total column that is the per-GPU sum times one of these (within TOTAL_MISMATCH_FRACTION),
# or divided by one, carries the wrong unit in its heading: 1e3 is mJ for J (or J for kJ),
# 3.6e3 J for Wh, 1e6 mJ for kJ, 3.6e6 J for kWh (or mJ for Wh).
UNIT_MISLABEL_FACTORS = (1e3, 3.6e3, 1e6, 3.6e6)
# Flags about a column the row's stored figures were not taken from: kept, shown, and the
# row still counts in fits.
INFORMATIONAL_FLAGS = frozenset({"gpu_total_mismatch", "gpu_total_unit_mislabel"})
# Set by the store at import, on rows equal to stored rows of another file.
DUPLICATE_FLAG = "duplicate_of_stored"
# Serving rows (the store's ``serving`` table): each keeps a row out of operating-point fits.
BATCH_ABOVE_LIMIT_FLAG = "batch_above_limit"  # mean batch > max_num_seqs x BATCH_LIMIT_SLACK
ENERGY_MISMATCH_FLAG = "energy_mismatch"  # energy/request vs energy/token x output length
ITL_ORDER_FLAG = "itl_p90_below_median"  # a percentile below the median: not a distribution
NONPOSITIVE_ENERGY_FLAG = "energy_nonpositive"  # the meter read <= 0 J over the window


def row_flags(
    runtime_s,
    gpu_j,
    per_device,
    total_j,
    cpu_j,
    n_gpus,
    *,
    tokens=(),
    batch_size: int | None = None,
) -> list[str]:
    """The flags of one row; energies in J (``gpu_j`` is the stored GPU energy, ``per_device``
    the per-GPU values it was summed from, ``total_j`` a total column beside them);
    ``tokens`` the row's token counts (None where unknown)."""
    flags = []
    if cpu_j is not None and cpu_j < 0:
        flags.append("negative_cpu_energy")
    if (gpu_j is not None and gpu_j < 0) or (per_device and min(per_device) < 0):
        flags.append("negative_gpu_energy")
    if per_device and total_j is not None:
        if abs(total_j - gpu_j) > TOTAL_MISMATCH_FRACTION * abs(gpu_j):
            mislabel = total_unit_factor(total_j, gpu_j) is not None
            flags.append("gpu_total_unit_mislabel" if mislabel else "gpu_total_mismatch")
    if per_device and n_gpus is not None and len(per_device) != n_gpus:
        flags.append("gpu_count_mismatch")
    if max((t for t in tokens if t is not None), default=0) > MAX_TOKENS:
        flags.append("implausible_tokens")
    if n_gpus is not None and n_gpus > MAX_GPUS:
        flags.append("implausible_gpu_count")
    if batch_size is not None and batch_size > MAX_BATCH_SIZE:
        flags.append("implausible_batch_size")
    if gpu_j is None and cpu_j is None:
        flags.append("missing_energy")
    if runtime_s is None or runtime_s <= 0:
        flags.append("nonpositive_runtime")
        return flags
    if not math.isfinite(runtime_s) or runtime_s > MAX_RUNTIME_S:
        flags.append("implausible_runtime")
        return flags
    if cpu_j is not None and cpu_j / runtime_s > MAX_CPU_POWER_W:
        flags.append("implausible_cpu_power")
    device_j = per_device or ([gpu_j / max(n_gpus or 1, 1)] if gpu_j is not None else [])
    if device_j and max(device_j) / runtime_s > MAX_GPU_POWER_W:
        flags.append("implausible_gpu_power")
    return flags


def total_unit_factor(total_j: float, sum_j: float) -> float | None:
    """The unit factor (e.g. 1000, or 1/1000) by which a total column differs from the
    per-GPU sum, or None when the two differ by no such factor."""
    if not sum_j or not total_j or (total_j < 0) != (sum_j < 0):
        return None
    ratio = total_j / sum_j
    for factor in UNIT_MISLABEL_FACTORS:
        for candidate in (factor, 1.0 / factor):
            if abs(ratio - candidate) <= TOTAL_MISMATCH_FRACTION * candidate:
                return candidate
    return None


def disqualifying(flags) -> list[str]:
    """The flags among ``flags`` that keep a row out of fits (all but the informational);
    ``flags`` may be a list, a tuple, a numpy array, or None/NaN for none."""
    if flags is None or (isinstance(flags, float) and math.isnan(flags)):
        return []
    return [f for f in flags if f not in INFORMATIONAL_FLAGS]


def disqualifies(flags) -> bool:
    """Whether a row with these flags is left out of fits by default."""
    return bool(disqualifying(flags))


def count_flags(frame: pd.DataFrame, column: str) -> dict[str, int]:
    """How many rows carry each flag, in name order."""
    counts: dict[str, int] = {}
    if column in frame.columns:
        for flags in frame[column]:
            for flag in flags:
                counts[flag] = counts.get(flag, 0) + 1
    return dict(sorted(counts.items()))
