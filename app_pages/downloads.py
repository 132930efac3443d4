"""The allocation CSV as a download button that works on the first click.

A deferred download (a callable run when the button is clicked) goes through a backend
operation whose callable a rerun may replace; on a loaded machine the click then got no file
and the button stayed disabled.  For plans up to ``EAGER_QUERIES`` the bytes are built when
the plan is shown (cheap at that size) and kept per plan, so the click is a plain link; larger
plans keep the deferred callable.  ``on_click="ignore"``: a download never reruns the page.
"""

from __future__ import annotations

import streamlit as st

from planner.report import exports

EAGER_QUERIES = 100_000  # ~3 MB of CSV, built in well under a second
_CACHE_KEY = "_allocation_csv_bytes"


def _csv_bytes(plan) -> bytes:
    held = st.session_state.get(_CACHE_KEY)
    if held is not None and held[0] is plan:  # the plan object itself: the bundle caches plans
        return held[1]
    data = exports.assignments_csv(plan)
    st.session_state[_CACHE_KEY] = (plan, data)  # one plan at a time bounds the memory
    return data


def allocation_button(plan, label: str, file_name: str, key: str, **kwargs) -> None:
    """The per-query allocation CSV of ``plan`` (callers check ``exports.csv_too_large``)."""
    data = (
        _csv_bytes(plan)
        if plan.n_queries <= EAGER_QUERIES
        else (lambda: exports.assignments_csv(plan))
    )
    st.download_button(
        label, data, file_name=file_name, mime="text/csv", key=key, on_click="ignore", **kwargs
    )
