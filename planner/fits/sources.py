"""Where a plan's fitted curves come from: the measurement store, else the reference catalogue.

A store's fits are computed once per version of its rows: ``store_fits`` returns the fits
saved in the store when they were made from the rows it holds now (``Store.data_version``)
with the same settings (forms, targets, energy, include_flagged, ``FIT_VERSION``);
otherwise it fits, saves the result in the store's ``fits`` table and returns it.  A store
that cannot be written (locked by a writer, read-only) still gets its fits, made in memory
and said in a note; a saved document that cannot be read is refitted, never trusted.  The
CLI (``plan``, ``frontier``, ``fit``) and the app read store fits through this one function.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from planner.fits.curves import FitReport
from planner.fits.fitting import ENERGY_KINDS, FIT_VERSION, FORMS, TARGETS

DOCUMENT_FORMAT = 1  # the layout of a saved fits document (below)
# How long a plan waits for another process's write lock before it plans on fits made in
# memory: a sweep's ingest holds the store for one short transaction.
SAVE_LOCK_WAIT_S = 2.0


class NoFitsError(ValueError):
    """Neither the store nor the catalogue gives any fitted curve."""


@dataclass
class StoreFits:
    """A store's fits for one set of settings, and how they were obtained.

    ``skipped`` holds (model, system, target, form, reason) for every fit the rows cannot
    support; ``n_rows`` the store's measurement rows (flagged ones too); ``saved`` whether
    the fits are in the store now; ``notes`` what the caller should tell the user.
    """

    reports: list[FitReport]
    skipped: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    n_rows: int = 0
    data_version: str = ""
    refitted: bool = False
    saved: bool = False
    notes: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """A short phrase on whether these fits were read or made, for source labels."""
        if not self.refitted:
            return f"saved fits of data version {self.data_version}"
        if self.saved:
            return f"fitted now and saved for data version {self.data_version}"
        return "fitted in memory: " + "; ".join(self.notes)


def fit_settings(forms, targets, energy: str, include_flagged: bool) -> str:
    """The settings part of a saved document's key, canonical (same settings, same text)."""
    unknown = [f for f in forms if f not in FORMS] + [t for t in targets if t not in TARGETS]
    if unknown or energy not in ENERGY_KINDS:
        raise ValueError(
            f"unknown fit settings {unknown or energy!r}: forms {FORMS}, targets {TARGETS}, "
            f"energy {ENERGY_KINDS}"
        )
    return json.dumps(
        {
            "forms": [f for f in FORMS if f in forms],
            "targets": [t for t in TARGETS if t in targets],
            "energy": energy,
            "include_flagged": bool(include_flagged),
            "fit_version": FIT_VERSION,
            "document_format": DOCUMENT_FORMAT,
        },
        sort_keys=True,
    )


def store_fits(
    store,
    *,
    forms=FORMS,
    targets=TARGETS,
    energy: str = "total",
    include_flagged: bool = False,
    label: str | None = None,
) -> StoreFits:
    """The fits of ``store`` (a ``measure.store.Store``): saved ones when current, else
    fitted now and saved.  ``label`` names the store in each report's ``source`` (default:
    its path).  A store without measurements gives no reports and ``n_rows`` 0."""
    from measure.store import StoreError

    settings = fit_settings(forms, targets, energy, include_flagged)
    label = label if label is not None else str(store.path)
    notes: list[str] = []
    version, document = store.stored_fits(settings)
    if document is not None:
        try:
            return _from_document(document, version, settings, label)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            notes.append(f"saved fits unreadable ({_short(exc)}): fitted again")

    from planner.fits.fitting import exclude_flagged, fit_store

    version, rows = store.versioned_measurements(include_flagged=True)
    if rows.empty:
        return StoreFits([], data_version=version)
    fitted_rows = rows if include_flagged else exclude_flagged(rows)
    skipped: list[tuple[str, str, str, str, str]] = []
    reports = fit_store(
        fitted_rows,
        forms=tuple(f for f in FORMS if f in forms),
        targets=tuple(t for t in TARGETS if t in targets),
        energy=energy,
        include_flagged=True,  # filtered above
        on_skip=lambda *why: skipped.append(tuple(str(w) for w in why)),
        label=label,
    )
    result = StoreFits(
        reports, skipped, n_rows=len(rows), data_version=version, refitted=True, notes=notes
    )
    try:
        document = _to_document(result, settings)
        result.saved = store.save_fits(version, settings, document, lock_wait_s=SAVE_LOCK_WAIT_S)
        if not result.saved:
            result.notes.append("the store's rows changed while fitting: fits not saved")
    except StoreError as exc:
        result.notes.append(
            f"fits not saved, the store cannot be written now ({_short(exc)}); "
            "the next run fits again"
        )
    except ValueError as exc:  # a non-finite figure: fitting refuses them, so a bug
        result.notes.append(f"fits not saved, not storable as JSON ({_short(exc)})")
    return result


