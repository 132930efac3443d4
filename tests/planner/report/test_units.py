"""The one formatter of figures for people (``planner.report.units``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from planner.report import units


@pytest.mark.parametrize(
    "value, text",
    [
        (0.00862751, "0.00863"),
        (12.345, "12.3"),
        (0.5, "0.5"),
        (100.0, "100"),
        (999.6, "1,000"),
        (4567.8, "4,568"),
        (0.0, "0"),
        (2.5e-9, "2.50×10⁻⁹"),
        (None, "—"),
        (math.nan, "—"),
        (math.inf, "—"),
    ],
)
def test_number_has_three_significant_figures_and_no_exponent(value, text):
    assert units.number(value) == text


def test_cells_read_as_words_not_python():
    assert units.cell(False) == "no" and units.cell(np.bool_(True)) == "yes"
    assert units.cell(None) == "—" and units.cell(float("nan")) == "—" and units.cell("") == "—"
    assert units.cell(np.int64(12345)) == "12,345"
    assert units.cell(np.float64(0.123456)) == "0.123"
    assert units.cell("GPU only") == "GPU only"


def test_changes_are_words_never_a_signed_figure():
    assert units.change(3.0, 4.0) == "25% less"
    assert units.change(5.0, 4.0) == "25% more"
    assert units.change(4.0, 4.0) == "the same"
    assert units.change(0.5, 0.0) == "0.5 more"
    assert units.points(60.0, 62.5) == "2.5 points lower"
    assert units.points(62.5, 60.0) == "2.5 points higher"
    for text in (units.change(1.0, 9.0), units.points(1.0, 9.0)):
        assert "-" not in text


def test_money_in_the_fleets_currency():
    assert units.money(1234.567, "EUR") == "1,234.57 EUR"
    assert units.money(0.025231, "USD") == "0.0252 USD"
    assert units.money(None, "USD") == "—"
