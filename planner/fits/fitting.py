"""Fit energy and runtime curves per (model, system) arm of the measurement store.

Targets are per query: energy / batch_size and runtime_s / batch_size (device time per
query).  ``energy="total"`` is GPU + CPU, counting whichever a row has (NULL is absent, not
0); ``energy="gpu"`` is GPU energy alone, as the paper fitted.  Flagged rows stay out unless
``include_flagged``.  Every report carries in-sample R2, 5-fold CV figures (shuffled K-fold
over (tin, tout) configurations, fixed seed, pooled out-of-fold predictions, the default
form's term choice redone in every fold), n, measured token ranges, the energy sources
behind it and notes on anything the fit had to decide.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from planner.fits.curves import FitReport
from planner.fits.energy import total_energy_j
from planner.fits.forms import DefaultForm, PaperForm
from planner.fits.validation import (
    CV_SEED,
    CV_SPLITS,
    cross_val_predictions,
    error_figures,
    in_sample_r2,
)

FORMS = ("paper", "default")
TARGETS = ("energy", "runtime")
ENERGY_KINDS = ("total", "gpu")


class FitError(ValueError):
    """An arm's rows cannot support the requested fit; the message says why."""


def _flag_count(flags) -> int:
    if flags is None or (isinstance(flags, float) and np.isnan(flags)):
        return 0
    return len(flags)


def exclude_flagged(df: pd.DataFrame) -> pd.DataFrame:
    if "flags" not in df.columns or df.empty:
        return df
    return df[[_flag_count(f) == 0 for f in df["flags"]]]


def arm_targets(
    df: pd.DataFrame, target: str, energy: str = "total"
) -> tuple[pd.DataFrame, list[str]]:
    """Rows usable for ``target`` with columns tin, tout, y, energy_source; and notes."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}: use one of {TARGETS}")
    if energy not in ENERGY_KINDS:
        raise ValueError(f"unknown energy {energy!r}: use one of {ENERGY_KINDS}")
    notes: list[str] = []
    batch = pd.to_numeric(df.get("batch_size", 1), errors="coerce")
    batch = pd.Series(batch, index=df.index).fillna(1).clip(lower=1)
    if target == "runtime":
        y = pd.to_numeric(df["runtime_s"], errors="coerce")
    else:
        y, energy_notes = _energy_j(df, energy)
        notes += energy_notes
    out = pd.DataFrame(
        {
            "tin": pd.to_numeric(df["input_tokens"], errors="coerce"),
            "tout": pd.to_numeric(df["output_tokens"], errors="coerce"),
            "y": y / batch,
            "energy_source": df.get("energy_source", "unknown"),
        }
    )
    missing = out[["tin", "tout", "y"]].isna().any(axis=1)
    if missing.any():
        notes.append(f"{int(missing.sum())} rows without a figure for {target} left out")
    return out[~missing].reset_index(drop=True), notes


def _energy_j(df: pd.DataFrame, energy: str) -> tuple[pd.Series, list[str]]:
    """Energy per batch: GPU alone, or the total (``total_energy_j``), with notes on which
    rows lack a part."""

    def column(name):
        return (
            pd.to_numeric(df[name], errors="coerce")
            if name in df
            else pd.Series(np.nan, index=df.index)
        )

    gpu, cpu = column("gpu_energy_j"), column("cpu_energy_j")
    if energy == "gpu":
        return gpu, []
    total = total_energy_j(gpu, cpu)
    rows = int((gpu.notna() | cpu.notna()).sum())
    n_gpu, n_cpu = int(gpu.notna().sum()), int(cpu.notna().sum())
    if n_cpu == 0:
        return total, ["no CPU energy in these rows: total is GPU energy only"]
    if n_gpu == 0:
        return total, ["no GPU energy in these rows: total is CPU energy only"]
    notes = []
    if n_cpu < rows:
        notes.append(
            f"CPU energy present on {n_cpu} of {rows} rows: the others count GPU energy only"
        )
    if n_gpu < rows:
        notes.append(
            f"GPU energy present on {n_gpu} of {rows} rows: the others count CPU energy only"
        )
    return total, notes


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
    """Fit one form to one target of one (model, system) arm's rows."""
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}: use one of {FORMS}")
    if df_one_arm.empty:
        raise FitError("no rows to fit")
    arms = df_one_arm[["model", "system"]].drop_duplicates()
    if len(arms) != 1:
        raise ValueError(f"fit_arm needs the rows of one (model, system), got {len(arms)}")
    model, system = arms.iloc[0]
    rows, notes = arm_targets(df_one_arm, target, energy)
    if target == "energy" and form == "default" and (rows["y"] <= 0).any():
        bad = rows["y"] <= 0
        notes.append(f"{int(bad.sum())} rows with energy <= 0 left out of the relative fit")
        rows = rows[~bad].reset_index(drop=True)
    if rows.empty:
        raise FitError(
            f"{model} on {system}: no rows with a figure for {target}"
            + (f" ({energy} energy)" if target == "energy" else "")
        )
    x, y = rows[["tin", "tout"]].to_numpy(float), rows["y"].to_numpy(float)
    est = PaperForm(target) if form == "paper" else DefaultForm(target=target)
    try:
        est.fit(x, y)
        cv_pred = cross_val_predictions(est, x, y, CV_SPLITS, CV_SEED)
    except ValueError as exc:
        raise FitError(f"{model} on {system}, {target} ({form} form): {exc}") from exc
    cv = error_figures(y, cv_pred)
    lines = est.curve_.sweep_lines  # the estimator found them when it fitted
    if lines is not None:
        notes.append(
            f"rows are 1-D sweeps (tin at tout={lines[1]:g}, tout at tin={lines[0]:g}): "
            "predictions off those lines are extrapolated"
        )
    sources = sorted(str(s) for s in rows["energy_source"].dropna().unique())
    return FitReport(
        model=str(model),
        system=str(system),
        target=target,
        form=form,
        curve=est.curve_,
        r2=in_sample_r2(y, est.predict(x), has_intercept="1" in est.terms_),
        cv_r2=cv["r2"],
        cv_median_ape=cv["median_ape"],
        cv_p90_ape=cv["p90_ape"],
        n=len(y),
        energy=energy if target == "energy" else None,
        energy_sources=sources,
        notes=notes + list(est.notes_) + _source_notes(sources) + _arm_notes(df_one_arm),
        source=source,
    )


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
