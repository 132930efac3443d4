"""Held-out validation: K-fold predictions that hold out whole query shapes, and error figures.

Folds are drawn over distinct (tin, tout) configurations, not over rows: the sweeps repeat
each configuration about ten times, and a row-wise split would test every held-out row
against its own repeats in the training folds.  With one row per configuration (the Swing
grid) this is plain shuffled K-fold over rows, with the same splits.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import KFold

CV_SPLITS = 5
CV_SEED = 0


def check_xy(X, y=None) -> tuple[np.ndarray, np.ndarray | None]:
    """X as an (n, 2) float array of (tin, tout), y as a float vector; refuses bad input."""
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


def configuration_groups(x: np.ndarray) -> np.ndarray:
    """Group id per row: rows with the same (tin, tout) share one, numbered by first row."""
    if len(x) == 0:
        return np.zeros(0, dtype=int)
    _, first, inverse = np.unique(x, axis=0, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=int)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[np.ravel(inverse)]


def configuration_folds(x: np.ndarray, n_splits: int = CV_SPLITS, random_state: int = CV_SEED):
    """(train, test) row indices of shuffled K-fold over configurations (K <= their number)."""
    groups = configuration_groups(x)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    if n_groups < 2:
        raise ValueError(
            f"cross-validation needs at least 2 distinct (tin, tout) configurations, got {n_groups}"
        )
    folds = KFold(n_splits=min(n_splits, n_groups), shuffle=True, random_state=random_state)
    for _, test_groups in folds.split(np.arange(n_groups)):
        test = np.isin(groups, test_groups)
        yield np.flatnonzero(~test), np.flatnonzero(test)


def cross_val_predictions(
    estimator, X, y, n_splits: int = CV_SPLITS, random_state: int = CV_SEED
) -> np.ndarray:
    """Pooled out-of-fold predictions: each row predicted by a clone fitted without its
    configuration (so any choice the estimator makes in ``fit`` is held out too)."""
    x, yy = check_xy(X, y)
    pred = np.empty(len(yy))
    for train, test in configuration_folds(x, n_splits, random_state):
        pred[test] = clone(estimator).fit(x[train], yy[train]).predict(x[test])
    return pred


def error_figures(y, pred) -> dict[str, float]:
    """Centered R2, median and 90th-percentile absolute percentage error (percent)."""
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - pred) ** 2)) / ss_tot if ss_tot > 0 else float("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        ape = np.abs(pred - y) / np.abs(y) * 100.0
    return {"r2": r2, "median_ape": float(np.median(ape)), "p90_ape": float(np.percentile(ape, 90))}


def in_sample_r2(y, pred, has_intercept: bool) -> float:
    """R2 as statsmodels reports it: uncentered when the model has no intercept."""
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    rss = float(np.sum((y - pred) ** 2))
    tss = float(np.sum((y - y.mean()) ** 2)) if has_intercept else float(np.sum(y**2))
    return 1.0 - rss / tss if tss > 0 else float("nan")
