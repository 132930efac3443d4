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
the other columns, e.g. tin*tout on 1-D sweeps) are dropped and said in ``notes_``.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import nnls
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.model_selection import KFold
from sklearn.utils.validation import check_is_fitted

from planner.curves import Curve, _parse_term, design_matrix

PAPER_TERMS = ("tin", "tout", "tin*tout")
KV_OFF_TERMS = ("1", "tin", "tout", "tin*tout", "tout^2")
ATTENTION_TERMS = KV_OFF_TERMS + ("tin^2*tout", "tin*tout^2", "tout^3")
DEFAULT_CANDIDATES: dict[str, tuple[str, ...]] = {
    "linear": ("1", "tin", "tout", "tin*tout"),
    "kv-off": KV_OFF_TERMS,
    "kv-off+attention": ATTENTION_TERMS,
    "kv-off+attention+prefill^2": ATTENTION_TERMS + ("tin^2",),
}
RANK_TOL = 1e-9          # relative singular value below which a column adds nothing
ILL_CONDITIONED = 1e10   # condition number (unit-norm columns) worth a note
CV_SPLITS = 5
CV_SEED = 0


def term_degree(term: str) -> int:
    return sum(power for _, power in _parse_term(term))


def _unit_columns(d: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(d, axis=0)
    return d / np.where(norms > 0, norms, 1.0)


def _rank(d: np.ndarray) -> int:
    if d.shape[1] == 0:
        return 0
    s = np.linalg.svd(_unit_columns(d), compute_uv=False)
    return int(np.sum(s > RANK_TOL * max(s[0], 1e-300)))


def identifiable_terms(terms, tin, tout) -> tuple[tuple[str, ...], tuple[str, ...], list[str]]:
    """Split ``terms`` into those the rows identify and those they cannot.

    A term is unidentifiable when its column is a linear combination of a constant and
    the lower-order terms kept before it (so its coefficient would only stand in for an
    intercept or another term).  Returns (kept, dropped, notes), kept in input order.
    """
    order = sorted(terms, key=lambda t: (term_degree(t), list(terms).index(t)))
    base = design_matrix(("1",), tin, tout)
    kept: list[str] = []
    dropped: list[str] = []
    for term in order:
        cols = design_matrix(tuple(kept) + (term,), tin, tout)
        with_const = cols if term == "1" or "1" in kept else np.column_stack([base, cols])
        without = with_const[:, :-1]
        if _rank(with_const) > _rank(without) and np.any(cols[:, -1] != 0):
            kept.append(term)
        else:
            dropped.append(term)
    notes = [f"{t} not identifiable from these rows ({_combination(t, kept, tin, tout)} on "
             "every row, as on 1-D sweeps): dropped" for t in dropped]
    kept_in_order = tuple(t for t in terms if t in kept)
    if kept_in_order:
        d = _unit_columns(design_matrix(kept_in_order, tin, tout))
        cond = np.linalg.cond(d)
        if cond > ILL_CONDITIONED:
            notes.append(f"design ill-conditioned (condition number {cond:.2g}): "
                         "coefficients uncertain")
    return kept_in_order, tuple(dropped), notes


def _combination(term: str, kept: list[str], tin, tout) -> str:
    """Describe the unidentifiable ``term`` as the combination of kept terms it equals."""
    names = kept if "1" in kept else ["1"] + kept
    basis = design_matrix(tuple(names), tin, tout)
    column = design_matrix((term,), tin, tout)[:, 0]
    coef, *_ = np.linalg.lstsq(basis, column, rcond=None)
    scale = np.linalg.norm(column) or 1.0
    used = [n for n, c, b in zip(names, coef, basis.T)
            if abs(c) * np.linalg.norm(b) > 1e-7 * scale]
    return f"{term} = " + " + ".join(
        f"{c:.4g}" if n == "1" else f"{c:.4g}*{n}"
        for n, c in zip(names, coef) if n in used) if used else f"{term} is zero"


def sweep_lines(tin, tout) -> tuple[float, float] | None:
    """(a, b) when every row has tin == a or tout == b (two 1-D sweeps), else None."""
    tin, tout = np.asarray(tin, dtype=float), np.asarray(tout, dtype=float)
    for b in np.unique(tout):
        off = tin[tout != b]
        if len(off) and np.all(off == off[0]) and np.unique(tin[tout == b]).size > 1:
            return float(off[0]), float(b)
    return None


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


def _check_xy(X, y=None) -> tuple[np.ndarray, np.ndarray | None]:
    x = np.asarray(X, dtype=float)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"X must be an (n, 2) array of (tin, tout), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("X holds non-finite token counts")
    if y is None:
        return x, None
    yy = np.asarray(y, dtype=float).ravel()
    if len(yy) != len(x):
        raise ValueError(f"X has {len(x)} rows but y has {len(yy)}")
    if not np.all(np.isfinite(yy)):
        raise ValueError("y holds non-finite values")
    return x, yy


class TermRegressor(RegressorMixin, BaseEstimator):
    """y = sum of coef * term(tin, tout), fitted by ``ols`` or ``relative_nnls``.

    ``clip_negative=None`` clips predictions at zero for ``relative_nnls`` only (its
    coefficients are non-negative anyway).  Unidentifiable terms are dropped with a note
    (``drop_unidentifiable=False`` raises instead); fewer than 2 rows per term raises.
    """

    def __init__(self, terms=PAPER_TERMS, method="ols", target="energy",
                 clip_negative=None, drop_unidentifiable=True):
        self.terms = terms
        self.method = method
        self.target = target
        self.clip_negative = clip_negative
        self.drop_unidentifiable = drop_unidentifiable

    def fit(self, X, y):
        x, yy = _check_xy(X, y)
        if self.method not in ("ols", "relative_nnls"):
            raise ValueError(f"unknown method {self.method!r}: use 'ols' or 'relative_nnls'")
        kept, dropped, notes = identifiable_terms(tuple(self.terms), x[:, 0], x[:, 1])
        if dropped and not self.drop_unidentifiable:
            raise ValueError(f"terms {list(dropped)} not identifiable from these rows")
        if not kept or len(yy) < 2 * len(kept):
            raise ValueError(f"too few rows ({len(yy)}) for {len(kept)} terms {list(kept)}: "
                             "need at least 2 per term")
        design = design_matrix(kept, x[:, 0], x[:, 1])
        fitter = fit_ols if self.method == "ols" else fit_relative_nnls
        self.coef_, self.coef_cov_ = fitter(design, yy)
        self.terms_, self.dropped_terms_, self.notes_ = kept, dropped, notes
        clip = self.method != "ols" if self.clip_negative is None else self.clip_negative
        self.curve_ = Curve(
            terms=kept, coef=self.coef_, target=self.target, coef_cov=self.coef_cov_,
            tin_range=(float(x[:, 0].min()), float(x[:, 0].max())),
            tout_range=(float(x[:, 1].min()), float(x[:, 1].max())),
            clip_negative=bool(clip),
        )
        self.n_features_in_ = 2
        return self

    def predict(self, X):
        check_is_fitted(self, "curve_")
        x, _ = _check_xy(X)
        return self.curve_.predict(x[:, 0], x[:, 1])

    def in_range(self, X):
        """True where a query lies inside the measured token ranges."""
        check_is_fitted(self, "curve_")
        x, _ = _check_xy(X)
        return self.curve_.in_range(x[:, 0], x[:, 1])


def PaperForm(target: str = "energy") -> TermRegressor:
    """The paper's form: tin, tout, tin*tout; OLS; no intercept; unclipped."""
    return TermRegressor(PAPER_TERMS, method="ols", target=target, clip_negative=False)


def cross_val_predictions(estimator, X, y, n_splits: int = CV_SPLITS,
                          random_state: int = CV_SEED) -> np.ndarray:
    """Pooled out-of-fold predictions of shuffled K-fold CV (K = min(n_splits, n))."""
    x, yy = _check_xy(X, y)
    pred = np.empty(len(yy))
    folds = KFold(n_splits=min(n_splits, len(yy)), shuffle=True, random_state=random_state)
    for train, test in folds.split(x):
        pred[test] = clone(estimator).fit(x[train], yy[train]).predict(x[test])
    return pred


def error_figures(y, pred) -> dict[str, float]:
    """Centered R2, median and 90th-percentile absolute percentage error (percent)."""
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - pred) ** 2)) / ss_tot if ss_tot > 0 else float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        ape = np.abs(pred - y) / np.abs(y) * 100.0
    return {"r2": r2, "median_ape": float(np.median(ape)),
            "p90_ape": float(np.percentile(ape, 90))}


