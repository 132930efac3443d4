"""The Capacity page's glue: its settings, the serving data and uploads it reads, and one
capacity plan (``planner.capacity.plan_capacity``) per distinct set of inputs, cached.

Every expected failure (a workload without arrival times, a bad grid file, a latency
target no operating point meets, GPU limits below the peak) comes back as a message for
``st.error``, never as an exception; ``plan_outcome`` returns (plan or None, message).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from app_pages.text import md

log = logging.getLogger("app.capacity")

LOAD_SYNTHETIC = "Synthetic arrivals"
LOAD_UPLOAD = "Upload a workload with arrival times"
ARRIVAL_KINDS = ("diurnal", "poisson", "bursty")
ARRIVAL_HELP = {
    "diurnal": "Peak requests per second (at 14:00; the night falls to a fifth of it)",
    "poisson": "Mean requests per second (Poisson arrivals)",
    "bursty": "Mean requests per second (gamma gaps between arrivals)",
}
SERVING_CATALOGUE = "ML.ENERGY serving catalogue (embedded)"
SERVING_STORE = "This store's serving rows"
ACCURACY_NONE = "No accuracy term"
ACCURACY_ZETA = "Trade-off (zeta)"
ACCURACY_FLOOR = "Accuracy floor"
OBJECTIVES = ("energy", "carbon", "cost")
ALL_TASKS = "every task"
# Defaults: the fast first view (24 h at 60-minute slots, diurnal peak 20 req/s)
DEFAULTS = {
    "cap_load": LOAD_SYNTHETIC,
    "cap_kind": "diurnal",
    "cap_rate": 20.0,
    "cap_cv": 2.0,
    "cap_hours": 24.0,
    "cap_slot_min": 60,
    "cap_seed": 0,
    "cap_shape": "chat",
    "cap_serving": SERVING_CATALOGUE,
    "cap_task": "lm-arena-chat",
    "cap_itl_ms": 30.0,
    "cap_ttft_ms": None,
    "cap_objective": "energy",
    "cap_accuracy": ACCURACY_ZETA,
    "cap_zeta": 0.5,
    "cap_floor": 60.0,
    "cap_pue": 1.2,
    "cap_carbon": 400.0,
    "cap_price_kwh": 0.15,
    "cap_currency": "USD",
}
MAX_GRID_BYTES = 5 * 1024 * 1024  # two years of hourly rows are well under 1 MB


SAVED = "capacity_saved"  # not a widget key: it survives visits to other pages
NOT_SAVED = ("cap_workload_file", "cap_grid_file", "cap_report")  # the API cannot set these


def init_defaults() -> None:
    """Widgets read their values from these keys: the defaults, or what the user chose
    before leaving the page (Streamlit drops the state of widgets a run does not draw)."""
    for key, value in {**DEFAULTS, **st.session_state.get(SAVED, {})}.items():
        st.session_state.setdefault(key, value)


def init_system_defaults(systems: list[str]) -> None:
    """No GPU limit and no price per GPU-hour until the user gives one."""
    for system in systems:
        st.session_state.setdefault(f"cap_gpus_{system}", 0)
        st.session_state.setdefault(f"cap_gpu_price_{system}", None)


def remember() -> None:
    """Keep the page's settings for the next visit (after its widgets are drawn)."""
    st.session_state[SAVED] = {
        k: v
        for k, v in st.session_state.items()
        if str(k).startswith("cap_") and k not in NOT_SAVED
    }


@dataclass(frozen=True)
class CapacitySettings:
    """Everything the page's controls decide, hashable (the plan's cache key)."""

    load: str
    kind: str
    rate: float
    cv: float
    hours: float
    slot_min: int
    seed: int
    shape: str
    serving: str
    task: str
    itl_ms: float | None
    ttft_ms: float | None
    objective: str
    accuracy: str
    zeta: float
    floor: float
    pue: float
    carbon: float
    price_kwh: float
    currency: str
    gpu_limits: tuple  # ((system, GPUs), ...) where limited
    gpu_prices: tuple  # ((system, price per GPU-hour), ...) where given

    @property
    def arrivals(self) -> str:
        if self.kind == "bursty":
            return f"bursty:{self.rate:g},{self.cv:g}"
        return f"{self.kind}:{self.rate:g}"


