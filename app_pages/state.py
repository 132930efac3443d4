"""Streamlit-side glue shared by every page: session defaults, the sidebar, error guard."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from app_pages import settings
from app_pages.context import (
    StorePathError,
    check_store_path,
    resolve_store_path,
    shown_store_path,
    store_folder,
)
from app_pages.text import md

log = logging.getLogger("app")

SOURCE_SERVING = "Serving catalogue (ML.ENERGY)"
SOURCE_CATALOGUE = "Reference catalogue"
SOURCE_STORE = "This store"
FORMS = ("best available", "default", "paper")

# Keys of widgets whose values must survive moving between pages (Streamlit drops the
# state of widgets that a run does not draw; re-assigning a key keeps it).
PERSISTENT_KEYS = ("data_source", "form", *settings.DEFAULTS)


def init_session() -> None:
    """Resolve the store path once per session and keep page widgets' values alive."""
    if "store_path" not in st.session_state:
        st.session_state["store_path"] = str(launch_store())
    for key in PERSISTENT_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def launch_store() -> Path:
    """The store the server was started on; its folder bounds what the sidebar may open."""
    return resolve_store_path(sys.argv[1:])


def store_path() -> Path:
    return Path(st.session_state["store_path"])


def measurement_count() -> int:
    """Measurements in the session's store; 0 (with a sidebar message) if it cannot be read.
    A store file that does not exist yet holds none (and needs no DuckDB or pandas)."""
    if not store_path().exists():
        return 0
    from app_pages import cache
    from measure.store import StoreError

    try:
        return cache.n_measurements(store_path())
    except StoreError as exc:
        log.warning("cannot read store %s: %s", store_path(), exc)
        st.sidebar.error(f"{md(str(exc).rstrip('.!'))}. Switch to another store below.")
        return 0


def sidebar(n_measurements: int) -> None:
    """Data source, model form and store switching, drawn on every page."""
    with st.sidebar:
        st.subheader("Data")
        if "data_source" not in st.session_state:
            st.session_state["data_source"] = SOURCE_STORE if n_measurements else SOURCE_SERVING
        st.radio(
            "Arms from",
            (SOURCE_SERVING, SOURCE_CATALOGUE, SOURCE_STORE),
            key="data_source",
            help="The serving catalogue holds ML.ENERGY's measured serving setups (vLLM, "
            "continuous batching on H100 and B200), planned at an operating point (batch); "
            "the reference catalogue holds the paper's published fits and our fits of its "
            "published measurements (one prompt at a time); 'This store' fits your own data.",
        )
        st.radio(
            "Model form",
            FORMS,
            key="form",
            disabled=st.session_state["data_source"] == SOURCE_SERVING,
            help="default: our form, with held-out error; paper: e = a0·tin + a1·tout + "
            "a2·tin·tout as published; best available: per arm the default form "
            "where it exists, else the paper's.  Serving arms have one form: energy per "
            "output token at their operating point.",
        )
        new = "" if store_path().exists() else " (no such file yet: created on the first import)"
        st.caption(f"Store: {md(store_path())}{new} · {n_measurements:,} measurements")
        with st.expander("Switch store"):
            folder = store_folder(launch_store())
            typed = st.text_input(
                "Store file",
                value=shown_store_path(store_path(), folder),
                key="store_path_input",
                help=f"A .duckdb file in {md(folder)} (a name, or a path inside that folder); "
                "a new name starts an empty store.",
            )
            if st.button("Use this store", key="switch_store"):
                switch_store(typed)


def switch_store(typed: str) -> None:
    try:
        path = check_store_path(typed, launch_store())
    except StorePathError as exc:
        st.error(md(exc))
        return
    st.session_state["store_path"] = str(path)
    st.session_state.pop("data_source", None)
    st.rerun()  # cached reads are keyed on the store's path and version


def guarded(page: Callable[[], None]) -> Callable[[], None]:
    """Run a page; an unexpected error shows a short message and is logged, never a traceback."""

    @functools.wraps(page)
    def run() -> None:
        try:
            page()
        except Exception as exc:  # last resort: the APIs' own errors are caught in the pages
            if _is_store_error(exc):  # the store file went bad or is locked: say so plainly
                log.warning("page %s: %s", page.__name__, exc)
                st.error(f"{md(str(exc).rstrip('.!'))}. Switch to another store in the sidebar.")
                return
            log.exception("page %s failed", page.__name__)
            st.error(
                f"This page hit an unexpected problem ({type(exc).__name__}). "
                "The details are in the server log; the other pages still work."
            )

    return run


def _is_store_error(exc: Exception) -> bool:
    """Whether ``exc`` is the store's error, without importing the store (and DuckDB and
    pandas) for pages that never touched it: then it cannot be one."""
    store = sys.modules.get("measure.store")
    return store is not None and isinstance(exc, store.StoreError)


def report_set():
    """The fits the pages use: the catalogue, or the store's (falling back when it is empty)."""
    from app_pages import cache

    path = store_path()
    if st.session_state.get("data_source", SOURCE_SERVING) == SOURCE_SERVING:
        return cache.serving_set()
    if st.session_state.get("data_source") == SOURCE_STORE:
        if cache.n_measurements(path):
            return cache.store_set(str(path), cache.store_version(path))
        st.info("The store has no measurements yet: showing the reference catalogue instead.")
    return cache.catalogue_set()


def current_form() -> str | None:
    """The form to build arms from; None: per arm the best available."""
    form = st.session_state.get("form", FORMS[0])
    return None if form == FORMS[0] else form
