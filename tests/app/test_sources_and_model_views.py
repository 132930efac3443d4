"""Fits from the catalogue and from a real store, and the charts of one fit."""

import math

import pytest

from app_pages import model_views, sources
from measure.store import Store


@pytest.fixture(scope="module")
def catalogue():
    return sources.catalogue_reports()


def test_catalogue_set_is_labelled_and_cited(catalogue):
    assert catalogue.kind == sources.KIND_CATALOGUE
    assert "Wilkins" in catalogue.citation
    assert set(catalogue.forms()) == {"paper", "default"}
    table = sources.overview(catalogue.reports)
    assert {"energy source", "fit source", "energy median APE (held out, %)"} <= set(table.columns)
    assert (table["energy source"] == "imported").all()


def test_estimated_fits_are_labelled(catalogue):
    report = next(r for r in catalogue.reports if r.target == "energy")
    report = type(report).from_json({**report.to_json(), "energy_sources": ["estimated"]})
    assert sources.energy_source_label(report).startswith("ESTIMATED")
    assert sources.estimated_arms([report]) == {(report.model, report.system)}


def test_coefficients_side_by_side(catalogue):
    table = sources.coefficient_table(catalogue.reports, "Llama-2-7b-chat-hf", "argonne-swing")
    assert "energy · paper (J)" in table.columns and "energy · default (J)" in table.columns
    assert table.loc["tin*tout", "energy · paper (J)"] == pytest.approx(0.042712, rel=1e-4)


def test_store_fits_and_measured_vs_predicted(reference_store):
    rs = sources.store_reports(reference_store)
    assert rs.kind == sources.KIND_STORE and str(reference_store) in rs.label
    report = next(
        r
        for r in rs.reports
        if r.model == "Llama-2-7b-chat-hf" and r.target == "energy" and r.form == "default"
    )
    points = model_views.arm_points(Store(reference_store).measurements(), report)
    assert len(points) == report.n
    fig = model_views.measured_vs_predicted(report, points)
    assert len(fig.data[0].x) == report.n
    residual = model_views.residuals(report, points).data[0].y
    assert abs(float(sorted(residual)[len(residual) // 2])) < 50  # median within 50 %


def test_heatmap_outlines_what_was_measured(catalogue):
    """A grid's bounding box; for two 1-D sweeps only the two lines (tin = a, tout = b),
    not the box around them, which was never measured."""
    sweeps = next(r for r in catalogue.reports if r.system == "M1-Pro" and r.target == "energy")
    a, b = sweeps.curve.sweep_lines
    outline = model_views.heatmap(sweeps).data[1]
    assert list(outline.x) == [a, a, None, 8.0, 2048.0]
    assert list(outline.y) == [8.0, 512.0, None, b, b]
    assert "sweeps at tin = 38 and tout = 32" in outline.name
    z = model_views.heatmap(sweeps).data[0].z
    assert all(math.isfinite(v) for row in z for v in row)
    grid = next(
        r
        for r in catalogue.reports
        if r.system == "argonne-swing" and r.target == "energy" and r.form == "default"
    )
    box = model_views.heatmap(grid).data[1]
    assert list(box.x) == [8.0, 2048.0, 2048.0, 8.0, 8.0] and box.name == "measured range"
