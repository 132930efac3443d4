"""Energy and runtime regressors over named terms of (input tokens, output tokens).

Two forms, both sklearn-style (``fit`` returns self, learned state ends in ``_``,
``predict`` raises ``NotFittedError`` before ``fit``); ``X`` is an (n, 2) array of
(tin, tout):

- ``PaperForm``: the paper's e = a0*tin + a1*tout + a2*tin*tout, OLS, no intercept,
  unclipped, so that it reproduces the published coefficients and R2.
- ``DefaultForm``: relative-error least squares (rows weighted by 1/y) with non-negative
  coefficients, so predictions are never negative, over term sets from the physics of
  generation with the KV cache off: step t of tout re-reads the whole sequence of
  tin + t tokens, costing about c0 + c1*(tin + t) + c2*(tin + t)^2 (weights, then
  attention); summed over the steps that gives terms in tout, tin*tout, tout^2,
  tin^2*tout, tin*tout^2 and tout^3, plus a fixed per-batch overhead ``1`` and prefill
  ``tin``.  The term set is chosen per arm by 5-fold held-out median APE.

Terms the rows cannot identify (a column that is a linear combination of a constant and
the other columns, e.g. tin*tout on 1-D sweeps) are dropped and said in ``notes_`` (see
:mod:`planner.fits.identify`); held-out figures come from :mod:`planner.fits.validation`.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from planner.fits.curves import (
    Curve,
    design_matrix,
    total_interval,  # noqa: F401  (re-exported)
)
from planner.fits.identify import identifiable_terms, sweep_lines
from planner.fits.validation import (
    CV_SEED,
    CV_SPLITS,
    check_xy,
    cross_val_predictions,
    error_figures,
)

PAPER_TERMS = ("tin", "tout", "tin*tout")
KV_OFF_TERMS = ("1", "tin", "tout", "tin*tout", "tout^2")
ATTENTION_TERMS = KV_OFF_TERMS + ("tin^2*tout", "tin*tout^2", "tout^3")
DEFAULT_CANDIDATES: dict[str, tuple[str, ...]] = {
    "linear": ("1", "tin", "tout", "tin*tout"),
    "kv-off": KV_OFF_TERMS,
    "kv-off+attention": ATTENTION_TERMS,
    "kv-off+attention+prefill^2": ATTENTION_TERMS + ("tin^2",),
}


def fit_ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ordinary least squares; covariance s^2 (X'X)^-1 with s^2 = RSS / (n - p)."""
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    dof = max(len(y) - x.shape[1], 1)
    cov = (resid @ resid / dof) * np.linalg.pinv(x.T @ x)
    return coef, (cov + cov.T) / 2