def _short(exc: Exception, limit: int = 160) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _to_document(fits: StoreFits, settings: str) -> str:
    return json.dumps(
        {
            "format": DOCUMENT_FORMAT,
            "data_version": fits.data_version,
            "settings": json.loads(settings),
            "n_rows": fits.n_rows,
            "reports": [r.to_json() for r in fits.reports],
            "skipped": [list(s) for s in fits.skipped],
        },
        allow_nan=False,  # fits never hold non-finite figures (planner.fits.fitting)
    )


def _from_document(document: str, version: str, settings: str, label: str) -> StoreFits:
    """Parse a saved document; raises ValueError (or KeyError, TypeError) on anything
    that is not a well-formed document of this version and settings."""
    data = json.loads(document)
    if not isinstance(data, dict) or data.get("format") != DOCUMENT_FORMAT:
        raise ValueError("not a fits document of this format")
    if data["data_version"] != version or data["settings"] != json.loads(settings):
        raise ValueError("its key does not match its contents")
    reports = [FitReport.from_json(r) for r in data["reports"]]
    for r in reports:
        figures = [r.r2, r.cv_r2, r.cv_median_ape, r.cv_p90_ape]
        if not all(isinstance(v, str) for v in (r.model, r.system, r.target, r.form)):
            raise ValueError("a report without its names")
        if not all(math.isfinite(c) for c in r.curve.coef) or not all(
            v is None or math.isfinite(v) for v in figures
        ):
            raise ValueError(f"non-finite figures for {r.model} on {r.system}")
        r.source = label
    skipped = [tuple(str(w) for w in s) for s in data["skipped"]]
    if any(len(s) != 5 for s in skipped):
        raise ValueError("a skipped fit without its five fields")
    return StoreFits(
        reports, skipped, n_rows=int(data["n_rows"]), data_version=version, refitted=False
    )


def load_reports(
    db: str | Path | None = None,
    *,
    form: str | None = None,
    energy: str = "total",
    catalogue_path: str | Path | None = None,
) -> tuple[list[FitReport], str]:
    """Fit reports for planning and a sentence saying where they came from.

    The store's fits (``store_fits``: both forms and targets, flagged rows left out, saved
    in the store once per version of its rows), narrowed to ``form``.  When the store is
    missing or holds no measurements, the committed reference catalogue is used instead,
    and the sentence says so.
    """
    from measure.paths import DEFAULT_DB_PATH
    from measure.store import Store

    store = Store(db if db is not None else DEFAULT_DB_PATH)
    forms = (form,) if form else FORMS
    fits = store_fits(store, energy=energy) if store.exists() else None
    if fits is not None and fits.n_rows:
        reports = [r for r in fits.reports if r.form in forms]
        if reports:
            return reports, f"fits of the measurements in {store.path} ({fits.describe()})"
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
