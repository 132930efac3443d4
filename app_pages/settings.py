"""The Planner page's settings and their defaults, importable before pandas and the solver
(the page draws its workload chart first, from these alone)."""

from __future__ import annotations

from dataclasses import dataclass, fields

import streamlit as st

SYNTHETIC_KINDS = ("chat", "math", "code")
FRONTIER_ZETAS = tuple(round(i / 10, 2) for i in range(11))  # Trade-offs and the HTML report
WORKLOAD_SYNTHETIC = "Synthetic"
WORKLOAD_UPLOAD = "Upload a file"
DEFAULT_BASELINE = "most_accurate_fastest"
# A system's row in the fleet table starts with these (each row is then edited on its own)
DEFAULT_DEVICES = 8
DEFAULT_WINDOW_H = 24.0


@dataclass(frozen=True)
class PlanSettings:
    """Everything the page's controls decide (facility figures only change the reporting)."""

    objective: str = "paper"  # "paper" (zeta) or "energy" (accuracy floor)
    zeta: float = 0.5
    min_accuracy: float | None = None
    min_share_fraction: float = 0.25
    pue: float = 1.2
    carbon_g_per_kwh: float = 400.0
    price_per_kwh: float = 0.15
    currency: str = ""  # of the price; blank: the fleet's default (planner.fleet.spec)
    # serving arms (the serving catalogue): the task whose prompt mix their figures were
    # measured on, and the ITL p90 target that picks each setup's batch (None: the largest
    # measured batch)
    serving_task: str = "lm-arena-chat"
    itl_ms_p90_max: float | None = None

    def fleet_args(self) -> dict:
        """``planner.fleet.fleet_dict``'s keywords besides the tables (devices and windows
        are per system, in the fleet's system table)."""
        return {"min_share_fraction": self.min_share_fraction}

    def facility(self) -> dict:
        out = {
            "pue": self.pue,
            "carbon_g_per_kwh": self.carbon_g_per_kwh,
            "price_per_kwh": self.price_per_kwh,
        }
        if self.currency.strip():
            out["currency"] = self.currency.strip()
        return out


DEFAULTS = {
    **{f.name: f.default for f in fields(PlanSettings)},
    "workload_choice": WORKLOAD_SYNTHETIC,
    "workload_kind": "chat",
    "workload_n": 2000,
    "workload_seed": 0,
    "compare_to": DEFAULT_BASELINE,
}


def init_defaults() -> None:
    """Widgets read their values from these keys (no widget passes its own default)."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value)


def synthetic_choice() -> tuple[str, int, int] | None:
    """(kind, queries, seed) of the synthetic workload being planned, or None when an
    uploaded one is chosen and present (the chart and the plan both ask here)."""
    init_defaults()
    if (
        st.session_state["workload_choice"] == WORKLOAD_UPLOAD
        and "uploaded_workload" in st.session_state
    ):
        return None
    return (
        st.session_state["workload_kind"],
        int(st.session_state["workload_n"]),
        int(st.session_state["workload_seed"]),
    )


def chosen_tokens():
    """(input tokens, output tokens, counts or None) of the workload being planned (numpy
    only: the page's first chart comes before pandas loads)."""
    from planner.workload.synthetic import synthetic_tokens

    choice = synthetic_choice()
    if choice is None:
        q = st.session_state["uploaded_workload"].queries
        return (
            q["input_tokens"].to_numpy(),
            q["output_tokens"].to_numpy(),
            q["count"].to_numpy(float),
        )
    return (*synthetic_tokens(*choice), None)
