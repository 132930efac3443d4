"""Fit energy and runtime curves per (model, system) arm of the measurement store.

Targets are per query: energy / batch_size and runtime_s / batch_size (device time per
query).  ``energy="total"`` is GPU + CPU, counting whichever a row has (NULL is absent, not
0); ``energy="gpu"`` is GPU energy alone, as the paper fitted.  A report's ``energy`` is the
basis its rows actually had (``energy_basis``): asking for the total of rows without CPU
energy gives a ``gpu`` fit.  Flagged rows stay out unless ``include_flagged``; rows with
non-finite or absurd figures (``SANE_LIMITS``) always stay out, with a note.  Every report
carries in-sample R2, 5-fold CV figures (shuffled K-fold over (tin, tout) configurations,
fixed seed, pooled out-of-fold predictions, the default form's term choice redone in every
fold), n, measured token ranges, the energy sources behind it and notes on anything the fit
had to decide; a figure that is undefined on the rows is None with a note, never NaN or inf.

Scikit-learn and SciPy load when an arm is fitted, not on import: reading stored fits
(``planner.fits.sources``) needs only the names here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from measure.flags import disqualifies
from planner.fits.curves import FitReport
from planner.fits.energy import total_energy_j

FORMS = ("paper", "default")
TARGETS = ("energy", "runtime")
ENERGY_KINDS = ("total", "gpu")  # what a caller may ask a fit for
ENERGY_BASES = ("total", "gpu", "cpu")  # what a fit's energy is, from its rows
# Stored fits (planner.fits.sources) are keyed on this: bump it whenever a change to the
# fitting code changes any figure a fit reports, so that stores refit instead of serving
# fits the code would no longer produce.
FIT_VERSION = 2
# Per-query figures beyond these are corrupt values, not measurements: they lie far outside
# any LLM query (ten million tokens, eleven days, 278 kWh), and inside them every design
# column (up to tokens cubed) and every squared residual stays finite in float64.
SANE_LIMITS = {"tokens": 1e7, "runtime_s": 1e6, "energy_j": 1e9}


class FitError(ValueError):
    """An arm's rows cannot support the requested fit; the message says why."""


def exclude_flagged(df: pd.DataFrame) -> pd.DataFrame:
    if "flags" not in df.columns or df.empty:
        return df
    return df[[not disqualifies(f) for f in df["flags"]]]


