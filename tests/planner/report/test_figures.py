"""Charts of workloads and plans."""

from __future__ import annotations

from planner.report.figures import workload_figure
from planner.workload.histogram import token_histogram
from planner.workload.load import synthetic_workload
from planner.workload.synthetic import synthetic_tokens


def test_workload_figure_is_the_first_charts_histogram():
    """The report draws a workload as the Planner page's first chart does (numpy alone)."""
    fig = token_histogram(*synthetic_tokens("chat", 3000, seed=1))
    q = synthetic_workload("chat", 3000, seed=1).queries
    assert [list(t.y) for t in workload_figure(q).data] == [list(t.y) for t in fig.data]
