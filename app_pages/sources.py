"""Where the fitted models come from: the reference catalogue or fits of the store's data.

Every table the dashboard shows about fits carries the data source (catalogue or store)
and the energy source behind each fit (imported, nvml, rapl, estimated), estimated fits
marked as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

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
    accuracy: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    devices_per_instance: dict[str, int] = field(default_factory=dict)
    model_aliases: dict[str, str] = field(default_factory=dict)

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
        accuracy=dict(cat.accuracy),
        devices_per_instance=dict(cat.gpus_per_instance),
        model_aliases=dict(cat.model_aliases),
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


def energy_source_label(report: FitReport) -> str:
    """'imported', 'nvml', ... ; estimated energy is named in capitals."""
    sources = ", ".join(report.energy_sources) or "unknown"
    return f"ESTIMATED ({sources})" if report.is_estimated else sources


def estimated_arms(reports: list[FitReport]) -> frozenset[tuple[str, str]]:
    return frozenset(
        (r.model, r.system) for r in reports if r.target == "energy" and r.is_estimated
    )


def overview(reports: list[FitReport]) -> pd.DataFrame:
    """One row per (model, system, form): held-out errors, n and sources of both targets."""
    rows: dict[tuple, dict] = {}
    for r in reports:
        row = rows.setdefault(
            (r.model, r.system, r.form), {"model": r.model, "system": r.system, "form": r.form}
        )
        prefix = "energy" if r.target == "energy" else "runtime"
        row[f"{prefix} median APE (held out, %)"] = r.cv_median_ape
        row[f"{prefix} p90 APE (held out, %)"] = r.cv_p90_ape
        row[f"{prefix} R² (held out)"] = r.cv_r2
        row[f"{prefix} n"] = r.n
        if r.target == "energy":
            row["energy source"] = energy_source_label(r)
            row["fit source"] = r.source
    return pd.DataFrame(list(rows.values()))


def coefficient_table(reports: list[FitReport], model: str, system: str) -> pd.DataFrame:
    """Coefficients of every form and target of one arm, side by side (one column each)."""
    cols = {}
    for r in sorted(reports, key=lambda r: (r.target, r.form)):
        if r.model == model and r.system == system:
            cols[f"{r.target} · {r.form} ({r.curve.unit})"] = pd.Series(r.curve.coefficients())
    return pd.DataFrame(cols)


def error_table(reports: list[FitReport], model: str, system: str) -> pd.DataFrame:
    """Held-out (cross-validated) and in-sample error figures of one arm's fits."""
    rows = []
    for r in sorted(reports, key=lambda r: (r.target, r.form)):
        if r.model == model and r.system == system:
            rows.append(
                {
                    "target": r.target,
                    "form": r.form,
                    "n": r.n,
                    "held-out median APE %": r.cv_median_ape,
                    "held-out p90 APE %": r.cv_p90_ape,
                    "held-out R²": r.cv_r2,
                    "in-sample R²": r.r2,
                    "energy source": energy_source_label(r),
                    "notes": "; ".join(r.notes),
                }
            )
    return pd.DataFrame(rows)
