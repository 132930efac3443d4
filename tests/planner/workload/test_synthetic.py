"""Synthetic token counts (numpy alone) are the synthetic workload that is planned."""

from __future__ import annotations

import numpy as np

from planner.workload.load import synthetic_workload
from planner.workload.synthetic import synthetic_tokens


def test_synthetic_tokens_are_the_planned_workloads():
    tin, tout = synthetic_tokens("math", 500, seed=7)
    q = synthetic_workload("math", 500, seed=7).queries
    assert np.array_equal(tin, q["input_tokens"]) and np.array_equal(tout, q["output_tokens"])
