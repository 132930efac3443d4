"""Tables and charts of fitted curves, from the catalogue and from a real store."""

from __future__ import annotations

import math

import pytest

from measure.store import Store
from planner.fits.fitting import fit_store
from planner.report import fit_views
from tests.planner.report.catalogue_plans import catalogue


@pytest.fixture(scope="module")
def reports():
    return catalogue().reports


def test_overview_names_every_fits_sources(reports):
    table = fit_views.overview(reports)
    assert {"energy source", "fit source", "energy median APE (held out, %)"} <= set(table.columns)
    assert (table["energy source"] == "imported").all()


def test_estimated_fits_are_labelled(reports):
    report = next(r for r in reports if r.target == "energy")
    report = type(report).from_json({**report.to_json(), "energy_sources": ["estimated"]})
    assert fit_views.energy_source_label(report).startswith("ESTIMATED")
    assert fit_views.estimated_arms([report]) == {(report.model, report.system)}


def test_coefficients_side_by_side(reports):
    table = fit_views.coefficient_table(reports, "Llama-2-7b-chat-hf", "argonne-swing")
    assert "energy · paper (J)" in table.columns and "energy · default (J)" in table.columns
    assert table.loc["tin*tout", "energy · paper (J)"] == pytest.approx(0.042712, rel=1e-4)


def test_store_fits_measured_vs_predicted(reference_store):
    reports = fit_store(Store(reference_store), forms=("paper", "default"))
    report = next(
        r
        for r in reports
        if r.model == "Llama-2-7b-chat-hf" and r.target == "energy" and r.form == "default"
    )
    points = fit_views.arm_points(Store(reference_store).measurements(), report)
    assert len(points) == report.n
    fig = fit_views.measured_vs_predicted(report, points)
    assert len(fig.data[0].x) == report.n
    residual = fit_views.residuals(report, points).data[0].y
    assert abs(float(sorted(residual)[len(residual) // 2])) < 50  # median within 50 %


def test_heatmap_outlines_what_was_measured(reports):
    """A grid's bounding box; for two 1-D sweeps only the two lines (tin = a, tout = b),
    not the box around them, which was never measured."""
    sweeps = next(r for r in reports if r.system == "M1-Pro" and r.target == "energy")
    a, b = sweeps.curve.sweep_lines
    outline = fit_views.heatmap(sweeps).data[1]
    assert list(outline.x) == [a, a, None, 8.0, 2048.0]
    assert list(outline.y) == [8.0, 512.0, None, b, b]
    assert "sweeps at tin = 38 and tout = 32" in outline.name
    z = fit_views.heatmap(sweeps).data[0].z
    assert all(math.isfinite(v) for row in z for v in row)
    grid = next(
        r
        for r in reports
        if r.system == "argonne-swing" and r.target == "energy" and r.form == "default"
    )
    box = fit_views.heatmap(grid).data[1]
    assert list(box.x) == [8.0, 2048.0, 2048.0, 8.0, 8.0] and box.name == "measured range"