def fit_relative_nnls(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """min sum ((y - X b) / y)^2 subject to b >= 0; covariance on the active set.

    The weighted system is solved with unit-norm columns (for conditioning) and scaled
    back.  The covariance is s^2 (Xw_A' Xw_A)^-1 over the active (non-zero) coefficients,
    zero elsewhere, with Xw the rows divided by y and s^2 = weighted RSS / (n - |A|).
    """
    if np.any(y <= 0):
        raise ValueError("relative-error fit needs positive targets")
    xw = x / y[:, None]
    norms = np.linalg.norm(xw, axis=0)
    norms = np.where(norms > 0, norms, 1.0)
    coef_scaled, _ = nnls(xw / norms, np.ones(len(y)), maxiter=50 * x.shape[1] + 100)
    coef = coef_scaled / norms
    active = coef > 0
    cov = np.zeros((x.shape[1], x.shape[1]))
    if active.any():
        resid = 1.0 - xw @ coef
        dof = max(len(y) - int(active.sum()), 1)
        xa = xw[:, active]
        cov_a = (resid @ resid / dof) * np.linalg.pinv(xa.T @ xa)
        cov[np.ix_(active, active)] = (cov_a + cov_a.T) / 2
    return coef, cov


class _CurveRegressor(RegressorMixin, BaseEstimator):
    """What both forms share once fitted: a ``curve_`` and its measured token ranges."""

    def predict(self, X, return_in_range: bool = False):
        """Predictions for (tin, tout) rows; with ``return_in_range``, also a boolean array
        that is False for queries outside the measured token ranges (extrapolated)."""
        check_is_fitted(self, "curve_")
        x, _ = check_xy(X)
        pred = self.curve_.predict(x[:, 0], x[:, 1])
        return (pred, self.curve_.in_range(x[:, 0], x[:, 1])) if return_in_range else pred

    def in_range(self, X):
        """True where a query lies inside the measured token ranges."""
        return self.predict(X, return_in_range=True)[1]


class TermRegressor(_CurveRegressor):
    """y = sum of coef * term(tin, tout), fitted by ``ols`` or ``relative_nnls``.

    ``clip_negative=None`` clips predictions at zero for ``relative_nnls`` only (its
    coefficients are non-negative anyway).  Unidentifiable terms are dropped with a note
    (``drop_unidentifiable=False`` raises instead); fewer than 2 rows per term raises.
    """

    def __init__(
        self,
        terms=PAPER_TERMS,
        method="ols",
        target="energy",
        clip_negative=None,
        drop_unidentifiable=True,
    ):
        self.terms = terms
        self.method = method
        self.target = target
        self.clip_negative = clip_negative
        self.drop_unidentifiable = drop_unidentifiable

    def fit(self, X, y):
        x, yy = check_xy(X, y)
        if self.method not in ("ols", "relative_nnls"):
            raise ValueError(f"unknown method {self.method!r}: use 'ols' or 'relative_nnls'")
        kept, dropped, notes = identifiable_terms(tuple(self.terms), x[:, 0], x[:, 1])
        if dropped and not self.drop_unidentifiable:
            raise ValueError(f"terms {list(dropped)} not identifiable from these rows")
        if not kept:
            raise ValueError(
                f"too few rows ({len(yy)}): they identify none of the terms {list(self.terms)}"
            )
        if len(yy) < 2 * len(kept):
            raise ValueError(
                f"too few rows ({len(yy)}) for {len(kept)} terms {list(kept)}: "
                "need at least 2 per term"
            )
        design = design_matrix(kept, x[:, 0], x[:, 1])
        fitter = fit_ols if self.method == "ols" else fit_relative_nnls
        self.coef_, self.coef_cov_ = fitter(design, yy)
        self.terms_, self.dropped_terms_, self.notes_ = kept, dropped, notes
        clip = self.method != "ols" if self.clip_negative is None else self.clip_negative
        self.curve_ = Curve(
            terms=kept,
            coef=self.coef_,
            target=self.target,
            coef_cov=self.coef_cov_,
            tin_range=(float(x[:, 0].min()), float(x[:, 0].max())),
            tout_range=(float(x[:, 1].min()), float(x[:, 1].max())),
            clip_negative=bool(clip),
            sweep_lines=sweep_lines(x[:, 0], x[:, 1]),
        )
        self.n_features_in_ = 2
        return self


def PaperForm(target: str = "energy") -> TermRegressor:
    """The paper's form: tin, tout, tin*tout; OLS; no intercept; unclipped."""
    return TermRegressor(PAPER_TERMS, method="ols", target=target, clip_negative=False)


class DefaultForm(_CurveRegressor):
    """Relative-error NNLS over the candidate term set with the lowest held-out error.

    ``fit`` scores every candidate that the rows support (2 rows per identifiable term)
    by ``n_splits``-fold CV median APE, breaking near-ties (within ``tie_tolerance``
    relative) towards fewer terms, then refits the winner on all rows.  Learned:
    ``chosen_`` (candidate name), ``candidate_scores_`` (name -> CV median APE),
    ``terms_``, ``coef_``, ``coef_cov_``, ``curve_``, ``notes_``.
    """

    def __init__(
        self,
        candidates=None,
        target="energy",
        n_splits=CV_SPLITS,
        random_state=CV_SEED,
        tie_tolerance=0.02,
    ):
        self.candidates = candidates
        self.target = target
        self.n_splits = n_splits
        self.random_state = random_state
        self.tie_tolerance = tie_tolerance

    def _scores(self, x, y) -> dict[str, tuple[float, int]]:
        scores = {}
        for name, terms in (self.candidates or DEFAULT_CANDIDATES).items():
            kept, _, _ = identifiable_terms(tuple(terms), x[:, 0], x[:, 1])
            if not kept or len(y) < 2 * len(kept):
                continue
            est = TermRegressor(terms, "relative_nnls", self.target)
            try:
                pred = cross_val_predictions(est, x, y, self.n_splits, self.random_state)
            except ValueError:
                continue  # a fold too small for the terms
            scores[name] = (error_figures(y, pred)["median_ape"], len(kept))
        return scores

    def fit(self, X, y):
        x, yy = check_xy(X, y)
        if np.any(yy <= 0):
            raise ValueError(
                f"{int(np.sum(yy <= 0))} of {len(yy)} targets are not positive: "
                "a relative-error fit needs positive values"
            )
        scores = self._scores(x, yy)
        if not scores:
            raise ValueError(f"too few rows ({len(yy)}) for any candidate term set")
        best = min(s for s, _ in scores.values())
        near = [n for n, (s, _) in scores.items() if s <= best * (1 + self.tie_tolerance)]
        self.chosen_ = min(near, key=lambda n: (scores[n][1], scores[n][0]))
        self.candidate_scores_ = {n: s for n, (s, _) in scores.items()}
        terms = (self.candidates or DEFAULT_CANDIDATES)[self.chosen_]
        inner = TermRegressor(terms, "relative_nnls", self.target).fit(x, yy)
        self.terms_, self.dropped_terms_ = inner.terms_, inner.dropped_terms_
        self.coef_, self.coef_cov_, self.curve_ = inner.coef_, inner.coef_cov_, inner.curve_
        self.notes_ = inner.notes_ + [
            f"terms '{self.chosen_}' chosen by {self.n_splits}-fold CV median APE "
            f"({scores[self.chosen_][0]:.1f}%) among "
            + ", ".join(f"{n} {s:.1f}%" for n, (s, _) in scores.items())
        ]
        self.n_features_in_ = 2
        return self
