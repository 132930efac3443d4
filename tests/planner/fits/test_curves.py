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


MIXTRAL_PAPER = Curve(  # the published paper-form energy fit of Mixtral 8x7B (thesis Table 5.2)
    terms=("tin", "tout", "tin*tout"),
    coef=[-8.48, 105.54, 0.0986],
    tin_range=(8.0, 2048.0),
    tout_range=(8.0, 2048.0),
    clip_negative=False,
)


def test_the_physical_floor_of_a_paper_form_fit():
    # 1,469 input and 13 output tokens: the fit says -9.2 kJ; the floor is its figure for
    # 8 input and 13 output tokens, a query the real one dominates
    assert MIXTRAL_PAPER.predict(1469, 13)[()] == pytest.approx(-9202.1358)
    value, floored = MIXTRAL_PAPER.predict_floored([1469], [13])
    assert floored.tolist() == [True]
    assert value[0] == pytest.approx(-8.48 * 8 + 105.54 * 13 + 0.0986 * 8 * 13)
    # where the fit grows with the prompt it is used as fitted
    value, floored = MIXTRAL_PAPER.predict_floored([100], [200])
    assert not floored[0] and value[0] == pytest.approx(MIXTRAL_PAPER.predict(100, 200)[()])
    # a query shorter than anything measured: the smallest measured query's figure per token
    value, _ = MIXTRAL_PAPER.predict_floored([4], [2])
    assert value[0] == pytest.approx(MIXTRAL_PAPER.predict(8, 8)[()] * 6 / 16)
    # beyond the measured range: at least the figure at the edge it dominates
    value, _ = MIXTRAL_PAPER.predict_floored([100_000], [10])
    assert value[0] >= MIXTRAL_PAPER.predict(8, 10)[()] > 0


def test_floored_predictions_are_never_negative_nor_fall_as_a_query_grows():
    tin, tout = np.meshgrid(np.arange(0, 6000, 37.0), np.arange(0, 3000, 23.0))
    value, _ = MIXTRAL_PAPER.predict_floored(tin.ravel(), tout.ravel())
    value = value.reshape(tin.shape)
    assert (value >= 0).all() and (value[tin + tout > 0] > 0).all()
    inside = (tin >= 8) & (tout >= 8)  # within the measured box and above it, monotone
    rows = np.where(inside, value, np.nan)
    assert (np.nan_to_num(np.diff(rows, axis=1), nan=0) >= -1e-6).all()
    assert (np.nan_to_num(np.diff(rows, axis=0), nan=0) >= -1e-6).all()


def test_a_monotone_curve_is_never_floored():
    curve = Curve(terms=("1", "tin", "tout"), coef=[0.0, 0.5, 2.0], tin_range=(8, 64))
    value, floored = curve.predict_floored([1, 100, 5000], [0, 3, 7])
    assert not floored.any() and value.tolist() == curve.predict([1, 100, 5000], [0, 3, 7]).tolist()


def test_longest_query_of_a_grid_and_of_two_sweeps():
    grid = Curve(terms=("tin",), coef=[1.0], tin_range=(8, 2048), tout_range=(8, 2048))
    assert grid.longest_query() == 4096
    sweeps = Curve(
        terms=("tin",),
        coef=[1.0],
        tin_range=(8, 2048),
        tout_range=(8, 4096),
        sweep_lines=(32.0, 32.0),
    )
    assert sweeps.longest_query() == 32 + 4096
    assert Curve(terms=("tin",), coef=[1.0]).longest_query() == np.inf


def test_a_fit_negative_at_every_corner_the_query_dominates_falls_back_to_its_least_rate():
    # -5 J per input token: nothing positive below (100, 10); at (8, 2048) it predicts
    # 2008 J for 2056 tokens, its least positive figure per token over its measured corners
    curve = Curve(
        terms=("tin", "tout"), coef=[-5.0, 1.0], tin_range=(8, 2048), tout_range=(8, 2048)
    )
    assert curve.least_rate() == pytest.approx(2008 / 2056)
    value, floored = curve.predict_floored([100, 4000], [10, 10])
    assert floored.all() and value == pytest.approx([110 * 2008 / 2056, 4010 * 2008 / 2056])
    assert curve.usable
    hopeless = Curve(terms=("tin",), coef=[-5.0], tin_range=(8, 2048), tout_range=(8, 2048))
    assert hopeless.least_rate() == 0.0 and not hopeless.usable