def in_sample_r2(y, pred, has_intercept: bool) -> float:
    """R2 as statsmodels reports it: uncentered when the model has no intercept."""
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    rss = float(np.sum((y - pred) ** 2))
    tss = float(np.sum((y - y.mean()) ** 2)) if has_intercept else float(np.sum(y ** 2))
    return 1.0 - rss / tss if tss > 0 else float("nan")


class DefaultForm(RegressorMixin, BaseEstimator):
    """Relative-error NNLS over the candidate term set with the lowest held-out error.

    ``fit`` scores every candidate that the rows support (2 rows per identifiable term)
    by ``n_splits``-fold CV median APE, breaking near-ties (within ``tie_tolerance``
    relative) towards fewer terms, then refits the winner on all rows.  Learned:
    ``chosen_`` (candidate name), ``candidate_scores_`` (name -> CV median APE),
    ``terms_``, ``coef_``, ``coef_cov_``, ``curve_``, ``notes_``.
    """

    def __init__(self, candidates=None, target="energy", n_splits=CV_SPLITS,
                 random_state=CV_SEED, tie_tolerance=0.02):
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
        x, yy = _check_xy(X, y)
        if np.any(yy <= 0):
            raise ValueError(f"{int(np.sum(yy <= 0))} of {len(yy)} targets are not positive: "
                             "a relative-error fit needs positive values")
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
            f"({scores[self.chosen_][0]:.1f}%) among " + ", ".join(
                f"{n} {s:.1f}%" for n, (s, _) in scores.items())
        ]
        self.n_features_in_ = 2
        return self

    def predict(self, X):
        check_is_fitted(self, "curve_")
        x, _ = _check_xy(X)
        return self.curve_.predict(x[:, 0], x[:, 1])

    def in_range(self, X):
        check_is_fitted(self, "curve_")
        x, _ = _check_xy(X)
        return self.curve_.in_range(x[:, 0], x[:, 1])


def total_interval(curve: Curve, tin, tout, counts=1.0, level: float = 0.95):
    """(total, lo, hi): the sum of count * prediction and a normal interval from coef_cov.

    Only the coefficients' uncertainty is counted (the noise of single queries averages
    out over many); without a covariance the interval is (total, total).
    """
    from scipy.stats import norm

    design = curve.design(tin, tout)
    weights = np.broadcast_to(np.asarray(counts, dtype=float), design.shape[:1])
    total = float(np.sum(weights * curve.predict(tin, tout)))
    if curve.coef_cov is None:
        return total, total, total
    g = weights @ design
    half = float(norm.ppf(0.5 + level / 2) * np.sqrt(max(g @ curve.coef_cov @ g, 0.0)))
    return total, max(total - half, 0.0) if curve.clip_negative else total - half, total + half