def arm_targets(
    df: pd.DataFrame, target: str, energy: str = "total"
) -> tuple[pd.DataFrame, list[str]]:
    """Rows usable for ``target`` with columns tin, tout, y, energy_source (and, for energy,
    has_gpu_energy / has_cpu_energy: which parts each row counted); and notes.

    Rows without a figure, or with a non-finite or absurd one (negative or beyond
    ``SANE_LIMITS`` token counts, runtime <= 0 or beyond its limit, |energy| beyond its
    limit), are left out, and the notes say how many.  ``energy`` is one of
    ``ENERGY_BASES``: ``cpu`` (CPU energy alone) redraws a fit whose rows had only CPU.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}: use one of {TARGETS}")
    if energy not in ENERGY_BASES:
        raise ValueError(f"unknown energy {energy!r}: use one of {ENERGY_BASES}")
    notes: list[str] = []
    batch = pd.to_numeric(df.get("batch_size", 1), errors="coerce")
    batch = pd.Series(batch, index=df.index).fillna(1).clip(lower=1)
    parts = {}
    if target == "runtime":
        y = pd.to_numeric(df["runtime_s"], errors="coerce")
    else:
        y, parts, energy_notes = _energy_j(df, energy)
        notes += energy_notes
    out = pd.DataFrame(
        {
            "tin": pd.to_numeric(df["input_tokens"], errors="coerce"),
            "tout": pd.to_numeric(df["output_tokens"], errors="coerce"),
            "y": y / batch,
            "energy_source": df.get("energy_source", "unknown"),
            **parts,
        }
    )
    missing = out[["tin", "tout", "y"]].isna().any(axis=1)
    if missing.any():
        notes.append(f"{int(missing.sum())} rows without a figure for {target} left out")
    absurd = ~missing & _absurd(out, target)
    if absurd.any():
        what = "runtime" if target == "runtime" else "energy"
        notes.append(
            f"{int(absurd.sum())} rows with non-finite or absurd token counts or {what} left "
            f"out (limits per query: 0..{SANE_LIMITS['tokens']:g} tokens, "
            + (
                f"runtime above 0 and up to {SANE_LIMITS['runtime_s']:g} s)"
                if target == "runtime"
                else f"|energy| up to {SANE_LIMITS['energy_j']:g} J)"
            )
        )
    return out[~(missing | absurd)].reset_index(drop=True), notes


def _absurd(rows: pd.DataFrame, target: str) -> pd.Series:
    """True for rows whose figures cannot be a measurement (see ``SANE_LIMITS``)."""
    with np.errstate(invalid="ignore"):
        tokens_ok = pd.Series(True, index=rows.index)
        for col in ("tin", "tout"):
            t = rows[col].to_numpy(float)
            tokens_ok &= np.isfinite(t) & (t >= 0) & (t <= SANE_LIMITS["tokens"])
        y = rows["y"].to_numpy(float)
        if target == "runtime":
            y_ok = np.isfinite(y) & (y > 0) & (y <= SANE_LIMITS["runtime_s"])
        else:
            y_ok = np.isfinite(y) & (np.abs(y) <= SANE_LIMITS["energy_j"])
    return ~(tokens_ok & y_ok)


def _energy_j(df: pd.DataFrame, energy: str) -> tuple[pd.Series, dict, list[str]]:
    """Energy per batch: GPU alone, CPU alone, or the total (``total_energy_j``); which
    parts each row counted; and notes on rows that mix GPU-only and GPU + CPU figures."""

    def column(name):
        return (
            pd.to_numeric(df[name], errors="coerce")
            if name in df
            else pd.Series(np.nan, index=df.index)
        )

    gpu, cpu = column("gpu_energy_j"), column("cpu_energy_j")
    if energy == "gpu":
        return gpu, {"has_gpu_energy": gpu.notna(), "has_cpu_energy": False}, []
    if energy == "cpu":
        return cpu, {"has_gpu_energy": False, "has_cpu_energy": cpu.notna()}, []
    parts = {"has_gpu_energy": gpu.notna(), "has_cpu_energy": cpu.notna()}
    total = total_energy_j(gpu, cpu)
    rows = int((gpu.notna() | cpu.notna()).sum())
    n_gpu, n_cpu = int(gpu.notna().sum()), int(cpu.notna().sum())
    if n_cpu == 0:
        return total, parts, ["no CPU energy in these rows: the fit is of GPU energy alone"]
    if n_gpu == 0:
        return total, parts, ["no GPU energy in these rows: the fit is of CPU energy alone"]
    notes = []
    if n_cpu < rows:
        notes.append(
            f"CPU energy present on {n_cpu} of {rows} rows: the others count GPU energy only"
        )
    if n_gpu < rows:
        notes.append(
            f"GPU energy present on {n_gpu} of {rows} rows: the others count CPU energy only"
        )
    return total, parts, notes


def energy_basis(rows: pd.DataFrame) -> str:
    """What fitted energy rows measure: ``gpu`` when none has CPU energy, ``cpu`` when
    none has GPU energy, else ``total`` (rows where only one part exists are said in the
    fit's notes).  The one rule behind every fit's energy label."""
    has_gpu = bool(np.any(rows.get("has_gpu_energy", False)))
    has_cpu = bool(np.any(rows.get("has_cpu_energy", False)))
    if has_gpu and not has_cpu:
        return "gpu"
    if has_cpu and not has_gpu:
        return "cpu"
    return "total"


def _source_notes(sources: list[str]) -> list[str]:
    estimated = [s for s in sources if "estimated" in s]
    measured = [s for s in sources if "estimated" not in s]
    if estimated and measured:
        return [
            f"rows mix estimated ({', '.join(estimated)}) and measured "
            f"({', '.join(measured)}) energy: the fit is labelled estimated"
        ]
    return []


def _arm_notes(df: pd.DataFrame) -> list[str]:
    notes = []
    for col, what in (
        ("kv_cache", "KV cache settings"),
        ("n_gpus", "GPU counts"),
        ("dtype", "dtypes"),
    ):
        if col in df and df[col].dropna().nunique() > 1:
            values = ", ".join(str(v) for v in sorted(df[col].dropna().unique(), key=str))
            notes.append(f"rows mix {what} ({values}): fitted together")
    return notes


def fit_arm(
    df_one_arm: pd.DataFrame, target: str, form: str, energy: str = "total", source: str = ""
) -> FitReport:
    """Fit one form to one target of one (model, system) arm's rows.

    Raises ``FitError`` when the rows cannot support the fit, and never returns
    non-finite coefficients or figures: an undefined figure is None, with a note.
    """
    from planner.fits.forms import DefaultForm, PaperForm
    from planner.fits.validation import (
        CV_SEED,
        CV_SPLITS,
        cross_val_predictions,
        error_figures,
        in_sample_r2,
    )

    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}: use one of {FORMS}")
    if energy not in ENERGY_KINDS:
        raise ValueError(f"unknown energy {energy!r}: use one of {ENERGY_KINDS}")
    if df_one_arm.empty:
        raise FitError("no rows to fit")
    arms = df_one_arm[["model", "system"]].drop_duplicates()
    if len(arms) != 1:
        raise ValueError(f"fit_arm needs the rows of one (model, system), got {len(arms)}")
    model, system = arms.iloc[0]
    what = f"{model} on {system}, {target} ({form} form)"
    rows, notes = arm_targets(df_one_arm, target, energy)
    if target == "energy" and form == "default" and (rows["y"] <= 0).any():
        bad = rows["y"] <= 0
        notes.append(f"{int(bad.sum())} rows with energy <= 0 left out of the relative fit")
        rows = rows[~bad].reset_index(drop=True)
    if rows.empty:
        raise FitError(
            f"{model} on {system}: no rows with a figure for {target}"
            + (f" ({energy} energy)" if target == "energy" else "")
            + "".join(f"; {n}" for n in notes if "left out" in n)
        )
    x, y = rows[["tin", "tout"]].to_numpy(float), rows["y"].to_numpy(float)
    est = PaperForm(target) if form == "paper" else DefaultForm(target=target)
    try:
        with np.errstate(all="ignore"):  # a non-finite result is refused below
            est.fit(x, y)
            cv_pred = cross_val_predictions(est, x, y, CV_SPLITS, CV_SEED)
            cv = error_figures(y, cv_pred)
            r2 = in_sample_r2(y, est.predict(x), has_intercept="1" in est.terms_)
    except ValueError as exc:
        raise FitError(f"{what}: {exc}") from exc
    curve = est.curve_
    if not np.all(np.isfinite(curve.coef)) or (
        curve.coef_cov is not None and not np.all(np.isfinite(curve.coef_cov))
    ):
        raise FitError(f"{what}: the fit's coefficients are not finite on these rows")
    lines = curve.sweep_lines  # the estimator found them when it fitted
    if lines is not None:
        notes.append(
            f"rows are 1-D sweeps (tin at tout={lines[1]:g}, tout at tin={lines[0]:g}): "
            "predictions off those lines are extrapolated"
        )
    figures = {
        "r2": r2,
        "cv_r2": cv["r2"],
        "cv_median_ape": cv["median_ape"],
        "cv_p90_ape": cv["p90_ape"],
    }
    figures, figure_notes = _finite_figures(figures, y)
    sources = sorted(str(s) for s in rows["energy_source"].dropna().unique())
    return FitReport(
        model=str(model),
        system=str(system),
        target=target,
        form=form,
        curve=curve,
        **figures,
        n=len(y),
        energy=energy_basis(rows) if target == "energy" else None,
        energy_sources=sources,
        notes=notes
        + list(est.notes_)
        + figure_notes
        + _source_notes(sources)
        + _arm_notes(df_one_arm),
        source=source,
    )


def _finite_figures(figures: dict, y: np.ndarray) -> tuple[dict, list[str]]:
    """Figures with every non-finite one replaced by None, and a note on why it is
    undefined (all targets equal: no variance for R2; a target of 0: no percentage)."""
    out, undefined = {}, []
    for name, value in figures.items():
        finite = value is not None and np.isfinite(value)
        out[name] = float(value) if finite else None
        if not finite:
            undefined.append(name)
    if not undefined:
        return out, []
    reasons = []
    if np.ptp(y) == 0:
        reasons.append("every target is equal")
    if np.any(y == 0):
        reasons.append(f"{int(np.sum(y == 0))} targets are 0")
    why = "; ".join(reasons) or "the held-out predictions are not finite"
    return out, [f"{', '.join(undefined)} undefined on these rows ({why}): not reported"]


def fit_store(
    source,
    forms=("paper", "default"),
    targets=("energy", "runtime"),
    energy: str = "total",
    include_flagged: bool = False,
    on_skip: Callable[[str, str, str, str, str], None] | None = None,
    label: str | None = None,
) -> list[FitReport]:
    """One FitReport per (model, system, target, form) that the data can support.

    ``source`` is a ``measure.store.Store`` or a measurements DataFrame (``label`` names
    where its rows came from in each report).  Arms that cannot support a fit are skipped;
    ``on_skip(model, system, target, form, reason)`` hears why.
    """
    if isinstance(source, pd.DataFrame):
        df, label = source, label or "DataFrame"
        if not include_flagged:
            df = exclude_flagged(df)
    else:
        df = source.measurements(include_flagged=include_flagged)
        label = label or str(source.path)
    reports = []
    for (model, system), rows in df.groupby(["model", "system"], sort=True):
        for target in targets:
            for form in forms:
                try:
                    reports.append(fit_arm(rows, target, form, energy, source=label))
                except FitError as exc:
                    if on_skip is not None:
                        on_skip(str(model), str(system), target, form, str(exc))
    return reports
