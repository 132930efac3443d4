"""The workload's token histogram as a plotly figure, from numpy arrays (no pandas): the
dashboard's first chart, drawn before the page's heavier imports."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go


def token_histogram(
    tin: np.ndarray, tout: np.ndarray, weights: np.ndarray | None = None, title: str | None = None
) -> go.Figure:
    """Distributions of input and output tokens (weighted by count), binned here on a log
    scale so the figure stays small whatever the workload's size."""
    tin, tout = np.asarray(tin), np.asarray(tout)
    top = max(int(max(tin.max(), tout.max())), 2)
    edges = np.unique(np.round(np.geomspace(1, top + 1, 40)))
    fig = go.Figure()
    for tokens, label, color in ((tin, "input", "#5C6BC0"), (tout, "output", "#2E7D32")):
        counts, _ = np.histogram(np.clip(tokens, 1, None), bins=edges, weights=weights)
        fig.add_trace(
            go.Bar(
                x=np.sqrt(edges[:-1] * edges[1:]),
                y=counts,
                width=np.diff(edges),
                name=f"{label} tokens",
                opacity=0.65,
                marker_color=color,
            )
        )
    fig.update_layout(
        title=title,
        barmode="overlay",
        height=260 if title else 220,
        xaxis={"title": "tokens", "type": "log"},
        yaxis={"title": "queries", "rangemode": "tozero", "automargin": True},
        margin={"t": 70 if title else 30, "b": 30, "l": 60, "r": 10},
        legend={"orientation": "h", "y": 1.0, "x": 0, "yanchor": "bottom"},
    )
    return fig
