"""Unit tests of planner.fits.forms on synthetic (tin, tout) data."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from planner.fits.curves import design_matrix
from planner.fits.forms import (
    ATTENTION_TERMS,
    PAPER_TERMS,
    DefaultForm,
    PaperForm,
    TermRegressor,
    fit_relative_nnls,
    total_interval,
)
from planner.fits.identify import identifiable_terms, sweep_lines
from planner.fits.validation import cross_val_predictions, error_figures, in_sample_r2

GRID = np.array([8, 16, 32, 64, 128, 256, 512, 1024, 2048], dtype=float)


def grid_xy(noise=0.03, seed=0):
    """A KV-off-like energy grid: positive, with a per-batch overhead and attention terms."""
    tin, tout = (a.ravel() for a in np.meshgrid(GRID, GRID))
    true = np.array([5.0, 0.0, 4.0, 0.03, 0.013, 3e-6, 3e-6, 1.8e-6])
    y = design_matrix(ATTENTION_TERMS, tin, tout) @ true
    y = y * np.exp(np.random.default_rng(seed).normal(0, noise, len(y)))
    return np.column_stack([tin, tout]), y, true


def sweep_xy(seed=0):
    """Two 1-D sweeps: tin at tout=32 and tout at tin=38 (as in systems-sweeps.csv)."""
    tin = np.r_[GRID, np.full(9, 38.0)]
    tout = np.r_[np.full(9, 32.0), GRID]
    y = 3 + 0.5 * tin + 4 * tout + 0.01 * tout**2
    y = y * np.exp(np.random.default_rng(seed).normal(0, 0.02, len(y)))
    return np.column_stack([tin, tout]), y


@pytest.mark.parametrize("est", [PaperForm(), DefaultForm(), TermRegressor(("1", "tout"))])
def test_predict_refuses_before_fit(est):
    with pytest.raises(NotFittedError):
        est.predict([[8, 8]])


def test_fit_returns_self_and_learned_state():
    x, y, _ = grid_xy()
    est = DefaultForm()
    assert est.fit(x, y) is est
    for attr in ("coef_", "coef_cov_", "curve_", "terms_", "notes_", "chosen_"):
        assert hasattr(est, attr)
    assert est.coef_.shape == (len(est.terms_),)
    assert est.coef_cov_.shape == (len(est.terms_),) * 2
    assert est.curve_.tin_range == (8.0, 2048.0)
    assert not hasattr(clone(est), "coef_")


def test_paper_form_matches_statsmodels_ols():
    x, y, _ = grid_xy(noise=0.1)
    est = PaperForm().fit(x, y)
    ref = sm.OLS(y, design_matrix(PAPER_TERMS, x[:, 0], x[:, 1])).fit()
    np.testing.assert_allclose(est.coef_, ref.params, rtol=1e-9)
    np.testing.assert_allclose(est.coef_cov_, ref.cov_params(), rtol=1e-6, atol=1e-9)
    r2 = in_sample_r2(y, est.predict(x), has_intercept=False)
    assert r2 == pytest.approx(ref.rsquared, rel=1e-9)
    assert est.curve_.clip_negative is False


def test_default_form_recovers_noise_free_physics():
    x, y, true = grid_xy(noise=0.0)
    est = DefaultForm().fit(x, y)
    pred = est.predict(x)
    np.testing.assert_allclose(pred, y, rtol=1e-6)
    assert est.chosen_ == "kv-off+attention"
    np.testing.assert_allclose(est.coef_, true, rtol=1e-4, atol=1e-9)


def test_default_form_never_predicts_negative_far_outside_range():
    x, y, _ = grid_xy(noise=0.2, seed=3)
    est = DefaultForm().fit(x, y)
    assert np.all(est.coef_ >= 0)
    far = np.array([[0, 0], [0, 1], [1, 0], [1e6, 1], [1, 1e6], [1e6, 1e6], [5e3, 0]])
    assert np.all(est.predict(far) >= 0)
    assert list(est.in_range(far)) == [False] * len(far)
    assert est.in_range([[64, 64]])[0]


def test_paper_form_goes_negative_where_the_published_fit_does():
    """The paper form is kept unclipped (it reproduces the published numbers)."""
    x, y, _ = grid_xy(noise=0.0)
    est = PaperForm().fit(x, y)
    assert est.coef_[0] < 0
    assert est.predict([[2048, 1]])[0] < 0


def test_relative_nnls_covariance_restricted_to_active_set():
    x, y, _ = grid_xy(noise=0.05, seed=1)
    design = design_matrix(ATTENTION_TERMS, x[:, 0], x[:, 1])
    coef, cov = fit_relative_nnls(design, y)
    assert np.all(coef >= 0)
    inactive = coef == 0
    assert np.all(cov[inactive] == 0) and np.all(cov[:, inactive] == 0)
    assert np.all(np.linalg.eigvalsh(cov) >= -1e-12 * np.abs(cov).max())
    with pytest.raises(ValueError, match="positive"):
        fit_relative_nnls(design, -y)


def test_default_form_refuses_non_positive_targets():
    x, y, _ = grid_xy()
    y[3] = 0.0
    with pytest.raises(ValueError, match="1 of 81 targets are not positive"):
        DefaultForm().fit(x, y)


def test_identifiability_on_one_dimensional_sweeps():
    x, _ = sweep_xy()
    kept, dropped, notes = identifiable_terms(PAPER_TERMS, x[:, 0], x[:, 1])
    assert kept == ("tin", "tout") and dropped == ("tin*tout",)
    assert "tin*tout not identifiable" in notes[0] and "dropped" in notes[0]
    assert "32*tin + 38*tout" in notes[0]
    assert sweep_lines(x[:, 0], x[:, 1]) == (38.0, 32.0)
    grid, _, _ = grid_xy()
    assert identifiable_terms(ATTENTION_TERMS, grid[:, 0], grid[:, 1])[1] == ()
    assert sweep_lines(grid[:, 0], grid[:, 1]) is None


def test_unidentifiable_terms_dropped_with_note_or_refused():
    x, y = sweep_xy()
    est = PaperForm().fit(x, y)
    assert est.terms_ == ("tin", "tout") and est.dropped_terms_ == ("tin*tout",)
    assert any("tin*tout not identifiable" in n for n in est.notes_)
    strict = TermRegressor(PAPER_TERMS, drop_unidentifiable=False)
    with pytest.raises(ValueError, match=r"\['tin\*tout'\] not identifiable"):
        strict.fit(x, y)
    default = DefaultForm().fit(x, y)
    assert "tin*tout" not in default.terms_
    assert np.all(default.predict([[2048, 2048], [0, 0]]) >= 0)


def test_too_few_rows_refused():
    x = np.array([[8, 8], [16, 8], [8, 16], [32, 32], [64, 8]], dtype=float)
    with pytest.raises(ValueError, match="too few rows"):
        PaperForm().fit(x, np.arange(1.0, 6.0))
    with pytest.raises(ValueError, match="too few rows"):
        DefaultForm().fit(x[:3], np.arange(1.0, 4.0))


def test_bad_input_shapes_named():
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        PaperForm().fit(np.ones((10, 3)), np.ones(10))
    with pytest.raises(ValueError, match="10 rows but y has 9"):
        PaperForm().fit(np.ones((10, 2)), np.ones(9))


def test_cross_validation_is_held_out():
    x, y, _ = grid_xy(noise=0.05)
    est = DefaultForm()
    pred_cv = cross_val_predictions(est, x, y)
    pred_in = clone(est).fit(x, y).predict(x)
    cv, ins = error_figures(y, pred_cv), error_figures(y, pred_in)
    assert cv["median_ape"] > ins["median_ape"]  # held-out error is worse than in-sample
    assert cv["median_ape"] < 10 and cv["r2"] > 0.97
    assert np.array_equal(pred_cv, cross_val_predictions(est, x, y))  # fixed seed


def test_total_interval_contains_total_and_scales():
    x, y, _ = grid_xy(noise=0.05)
    curve = DefaultForm().fit(x, y).curve_
    tin, tout = np.array([100.0, 500.0]), np.array([50.0, 300.0])
    total, lo, hi = total_interval(curve, tin, tout, counts=[10, 5])
    assert lo < total < hi
    expected = 10 * curve.predict(100, 50)[0] + 5 * curve.predict(500, 300)[0]
    assert total == pytest.approx(expected)
    t2, lo2, hi2 = total_interval(curve, tin, tout, counts=[20, 10])
    assert t2 == pytest.approx(2 * total) and hi2 - t2 == pytest.approx(2 * (hi - total))


@pytest.mark.parametrize("est", [PaperForm(), DefaultForm()])
def test_predict_marks_queries_outside_the_measured_range(est):
    x, y, _ = grid_xy()
    est.fit(x, y)
    queries = [[64, 64], [4096, 64], [64, 1], [2048, 8]]
    pred, inside = est.predict(queries, return_in_range=True)
    assert list(inside) == [True, False, False, True]
    np.testing.assert_array_equal(pred, est.predict(queries))
    assert list(est.in_range(queries)) == list(inside)


def test_no_rows_identify_no_terms():
    kept, dropped, _ = identifiable_terms(PAPER_TERMS, np.zeros(0), np.zeros(0))
    assert kept == () and dropped == PAPER_TERMS
