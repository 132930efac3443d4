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


def test_ratio_axes_start_at_zero_and_the_histogram_has_room_for_its_labels(chat_planner):
    from planner.report.figures import comparison_figure, zeta_figure

    fig = workload_figure(synthetic_workload("chat", 300, seed=1).queries, "w")
    assert fig.layout.yaxis.rangemode == "tozero" and fig.layout.yaxis.automargin
    assert fig.layout.margin.l >= 40  # the count axis' labels are not clipped
    plans = chat_planner.frontier(zetas=[0.0, 1.0])
    zeta = zeta_figure(plans, [0.0, 1.0])
    assert [zeta.layout[f"yaxis{i}"].rangemode for i in ("", "2", "3")] == ["tozero"] * 3
    bars = comparison_figure(plans[0], {"other": plans[1]})
    assert bars.layout.xaxis.rangemode == "tozero"
    assert list(bars.data[0].text) == [f"{p.energy_j / 3.6e6:.3g}" for p in plans]
