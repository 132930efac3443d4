"""Serving arms' figures: per arm energy per token, throughput and ITL p90 against batch,
measured points and the fitted curve on a log batch axis, with the source and caveats
written under each."""

from __future__ import annotations

import numpy as np
import pytest

from planner.report.serving_views import (
    SERVING_TARGETS,
    serving_figure,
    serving_figures,
    serving_overview,
    setup_rows,
)
from planner.serving.embedded import embedded_arms, read_embedded


@pytest.fixture(scope="module")
def served():
    catalogue = read_embedded()
    arms = embedded_arms(catalogue, tasks=["lm-arena-chat"], systems=["H100"])
    arm = next(a for a in arms if a.setup.model == "Qwen/Qwen3-8B")
    return catalogue, arm, arms


def _trace(fig, name):
    return next(t for t in fig.data if t.name == name)


def test_each_figure_has_the_measured_points_and_the_fitted_curve(served):
    catalogue, arm, _ = served
    points = setup_rows(catalogue.rows, arm.setup)
    assert len(points) == arm.model.n_rows_ and len(points) >= 3
    figures = serving_figures(arm, points)
    assert set(figures) == set(SERVING_TARGETS)
    for target, fig in figures.items():
        column = SERVING_TARGETS[target][0]
        measured = _trace(fig, "measured")
        assert list(measured.x) == list(points["mean_batch"])
        assert list(measured.y) == list(points[column])
        fitted = _trace(fig, "fitted")
        x = np.asarray(fitted.x)
        assert x.min() == pytest.approx(arm.model.min_batch_)
        assert x.max() == pytest.approx(arm.model.max_batch_)
        assert np.allclose(fitted.y, arm.model.predict_many(target, x))
        assert fig.layout.xaxis.type == "log"
        source = fig.layout.annotations[-1].text
        assert "ML.ENERGY" in source and "GPU energy only" in source
        assert "prefill folded in" in source and "idle excluded" in source
    energy = np.asarray(_trace(figures["energy_per_token_j"], "fitted").y)
    assert np.all(np.diff(energy) <= 1e-12)  # energy per token never rises with batch


def test_an_operating_point_is_marked_on_the_curve(served):
    catalogue, arm, _ = served
    points = setup_rows(catalogue.rows, arm.setup)
    fig = serving_figure(arm, points, "itl_ms_p90", batch=100.0)
    star = _trace(fig, "operating point")
    assert star.x[0] == 100.0
    assert star.y[0] == pytest.approx(arm.model.predict(100.0).itl_ms_p90)
    with pytest.raises(ValueError, match="unknown serving target"):
        serving_figure(arm, points, "power")


def test_overview_lists_every_arm_with_its_held_out_errors(served):
    _, _, arms = served
    table = serving_overview(arms)
    assert len(table) == len(arms)
    assert (table["energy_per_token_j_at_max"] > 0).all()
    assert table["cv energy/token (%)"].notna().any()
