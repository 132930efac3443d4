"""Measurements as the Measurements page shows them: per-query figures, filters, the
scatter chart and the table.

Energies in the store are per measured batch; here everything is per query
(``energy / batch_size``).  Total energy is ``planner.fits.total_energy_j``'s, the rule
the fits use.  Rows whose ``energy_source`` contains ``estimated`` are marked in every
chart and table; model and system names reach the chart through ``labels.plotly_text``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from measure.flags import disqualifies
from planner.fits import total_energy_j
from planner.report.labels import arm_label, plotly_text

QUANTITIES = {
    "energy_j": "Energy per query (J)",
    "runtime_s": "Runtime per query (s)",
    "energy_per_token_j": "Energy per token, input + output (J)",
}
TABLE_COLUMNS = (
    "model",
    "system",
    "energy_source",
    "estimated",
    "input_tokens",
    "output_tokens",
    "energy_j",
    "gpu_energy_j",
    "cpu_energy_j",
    "runtime_s",
    "batch_size",
    "flags",
    "run_id",
)


def per_query(df: pd.DataFrame) -> pd.DataFrame:
    """Add per-query ``energy_j``, ``energy_per_token_j``, ``estimated`` and ``flagged``."""
    out = df.copy()
    batch = pd.to_numeric(out.get("batch_size"), errors="coerce").fillna(1).clip(lower=1)
    out["energy_j"] = total_energy_j(out.get("gpu_energy_j"), out.get("cpu_energy_j")) / batch
    out["runtime_s"] = pd.to_numeric(out["runtime_s"], errors="coerce") / batch
    tokens = pd.to_numeric(out["input_tokens"], errors="coerce") + pd.to_numeric(
        out["output_tokens"], errors="coerce"
    )
    out["energy_per_token_j"] = out["energy_j"] / tokens.where(tokens > 0)
    out["estimated"] = out["energy_source"].astype(str).str.contains("estimated")
    out["flagged"] = [disqualifies(f) for f in out.get("flags", [[]] * len(out))]
    return out


def filter_options(df: pd.DataFrame) -> dict[str, list[str]]:
    """The distinct models, systems and energy sources present, sorted."""
    return {
        col: sorted(df[col].dropna().astype(str).unique().tolist())
        for col in ("model", "system", "energy_source")
    }


def apply_filters(
    df: pd.DataFrame, models=None, systems=None, sources=None, include_flagged: bool = True
) -> pd.DataFrame:
    """Rows matching every non-empty selection (an empty selection means all)."""
    mask = pd.Series(True, index=df.index)
    for col, chosen in (("model", models), ("system", systems), ("energy_source", sources)):
        if chosen:
            mask &= df[col].astype(str).isin(list(chosen))
    if not include_flagged and "flagged" in df:
        mask &= ~df["flagged"]
    return df[mask]


def scatter(df: pd.DataFrame, x: str, quantity: str) -> go.Figure:
    """Log-log scatter of ``quantity`` against ``x`` tokens, one trace per (model, system).

    Estimated energies get hollow x markers and ``[estimated]`` in their legend entry;
    non-positive values cannot sit on a log axis and are counted in the title instead.
    """
    fig = go.Figure()
    values = pd.to_numeric(df[quantity], errors="coerce")
    shown = df[values > 0]
    hidden = int((values <= 0).sum())
    for (model, system, estimated), part in shown.groupby(
        ["model", "system", "estimated"], sort=True
    ):
        name = plotly_text(arm_label(model, system, estimated))
        fig.add_trace(
            go.Scattergl(
                x=part[x],
                y=part[quantity],
                mode="markers",
                name=name,
                marker={
                    "symbol": "x-thin-open" if estimated else "circle",
                    "size": 6,
                    "line": {"width": 1.5},
                }
                if estimated
                else {"size": 5, "opacity": 0.7},
            )
        )
    label = "input" if x == "input_tokens" else "output"
    title = f"{QUANTITIES[quantity]} vs {label} tokens"
    if hidden:
        title += f" ({hidden} rows ≤ 0 not shown on log axes)"
    fig.update_layout(
        title=title,
        xaxis_title=f"{label} tokens",
        yaxis_title=QUANTITIES[quantity],
        xaxis_type="log",
        yaxis_type="log",
        height=420,
        legend={"font": {"size": 10}},
        margin={"t": 50, "b": 40},
    )
    return fig


def table(df: pd.DataFrame) -> pd.DataFrame:
    """The columns the measurements table shows, flags joined as text."""
    cols = [c for c in TABLE_COLUMNS if c in df.columns]
    out = df[cols].copy()
    if "flags" in out:
        out["flags"] = [
            ", ".join(f) if isinstance(f, (list, tuple, np.ndarray)) else "" for f in out["flags"]
        ]
    return out.reset_index(drop=True)
