"""Where a plan's fitted curves come from: the measurement store, else the reference catalogue."""

from __future__ import annotations

from pathlib import Path

from planner.fits.curves import FitReport


class NoFitsError(ValueError):
    """Neither the store nor the catalogue gives any fitted curve."""


def load_reports(
    db: str | Path | None = None,
    *,
    form: str | None = None,
    energy: str = "total",
    catalogue_path: str | Path | None = None,
) -> tuple[list[FitReport], str]:
    """Fit reports for planning and a sentence saying where they came from.

    The store's measurements are fitted (``fit_store``; flagged rows left out).  When the
    store is missing or holds no measurements, the committed reference catalogue is used
    instead, and the sentence says so.
    """
    from measure.paths import DEFAULT_DB_PATH
    from measure.store import Store
    from planner.fits.fitting import fit_store

    store = Store(db if db is not None else DEFAULT_DB_PATH)
    forms = (form,) if form else ("paper", "default")
    measurements = store.measurements() if store.exists() else None
    if measurements is not None and len(measurements):
        reports = fit_store(measurements, forms=forms, energy=energy, label=str(store.path))
        if reports:
            return reports, f"fits of the measurements in {store.path}"
        raise NoFitsError(
            f"store {store.path} has measurements, but no arm supports a {' or '.join(forms)} fit"
        )
    from planner.fits.catalogue import load_catalogue

    try:
        catalogue = load_catalogue(catalogue_path)
    except (OSError, ValueError) as exc:
        raise NoFitsError(
            f"store {store.path} has no measurements and the reference "
            f"catalogue cannot be read: {exc}"
        ) from exc
    reports = [r for r in catalogue.reports if form is None or r.form == form]
    if not reports:
        raise NoFitsError(
            f"store {store.path} has no measurements and the reference "
            f"catalogue has no {form!r} fits"
        )
    return reports, (
        f"store {store.path} has no measurements: using the reference "
        f"catalogue ({catalogue.citation})"
    )
