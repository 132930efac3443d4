import numpy as np
import pytest

from planner.fits.curves import Curve, FitReport, design_matrix


def test_design_matrix_evaluates_named_terms():
    cols = design_matrix(("1", "tin", "tout^2", "tin*tout"), [2, 3], [5, 7])
    assert cols.tolist() == [[1, 2, 25, 10], [1, 3, 49, 21]]


def test_unknown_term_is_refused():
    with pytest.raises(ValueError, match="unknown factor"):
        Curve(terms=("tin", "tokens"), coef=[1.0, 2.0])


def test_sweep_lines_limit_the_measured_range():
    curve = Curve(
        terms=("tin", "tout"),
        coef=[1.0, 1.0],
        tin_range=(8, 2048),
        tout_range=(8, 4096),
        sweep_lines=(32.0, 32.0),
    )
    inside = curve.in_range([32, 1000, 1000, 36, 1000], [4000, 32, 1000, 600, 5000])
    assert inside.tolist() == [True, True, False, True, False]
    report = FitReport("m", "s", "energy", "default", curve)
    again = FitReport.from_json(report.to_json())
    assert again.curve.sweep_lines == (32.0, 32.0)
    assert again.in_range([1000], [1000]).tolist() == [False]


def test_paper_form_stays_unclipped_default_form_clips():
    paper = Curve(terms=("tin", "tout", "tin*tout"), coef=[-8.8, 41.3, 0.089], clip_negative=False)
    default = Curve(terms=("tin", "tout"), coef=[-1.0, 0.0])
    assert paper.predict(2048, 8)[()] < 0
    assert default.predict(100, 1)[()] == 0.0
    assert np.isfinite(paper.predict(np.array([1, 2]), np.array([3, 4]))).all()


def test_total_interval_leaves_clipped_queries_out_of_the_spread():
    from planner.fits.curves import total_interval

    cov = np.diag([1.0, 1.0])
    curve = Curve(terms=("1", "tout"), coef=[-10.0, 1.0], coef_cov=cov)
    total, lo, hi = total_interval(curve, [0, 0], [5, 20])  # first query clips to 0 J
    alone = total_interval(curve, [0], [20])
    assert total == pytest.approx(10.0)
    assert (total, lo, hi) == pytest.approx(alone)
    assert lo < total < hi