def current_settings(systems: list[str]) -> CapacitySettings:
    s = st.session_state

    def positive(key):
        value = s.get(key)
        return float(value) if value is not None and float(value) > 0 else None

    limits = tuple((sys, int(s[f"cap_gpus_{sys}"])) for sys in systems if s.get(f"cap_gpus_{sys}"))
    prices = tuple(
        (sys, float(s[f"cap_gpu_price_{sys}"]))
        for sys in systems
        if s.get(f"cap_gpu_price_{sys}") is not None
    )
    return CapacitySettings(
        load=s["cap_load"],
        kind=s["cap_kind"],
        rate=float(s["cap_rate"]),
        cv=float(s["cap_cv"]),
        hours=float(s["cap_hours"]),
        slot_min=int(s["cap_slot_min"]),
        seed=int(s["cap_seed"]),
        shape=s["cap_shape"],
        serving=s["cap_serving"],
        task=s["cap_task"],
        itl_ms=positive("cap_itl_ms"),
        ttft_ms=positive("cap_ttft_ms"),
        objective=s["cap_objective"],
        accuracy=s["cap_accuracy"],
        zeta=float(s["cap_zeta"]),
        floor=float(s["cap_floor"]),
        pue=float(s["cap_pue"]),
        carbon=float(s["cap_carbon"]),
        price_kwh=float(s["cap_price_kwh"]),
        currency=str(s["cap_currency"]).strip() or "USD",
        gpu_limits=limits,
        gpu_prices=prices,
    )


# -- serving data ----------------------------------------------------------------------


@st.cache_resource(max_entries=1, show_spinner=False)
def _embedded_rows():
    from planner.serving.embedded import read_embedded

    return read_embedded().rows


@st.cache_data(max_entries=4, ttl=600, show_spinner=False)
def _store_rows(path: str, version: tuple):
    from measure.store import Store

    return Store(path).serving()


def serving_rows(choice: str, store_path: Path):
    """The serving table (store ``serving`` shape) the page plans with."""
    if choice == SERVING_STORE and store_path.exists():
        from app_pages.cache import store_version

        return _store_rows(str(store_path), store_version(store_path))
    return _embedded_rows()


def store_has_serving(store_path: Path) -> bool:
    if not store_path.exists():
        return False
    from measure.store import StoreError

    try:
        return len(serving_rows(SERVING_STORE, store_path)) > 0
    except StoreError:
        return False


# -- uploads -----------------------------------------------------------------------------


def upload_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


@st.cache_resource(max_entries=4, show_spinner=False)
def read_workload(name: str, digest: str, _data: bytes):
    """(workload or None, message or None) of an uploaded file (``uploads``)."""
    from app_pages.uploads import read_workload_upload

    outcome = read_workload_upload(name, _data)
    if not outcome.ok:
        return None, outcome.error
    workload = outcome.value
    if "arrival_s" not in workload.queries.columns:
        return None, (
            f"{workload.name}: no arrival-time column (arrival_s, arrived_at or timestamp): "
            "a capacity plan needs when requests arrive"
        )
    return workload, None


@st.cache_resource(max_entries=4, show_spinner=False)
def read_grid(name: str, digest: str, _data: bytes):
    """(grid profile or None, message or None) of an uploaded grid CSV; messages name the
    uploaded file, never the temporary copy."""
    from app_pages.uploads import _safe_name, too_large
    from planner.capacity.grid import GridError, load_grid

    name = _safe_name(name)
    if refused := too_large(name, len(_data), MAX_GRID_BYTES, "a grid file"):
        return None, refused
    with tempfile.TemporaryDirectory(prefix="grid-") as folder:
        path = Path(folder) / "grid.csv"
        path.write_bytes(_data)
        try:
            grid = load_grid(path)
        except GridError as exc:
            return None, str(exc).replace(str(path), name)
        except Exception:
            log.exception("reading uploaded grid %s", name)
            return (
                None,
                f"{name}: could not be read as a grid CSV (hour,gco2e_per_kwh,price_per_kwh)",
            )
    grid.source = f"grid file {name}"
    return grid, None


