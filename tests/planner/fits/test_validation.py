"""planner.fits.validation: folds hold out whole (tin, tout) configurations; selection is nested."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import KFold

from planner.fits.fitting import fit_arm
from planner.fits.forms import DefaultForm
from planner.fits.validation import (
    configuration_folds,
    configuration_groups,
    cross_val_predictions,
    error_figures,
)
from tests.planner.fits.test_fitting import grid_rows


def repeated_sweep(repeats=6):
    grid = [8.0, 32.0, 128.0, 512.0, 2048.0]
    shapes = [(t, 32.0) for t in grid] + [(38.0, t) for t in grid if t != 32.0]
    return np.array(shapes * repeats)


def test_repeats_of_a_configuration_never_straddle_a_split():
    x = repeated_sweep()
    folds = list(configuration_folds(x))
    assert len(folds) == 5
    held_out = np.concatenate([test for _, test in folds])
    assert sorted(held_out) == list(range(len(x)))  # every row held out exactly once
    for train, test in folds:
        seen = {tuple(r) for r in x[train]}
        assert not any(tuple(r) in seen for r in x[test])


def test_one_row_per_configuration_is_plain_row_kfold():
    x = np.random.default_rng(0).integers(1, 2048, size=(40, 2)).astype(float)
    assert len(np.unique(x, axis=0)) == 40
    mine = [test.tolist() for _, test in configuration_folds(x)]
    rows = [sorted(test.tolist()) for _, test in KFold(5, shuffle=True, random_state=0).split(x)]
    assert mine == rows
    assert list(configuration_groups(x)) == list(range(40))


def test_one_configuration_cannot_be_cross_validated():
    with pytest.raises(ValueError, match="at least 2 distinct"):
        list(configuration_folds(np.array([[8.0, 8.0]] * 10)))


def test_term_choice_is_refitted_inside_every_fold(monkeypatch):
    """The reported CV figures must not reuse a term set chosen on all rows."""
    seen = []
    scores = DefaultForm._scores

    def spy(self, x, y):
        seen.append(len(y))
        return scores(self, x, y)

    monkeypatch.setattr(DefaultForm, "_scores", spy)
    report = fit_arm(grid_rows(), "energy", "default")
    assert seen[0] == report.n == 64  # the final fit, on every row
    assert len(seen) == 6 and all(n < 64 for n in seen[1:])  # one choice per outer fold


def test_a_lookup_table_cannot_score_by_memorising_repeats():
    """1-nearest-neighbour recalls a seen configuration exactly: held out, it must not."""
    from sklearn.neighbors import KNeighborsRegressor

    x = repeated_sweep()
    y = 1.0 + x[:, 0] + 3.0 * x[:, 1]
    pred = cross_val_predictions(KNeighborsRegressor(n_neighbors=1), x, y)
    assert error_figures(y, pred)["median_ape"] > 10
