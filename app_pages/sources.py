"""The sidebar's two sources of fitted models: the reference catalogue, or fits of the
session's store, each labelled with where it came from (``cache`` keeps one of each).

Plain functions, tested without streamlit; ``planner.report.fit_views`` draws the fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from planner.fits.curves import FitReport

KIND_CATALOGUE = "catalogue"
KIND_STORE = "store"


@dataclass
class ReportSet:
    """Fits from one data source, with a label that says where they came from."""

    kind: str
    reports: list[FitReport]
    label: str
    citation: str = ""
    skipped: list[str] = field(default_factory=list)
    devices_per_instance: dict[str, int] = field(default_factory=dict)

    def of_form(self, form: str) -> list[FitReport]:
        return [r for r in self.reports if r.form == form]

    def forms(self) -> list[str]:
        return sorted({r.form for r in self.reports})


def catalogue_reports(path: str | Path | None = None) -> ReportSet:
    """The committed reference catalogue (planner.fits.catalogue)."""
    from planner.fits.catalogue import load_catalogue

    cat = load_catalogue(path)
    return ReportSet(
        KIND_CATALOGUE,
        list(cat.reports),
        "Reference catalogue (published fits and fits of the paper's data)",
        citation=cat.citation,
        devices_per_instance=dict(cat.gpus_per_instance),
    )


def store_reports(store_path: str | Path) -> ReportSet:
    """Fits of every arm in the store, both forms; arms that cannot be fitted say why."""
    from measure.store import Store
    from planner.fits.fitting import fit_store

    skipped: list[str] = []

    def on_skip(model, system, target, form, reason):
        skipped.append(f"{model} · {system} ({target}, {form} form): {reason}")

    reports = fit_store(Store(store_path), forms=("paper", "default"), on_skip=on_skip)
    return ReportSet(
        KIND_STORE, reports, f"Fits of the measurements in store {store_path}", skipped=skipped
    )
