"""Serving arms: one fitted operating-point model per serving setup, with where its figures
came from and what they leave out.

``serving_arms`` reads the store's serving rows (flagged rows out) or a DataFrame with the
same columns, groups them by setup (``planner.serving.setups``) and fits an
``OperatingPointModel`` per setup.  A setup measured at one batch size still gets an arm
(its figures are flat in batch) with a caveat saying so; two batch sizes are interpolated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from measure.flags import disqualifies
from measure.importers.mlenergy import CITATION as MLENERGY_CITATION
from planner.serving.operating import OperatingPointModel
from planner.serving.setups import ServingSetup, group_setups

# ML.ENERGY (and any source without per-request input lengths) measures energy over whole
# requests and divides by output tokens only, so prefill is inside the per-token figure.
PREFILL_NOTE = (
    "no input lengths in the source: energy per output token includes prompt cost for the "
    "task's prompt mix (prefill folded in)"
)
IDLE_NOTE = "idle excluded: GPUs' idle time between requests is not in these figures"
SCOPE_NOTES = {
    "gpu": "GPU energy only (no CPU, memory or network)",
    "cpu": "CPU energy only (no GPU)",
    "gpu+cpu": "GPU and CPU energy (no memory, network or facility overhead)",
}
ONE_POINT_NOTE = (
    "one batch size measured: its figures are used at every batch (no batch dependence known)"
)
TWO_POINT_NOTE = (
    "two batch sizes measured: figures interpolated in log-log between them, end slopes "
    "carried beyond"
)


@dataclass
class ServingArm:
    """A serving setup with its fitted model and the words every figure from it carries."""

    setup: ServingSetup
    model: OperatingPointModel
    source: str
    energy_scope: str
    caveats: list[str] = field(default_factory=list)
    n_points: int = 0


def _source(rows: pd.DataFrame) -> str:
    kinds = sorted({str(s) for s in rows.get("energy_source", pd.Series(dtype=str)).dropna()})
    if kinds == ["imported"]:
        # the only serving import is ML.ENERGY's leaderboard (measure.importers.mlenergy)
        return f"imported: {MLENERGY_CITATION}"
    measured = "+".join(kinds) if kinds else "unknown"
    engine = (
        rows["engine"].dropna().iloc[0] if "engine" in rows and rows["engine"].notna().any() else ""
    )
    return f"measured: {measured}" + (f" ({engine})" if engine else "")


def _caveats(rows: pd.DataFrame, scope: str, n_points: int) -> list[str]:
    out = [SCOPE_NOTES.get(scope, f"energy scope {scope!r}")]
    no_inputs = "mean_input_tokens" not in rows.columns or rows["mean_input_tokens"].isna().all()
    if no_inputs:
        out.append(PREFILL_NOTE)
    out.append(IDLE_NOTE)
    if n_points == 1:
        out.append(ONE_POINT_NOTE)
    elif n_points == 2:
        out.append(TWO_POINT_NOTE)
    return out


def _rows(store_or_df) -> pd.DataFrame:
    if isinstance(store_or_df, pd.DataFrame):
        df = store_or_df
        if "flags" in df.columns and len(df):
            df = df[[not disqualifies(f) for f in df["flags"]]]
        return df
    if hasattr(store_or_df, "serving"):
        return store_or_df.serving(include_flagged=False)
    raise TypeError(f"serving_arms needs a Store or a DataFrame, got {type(store_or_df).__name__}")


def serving_arms(store_or_df, *, tasks=None, systems=None, cv: bool = True) -> list[ServingArm]:
    """One arm per serving setup (sorted by setup), from a Store (``serving(include_flagged
    =False)``) or a DataFrame of serving rows; ``tasks`` / ``systems`` keep only those.
    ``cv=False`` skips the held-out errors (about 8 refits per setup) where nobody reads
    them, as in capacity planning."""
    df = _rows(store_or_df)
    if tasks is not None and len(df):
        df = df[df["task"].isin(list(tasks))]
    if systems is not None and len(df):
        df = df[df["system"].isin(list(systems))]
    if len(df) == 0:
        return []
    return [
        arm_of(setup, OperatingPointModel(cv=cv).fit(rows), rows)
        for setup, rows in group_setups(df).items()
    ]


def arm_of(setup: ServingSetup, model: OperatingPointModel, rows: pd.DataFrame) -> ServingArm:
    """The arm of one setup from its fitted model and its rows: source, energy scope and
    caveats in the words every arm carries (``serving_arms`` and the embedded catalogue,
    ``planner.serving.embedded``, both build their arms here)."""
    scopes = sorted({str(s) for s in rows.get("energy_scope", pd.Series(dtype=str)).dropna()})
    if len(scopes) <= 1:
        scope = scopes[0] if scopes else "unknown"
    else:
        scope = "mixed: " + ", ".join(scopes)
    n_points = len(model.batches_)
    return ServingArm(
        setup=setup,
        model=model,
        source=_source(rows),
        energy_scope=scope,
        caveats=_caveats(rows, scope, n_points),
        n_points=n_points,
    )
