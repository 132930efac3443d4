"""Tables as the pages show them: each LLM under its one canonical name (the data's own
spelling beside it where that differs), and every cell readable (``planner.report.units.cell``:
figures to three significant figures, yes/no for flags, "—" for a figure that does not
exist, never "None" or "nan").  The frames keep their numbers, so a column still sorts by
value; only what is drawn is formatted (the grid draws a missing value itself: its
placeholder says "—").
"""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from planner.fleet.registry import canonical_llm
from planner.report.units import NOTHING, cell

DATA_NAME = "Name in the data"


def llm_names(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """``df`` with ``column`` (an LLM as a source spells it) holding the canonical name, and
    the source's spelling in ``DATA_NAME`` next to it where any row's differs."""
    if column not in df.columns or df.empty:
        return df
    spelled = df[column].astype(str)
    canonical = spelled.map(canonical_llm)
    out = df.copy()
    out[column] = canonical
    if (canonical != spelled).any():
        where = out.columns.get_loc(column) + 1
        out.insert(where, DATA_NAME, spelled.where(canonical != spelled, NOTHING))
    return out


def readable(df: pd.DataFrame):
    """``df`` styled for reading: every cell through ``units.cell`` (no 'None', no 'nan')."""
    return df.style.format(cell)


def table(df: pd.DataFrame, where=st, **kwargs) -> None:
    """``df`` drawn readable (``readable``) in ``where`` (the page, or a column of it): the
    grid draws a missing value as "—", never "None"."""
    kwargs = {"hide_index": True, "width": "stretch", **kwargs}
    where.dataframe(readable(df), placeholder=NOTHING, **kwargs)


def arm_name(model: str, system: str) -> str:
    """An arm as a picker lists it: the canonical LLM, the data's spelling where it differs."""
    llm = canonical_llm(model)
    spelled = "" if llm == model else f" (data: {model})"
    return f"{llm}{spelled} · {system}"


def charted_by_llm(plan, estimated: frozenset = frozenset()):
    """(``plan``, ``estimated``) with each arm's ``model`` holding its canonical LLM, for a
    chart that labels arms by ``model``: the same figures under one name per LLM.  Where two
    spellings of one LLM share a system, they keep the data's names (two bars, not one)."""
    arms = plan.arms
    llms = arms["llm"] if "llm" in arms else arms["model"].map(canonical_llm)
    pairs = pd.Series(list(zip(llms, arms["system"])), index=arms.index)
    named = llms.where(~pairs.duplicated(keep=False), arms["model"])
    renamed = frozenset(
        (name, system)
        for name, model, system in zip(named, arms["model"], arms["system"])
        if (model, system) in estimated
    )
    return dataclasses.replace(plan, arms=arms.assign(model=named)), renamed
