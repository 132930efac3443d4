"""Labels that come from data (model, system, workload, plan and form names) as charts show
them.

Plotly reads a small HTML subset in every piece of text it draws (trace names, legend and
hover text, category tick labels, titles, annotations): ``<a href=...>`` becomes a live
link, ``<b>`` and ``<br>`` restyle and break lines.  A name from a measurement file or an
upload is data, never markup, so every figure builder passes such text through
``plotly_text``: ``&``, ``<`` and ``>`` become the entities ``&amp;``, ``&lt;`` and
``&gt;``, which plotly draws as the characters themselves.  Markup a figure builder writes
on purpose (a ``<br>`` in its own hover template) is added around the escaped text.
"""

from __future__ import annotations

from collections.abc import Iterable

_PLOTLY_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def plotly_text(text: object) -> str:
    """``text`` as plotly draws it literally (no links, tags or entities read from it)."""
    return str(text).translate(_PLOTLY_ENTITIES)


def plotly_texts(values: Iterable[object]) -> list[str]:
    return [plotly_text(v) for v in values]


def arm_label(model: str, system: str, estimated: bool = False) -> str:
    """An (LLM, system) arm in words, as plain text; charts escape it with ``plotly_text``."""
    return f"{model} · {system}" + (" [estimated]" if estimated else "")


def baseline_label(key: str, plan) -> str:
    """A baseline as a chart names it beside its point: the arm for a single-arm baseline,
    else the plan's name up to its first parenthesis (``round robin``, ``random``)."""
    used = plan.arms[plan.arms["queries"] > 0]
    if str(key).startswith("single:") and len(used) == 1:
        return arm_label(used["model"].iloc[0], used["system"].iloc[0])
    return str(plan.name).split(" (")[0]
