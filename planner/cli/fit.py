"""`python -m planner fit` and `python -m planner catalogue`.

fit: fit energy and runtime curves to every (model, system) arm of a store and print them,
as a table or (``--json``) as a JSON list of FitReport objects.  Fits are saved in the
store and reused until its rows change (``planner.fits.sources.store_fits``, the same
fits ``plan`` and the app read); ``--model``/``--system`` narrow what is printed.

catalogue: write the reference catalogue (published fits, accuracy scores and our
default-form fits of the store's arms, with their held-out errors and citation).
"""

from __future__ import annotations

import argparse
import json
import sys

from measure.paths import DEFAULT_DB_PATH
from measure.store import Store, StoreError
from planner.cli._table import say, write
from planner.fits.curves import FitReport
from planner.fits.fitting import ENERGY_KINDS, FORMS, TARGETS


def add_parser(subparsers) -> None:
    fit = subparsers.add_parser(
        "fit",
        help="fit energy/runtime curves per (model, system) in a store",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    fit.add_argument("--db", default=str(DEFAULT_DB_PATH), help="DuckDB store (%(default)s)")
    fit.add_argument("--form", choices=FORMS + ("all",), default="all")
    fit.add_argument("--target", choices=TARGETS + ("all",), default="all")
    fit.add_argument(
        "--energy",
        choices=ENERGY_KINDS,
        default="total",
        help="total = GPU + CPU where CPU is present; gpu = GPU alone (the paper)",
    )
    fit.add_argument("--model", action="append", help="only this model (repeatable)")
    fit.add_argument("--system", action="append", help="only this system (repeatable)")
    fit.add_argument(
        "--include-flagged", action="store_true", help="fit flagged rows too (kept out by default)"
    )
    fit.add_argument("--json", action="store_true", help="print a JSON list of fit reports")
    fit.set_defaults(func=run_fit)

    cat = subparsers.add_parser(
        "catalogue", help="write the reference catalogue from a store holding the shared data"
    )
    cat.add_argument("--db", default=str(DEFAULT_DB_PATH), help="DuckDB store (%(default)s)")
    cat.add_argument(
        "--out",
        default=None,
        help="catalogue JSON to write (default: data/reference_catalogue.json)",
    )
    cat.set_defaults(func=run_catalogue)


def _fail(message: str) -> int:
    say(f"error: {message}", file=sys.stderr)
    return 1


def _store_rows(db: str, models, systems, include_flagged: bool):
    store = Store(db)
    if not store.exists():
        raise StoreError(
            f"store {db} does not exist: import measurements first "
            "(python -m measure import FILE --db ...)"
        )
    rows = store.measurements(models=models, systems=systems, include_flagged=include_flagged)
    if rows.empty:
        what = " matching --model/--system" if models or systems else ""
        flagged = "" if include_flagged else " (unflagged)"
        raise StoreError(
            f"store {db} has no{flagged} measurements{what}: import some first "
            "(python -m measure import FILE --db ...)"
        )
    return rows


def _check_rows(db: str, models, systems, include_flagged: bool) -> Store:
    """The store, when it holds rows to fit that match the filters; else a StoreError."""
    store = Store(db)
    if not store.exists():
        raise StoreError(
            f"store {db} does not exist: import measurements first "
            "(python -m measure import FILE --db ...)"
        )
    arms = store.arms()
    if models:
        arms = arms[arms["model"].isin(models)]
    if systems:
        arms = arms[arms["system"].isin(systems)]
    n = int(arms["n"].sum()) - (0 if include_flagged else int(arms["n_flagged"].sum()))
    if n == 0:
        what = " matching --model/--system" if models or systems else ""
        flagged = "" if include_flagged else " (unflagged)"
        raise StoreError(
            f"store {db} has no{flagged} measurements{what}: import some first "
            "(python -m measure import FILE --db ...)"
        )
    return store


def run_fit(args: argparse.Namespace) -> int:
    from planner.fits.sources import store_fits

    try:
        store = _check_rows(args.db, args.model, args.system, args.include_flagged)
        fits = store_fits(
            store,
            forms=FORMS if args.form == "all" else (args.form,),
            targets=TARGETS if args.target == "all" else (args.target,),
            energy=args.energy,
            include_flagged=args.include_flagged,
            label=args.db,
        )
    except StoreError as exc:
        return _fail(str(exc))

    def wanted(model: str, system: str) -> bool:
        return (not args.model or model in args.model) and (
            not args.system or system in args.system
        )

    reports = [r for r in fits.reports if wanted(r.model, r.system)]
    skipped = [
        f"skipped {m} on {s}, {t} ({f}): {why}" for m, s, t, f, why in fits.skipped if wanted(m, s)
    ]
    skipped += [f"note: {note}" for note in fits.notes]
    if args.json:
        write(json.dumps([r.to_json() for r in reports], indent=2))
    elif reports:
        for line in format_table(reports).splitlines():
            say(line)
    for line in skipped:
        say(line, file=sys.stderr)
    if not reports:
        return _fail(f"no arm in {args.db} has enough rows to fit")
    return 0


def _fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def format_table(reports: list[FitReport]) -> str:
    """A readable table: one line per fit, its coefficients, then its notes."""
    header = (
        f"{'model':<22} {'system':<20} {'target':<7} {'form':<7} {'n':>4} {'R2':>7} "
        f"{'cv R2':>7} {'cv medAPE%':>10} {'cv p90APE%':>10}  coefficients"
    )
    lines = [header, "-" * len(header)]
    for r in reports:
        coefs = ", ".join(f"{t}: {c:.4g}" for t, c in r.curve.coefficients().items())
        unit = f"{r.curve.unit}" + (f" ({r.energy})" if r.energy else "")
        lines.append(
            f"{r.model:<22.22} {r.system:<20.20} {r.target:<7} {r.form:<7} {r.n:>4} "
            f"{_fmt(r.r2, '.4f'):>7} {_fmt(r.cv_r2, '.4f'):>7} "
            f"{_fmt(r.cv_median_ape, '.1f'):>10} {_fmt(r.cv_p90_ape, '.1f'):>10}  "
            f"[{unit}] {coefs}"
        )
        for note in r.notes:
            lines.append(f"{'':<8}note: {note}")
        if r.is_estimated:
            lines.append(f"{'':<8}ESTIMATED energy: sources {', '.join(r.energy_sources)}")
    return "\n".join(lines)


def run_catalogue(args: argparse.Namespace) -> int:
    from planner.fits.catalogue import DEFAULT_CATALOGUE_PATH, CatalogueError, write_catalogue

    out = args.out or str(DEFAULT_CATALOGUE_PATH)
    try:
        rows = _store_rows(args.db, None, None, include_flagged=False)
        catalogue = write_catalogue(Store(args.db), out, rows=rows)
    except (StoreError, CatalogueError) as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write {out}: {exc.strerror or exc}")
    say(
        f"wrote {out}: {len(catalogue.reports)} fit reports "
        f"({sum(r.source.startswith('published') for r in catalogue.reports)} published)"
    )
    return 0