# -- the plan ------------------------------------------------------------------------------


def _fleet(s: CapacitySettings):
    from planner.fleet.spec import Facility, Fleet, SystemSpec

    return Fleet(
        system={sys: SystemSpec(devices=n) for sys, n in s.gpu_limits},
        facility=Facility(
            pue=s.pue, carbon_g_per_kwh=s.carbon, price_per_kwh=s.price_kwh, currency=s.currency
        ),
        source="the Capacity page's settings",
    )


def _profile(s: CapacitySettings, workload):
    from planner.capacity.profile import profile_from_workload, synthetic_profile

    slot_s = 60.0 * s.slot_min
    if workload is not None:
        return profile_from_workload(workload, slot_s)
    return synthetic_profile(s.arrivals, s.hours, slot_s, seed=s.seed, kind=s.shape)


@st.cache_resource(max_entries=6, show_spinner=False)
def _plan(key: str, _s: CapacitySettings, _rows, _workload, _grid):
    s = _s
    from planner.capacity.options import InfeasibleTargetError, candidate_options
    from planner.capacity.plan import CapacityError, InfeasibleCapacityError, plan_capacity
    from planner.capacity.profile import ProfileError

    try:
        options, notes = candidate_options(
            _rows,
            tasks=None if s.task == ALL_TASKS else [s.task],
            itl_ms_p90=s.itl_ms,
            ttft_ms_p90=s.ttft_ms,
            use_models=False,  # the measured points as they are: fast, nothing extrapolated
        )
        profile = _profile(s, _workload)
        plan = plan_capacity(
            profile,
            options,
            fleet=_fleet(s),
            grid=_grid,
            objective=s.objective,
            zeta=s.zeta if s.accuracy == ACCURACY_ZETA else None,
            min_accuracy=s.floor if s.accuracy == ACCURACY_FLOOR else None,
            gpu_hour_price=dict(s.gpu_prices) or None,
            time_limit_s=60.0,
            notes=notes,
        )
    except (
        InfeasibleTargetError,
        InfeasibleCapacityError,
        CapacityError,
        ProfileError,
        TimeoutError,
        ValueError,
    ) as exc:
        return None, str(exc)
    return plan, None


def plan_outcome(s: CapacitySettings, rows, workload=None, workload_key="", grid=None, grid_key=""):
    """(plan, None) or (None, the planner's message in words), cached per inputs."""
    rows_key = (len(rows), int(rows["energy_per_output_token_j"].sum() * 1e6) if len(rows) else 0)
    key = repr((s, rows_key, workload_key, grid_key))
    try:
        return _plan(key, s, rows, workload, grid)
    except Exception as exc:  # an unexpected failure: logged, said in words
        log.exception("capacity plan failed")
        return None, (
            f"the capacity plan hit an unexpected problem ({type(exc).__name__}); the details "
            "are in the server log"
        )


# The planner speaks of CLI options and fleet files; the page has fields for them
IN_PAGE_WORDS = (
    ("(--gpu-hour-price)", "(the price per GPU-hour fields under 'GPUs per system')"),
    ("--gpu-hour-price", "the price per GPU-hour fields"),
    ("--grid or [facility] price_per_kwh", "a grid file or the price per kWh field"),
    ("--grid or [facility] carbon_g_per_kwh in the fleet", "a grid file or the gCO2e/kWh field"),
    ("--grid or [facility] in the fleet", "a grid file or the gCO2e/kWh field"),
    ("--grid", "a grid file"),
    ("raise a [system] devices limit in the fleet", "raise a most-GPUs limit under 'GPUs per system'"),
    ("raise a [system] devices limit", "raise a most-GPUs limit under 'GPUs per system'"),
)  # fmt: skip


def page_words(message: str) -> str:
    """A planner message with its CLI options named as the page's fields."""
    text = str(message)
    for cli, page in IN_PAGE_WORDS:
        text = text.replace(cli, page)
    return text


def error_text(message: str) -> str:
    """A planner message for ``st.error``, in the page's words and literal (the planner's
    own lower-case start kept: "p90 ITL ..." reads as it is written)."""
    return "No capacity plan: " + md(page_words(message))
