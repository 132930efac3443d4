"""Planning data (distinct queries x arms) and the ``Plan`` every planner and baseline returns.

Queries are aggregated into groups of identical (input tokens, output tokens, task); an
allocation is a (groups x arms) matrix of query counts.  A plan's figures are all computed
from its allocation here, so optimised plans and baselines are measured the same way.

A (group, arm) column is allowed only if the query fits the arm's context
(``PlanData.allowed``); the optimiser never uses another, and a baseline that does is
reported as breaking the limit.  Energies and runtimes are the arms' floored predictions
(never negative, ``planner.fits.curves.Curve.physical_floor``); where a floor was used,
the plan's warnings count the queries per arm.

Energy is reported in two parts.  Active energy (``Plan.energy_j``, also
``active_energy_j``; what the objectives minimise) is what the arms' curves predict for the
queries they serve.  Idle energy (``Plan.idle_energy_j``, per system in ``Plan.idle``) is
what provisioned GPUs draw while they serve nothing: idle power per GPU x GPUs x (window -
busy time), per system whose arms carry an idle power (serving arms; the paper's arms carry
none, and their plans count no idle energy, as the paper did).  The GPUs are the fleet's
devices of the system where it gives a count, else the fewest whole instances of each arm
that serve its busy time within the window.  PUE applies on top of both (reporting).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.fits.curves import total_interval
from planner.fleet.registry import canonical_llm
from planner.fleet.spec import Fleet, SystemSpec
from planner.quantities import S_PER_H
from planner.routing.arms import Arm
from planner.workload.load import Workload

IDLE_COLUMNS = [
    "system",
    "gpus",
    "window_h",
    "busy_gpu_hours",
    "idle_gpu_hours",
    "idle_power_w",
    "idle_energy_j",
    "provisioning",
    "idle_source",
]


class PlanData:
    """Per-(group, arm) energy, runtime and accuracy, and what the constraints need.

    ``llms`` and ``systems`` are sorted names; ``arm_llm`` and ``arm_system`` give each
    arm's index in them.  ``min_queries`` maps an LLM given a share to the queries it must
    serve; ``capacity_device_s`` is per system (inf where the fleet sets no limit).
    """

    def __init__(self, arms: list[Arm], workload: Workload, fleet: Fleet):
        if not arms:
            raise ValueError("no arms to plan over")
        names = [a.name for a in arms]
        if len(set(names)) != len(names):
            raise ValueError("two arms share one name (model, system and operating point)")
        # what build_arms left out (LLMs without a score, arms without a usable fit)
        # reaches every plan's warnings
        self.notices = list(getattr(arms, "notices", []))
        self.arms, self.workload, self.fleet = list(arms), workload, fleet
        self.groups, self.row_group = workload.groups()
        self.tin = self.groups["input_tokens"].to_numpy(float)
        self.tout = self.groups["output_tokens"].to_numpy(float)
        self.count = self.groups["count"].to_numpy(np.int64)
        self.n_queries = int(self.count.sum())
        self.tokens = self.tin + self.tout
        self.total_tokens = float(self.count @ self.tokens)
        if self.total_tokens <= 0:  # every ratio to the workload's tokens divides by it
            raise ValueError("the workload has no tokens to plan (every query has 0 tokens)")
        tasks = self.groups["task"].to_numpy()
        predicted = [a.predictions(self.tin, self.tout) for a in arms]
        self.energy_j, self.runtime_s, self.energy_floored, self.runtime_floored = (
            np.column_stack([p[i] for p in predicted]) for i in range(4)
        )
        self.in_range = np.column_stack([a.in_range(self.tin, self.tout) for a in arms])
        # a query longer than an arm's context cannot go to that arm
        self.allowed = np.column_stack([a.takes(self.tin, self.tout) for a in arms])
        self.context_tokens = np.array([a.context_tokens for a in arms], float)
        self.acc_pct = np.column_stack(
            [np.array([a.accuracy_for(t) for t in tasks], dtype=float) for a in arms]
        )
        self.acc_tokens = self.acc_pct * self.tokens[:, None]  # a = A_K(task) * (tin + tout)
        self.llms = sorted({a.llm for a in arms})
        self.systems = sorted({a.system for a in arms})
        self.arm_llm = np.array([self.llms.index(a.llm) for a in arms])
        self.arm_system = np.array([self.systems.index(a.system) for a in arms])
        self.devices_per_instance = np.array([a.devices_per_instance for a in arms], float)
        self.device_s = self.runtime_s * self.devices_per_instance[None, :]
        self.capacity_device_s = np.array([fleet.capacity_device_s(s) for s in self.systems])
        # a request's latency: tout x ITL at a serving arm's operating point, the runtime
        # (already predicted) where an arm serves one prompt at a time
        self.latency_s = np.column_stack(
            [
                self.runtime_s[:, k] if a.itl_ms_p50 is None else a.latency_s(self.tin, self.tout)
                for k, a in enumerate(arms)
            ]
        )
        self._idle_settings(arms, fleet)
        mean_device_s = float(self.count @ self.allowed_mean(self.device_s)) / max(
            self.n_queries, 1
        )
        # mean device-seconds per query (count-weighted, over the allowed arms): capacity
        # rows are divided by it so that their duals are costs per query, like the other rows'
        self.device_scale = mean_device_s if mean_device_s > 0 else 1.0
        self.min_queries = self._min_queries()

    def _idle_settings(self, arms: list[Arm], fleet: Fleet) -> None:
        """Per system: idle power per GPU and its source (NaN and "" where no arm of it
        carries one), the planning window (s) and the fleet's device count (NaN: none)."""
        self.idle_power_w = np.full(len(self.systems), np.nan)
        self.idle_source = [""] * len(self.systems)
        for arm, s in zip(arms, self.arm_system):
            if arm.idle_power_w is not None and np.isnan(self.idle_power_w[s]):
                self.idle_power_w[s] = max(float(arm.idle_power_w), 0.0)
                self.idle_source[s] = arm.idle_source
        specs = [fleet.system.get(s) for s in self.systems]
        self.window_s = np.array(
            [(spec.window_h if spec else SystemSpec().window_h) * S_PER_H for spec in specs]
        )
        self.devices = np.array(
            [np.nan if spec is None or spec.devices is None else spec.devices for spec in specs],
            float,
        )

    def idle(self, alloc: np.ndarray) -> pd.DataFrame:
        """Idle energy per system with an idle power: GPUs x window - busy GPU-seconds,
        times idle power per GPU (never below zero: a plan busier than its GPUs breaks the
        capacity and has no idle time; ``plan_warnings`` names the excess)."""
        a = np.asarray(alloc, dtype=float)
        busy_instance_s = (a * self.runtime_s).sum(axis=0)
        rows = []
        for s, system in enumerate(self.systems):
            if np.isnan(self.idle_power_w[s]):
                continue
            mine = np.flatnonzero(self.arm_system == s)
            busy_gpu_s = float(busy_instance_s[mine] @ self.devices_per_instance[mine])
            window_s = float(self.window_s[s])
            if np.isfinite(self.devices[s]):
                gpus = float(self.devices[s])
                basis = f"the fleet's {gpus:g} devices over the {window_s / S_PER_H:g} h window"
            else:
                instances = np.ceil(busy_instance_s[mine] / window_s - 1e-9)
                gpus = float(instances @ self.devices_per_instance[mine])
                basis = (
                    f"no device count set: the fewest whole instances that serve the busy "
                    f"time in the {window_s / S_PER_H:g} h window ({gpus:g} GPUs)"
                )
            idle_gpu_s = max(gpus * window_s - busy_gpu_s, 0.0)
            rows.append(
                {
                    "system": system,
                    "gpus": gpus,
                    "window_h": window_s / S_PER_H,
                    "busy_gpu_hours": busy_gpu_s / S_PER_H,
                    "idle_gpu_hours": idle_gpu_s / S_PER_H,
                    "idle_power_w": float(self.idle_power_w[s]),
                    "idle_energy_j": float(self.idle_power_w[s]) * idle_gpu_s,
                    "provisioning": basis,
                    "idle_source": self.idle_source[s],
                }
            )
        return pd.DataFrame(rows, columns=IDLE_COLUMNS)

    def allowed_mean(self, values: np.ndarray) -> np.ndarray:
        """Per group the mean of ``values`` over its allowed arms (0 where none is)."""
        n = self.allowed.sum(axis=1)
        return np.where(self.allowed, values, 0.0).sum(axis=1) / np.maximum(n, 1)

    def allowed_max(self, values: np.ndarray) -> float:
        """The largest of ``values`` over allowed columns (0 if none is)."""
        return (
            float(np.max(values, where=self.allowed, initial=-np.inf))
            if self.allowed.any()
            else 0.0
        )

    def allowed_min(self, values: np.ndarray, axis: int = 1) -> np.ndarray:
        """Per group (axis 1) the least of ``values`` over its allowed arms (inf if none)."""
        return np.min(np.where(self.allowed, values, np.inf), axis=axis)

    @property
    def shape(self) -> tuple[int, int]:
        return self.energy_j.shape

    def _min_queries(self) -> dict[str, int]:
        """max(1, N * gamma_K * min_share_fraction), rounded up, for LLMs given a share
        (keyed by the canonical LLM, whichever of its names the fleet used)."""
        out = {}
        for key, spec in self.fleet.llm.items():
            if spec.share is None:
                continue
            need = max(1.0, self.n_queries * spec.share * self.fleet.min_share_fraction)
            out[canonical_llm(key)] = int(math.ceil(need - 1e-9))
        return out

    def query_groups(self) -> tuple[np.ndarray, np.ndarray]:
        """(group, input row) of every query, in input order (rows repeated by count)."""
        counts = self.workload.queries["count"].to_numpy(np.int64)
        rows = np.repeat(np.arange(len(counts)), counts)
        return self.row_group[rows], rows

    def alloc_from_query_arms(self, query_arm: np.ndarray) -> np.ndarray:
        """Counts matrix from one arm index per query (input order)."""
        qg, _ = self.query_groups()
        alloc = np.zeros(self.shape, dtype=np.int64)
        np.add.at(alloc, (qg, query_arm), 1)
        return alloc

    def alloc_from_rows(self, row_alloc: np.ndarray) -> np.ndarray:
        """Counts matrix from per-input-row counts on each arm (rows x arms)."""
        alloc = np.zeros(self.shape, dtype=np.int64)
        np.add.at(alloc, self.row_group, np.asarray(row_alloc, dtype=np.int64))
        return alloc

    def query_arms_from_rows(self, row_alloc: np.ndarray) -> np.ndarray:
        """One arm per query in input order; a row's (identical) queries fill its arms in
        arm order."""
        n_arms = self.shape[1]
        arms = np.tile(np.arange(n_arms), len(row_alloc))
        return np.repeat(arms, np.asarray(row_alloc, dtype=np.int64).ravel())

    def query_arms(self, alloc: np.ndarray) -> np.ndarray:
        """One arm per query in input order: a group's queries fill its arms in arm order."""
        qg, _ = self.query_groups()
        order = np.argsort(qg, kind="stable")
        starts = np.concatenate([[0], np.cumsum(self.count)[:-1]])
        rank = np.empty(len(qg), dtype=np.int64)
        rank[order] = np.arange(len(qg)) - np.repeat(starts, self.count)
        cum = np.cumsum(np.rint(alloc).astype(np.int64), axis=1)
        return (cum[qg] <= rank[:, None]).sum(axis=1)

    def normalised(self) -> tuple[np.ndarray, np.ndarray]:
        """e / max e and a / max a over the (distinct query, arm) columns, the paper's
        normalisation.

        The largest values are over allowed columns (a query beyond an arm's context never
        goes there, and its extrapolated figure must not rescale every other).  Energies
        are floored predictions, never negative."""
        e_max = self.allowed_max(self.energy_j)
        a_max = self.allowed_max(self.acc_tokens)
        return (
            self.energy_j / (e_max if e_max > 0 else 1.0),
            self.acc_tokens / (a_max if a_max > 0 else 1.0),
        )

    def capacity_use(self, alloc: np.ndarray) -> np.ndarray:
        """Device-seconds used per system."""
        per_arm = np.sum(alloc * self.device_s, axis=0)
        return np.bincount(self.arm_system, weights=per_arm, minlength=len(self.systems))

    def violations(self, alloc: np.ndarray) -> list[str]:
        """Constraints an allocation breaks: every query served once, capacity, shares, and
        no query on an arm whose context it exceeds."""
        out = []
        served = np.rint(np.asarray(alloc, dtype=float).sum(axis=1)).astype(np.int64)
        if np.any(served != self.count) or np.any(np.asarray(alloc) < 0):
            out.append(
                f"serves {int(served.sum())} queries, not each of the {self.n_queries} exactly once"
            )
        used = self.capacity_use(alloc)
        for s, system in enumerate(self.systems):
            if used[s] > self.capacity_device_s[s] * (1 + 1e-6) + 1e-9:
                out.append(
                    f"{system} capacity {self.capacity_device_s[s] / S_PER_H:.3g} "
                    f"device-hours < {used[s] / S_PER_H:.3g} used"
                )
        served = np.bincount(self.arm_llm, weights=alloc.sum(axis=0), minlength=len(self.llms))
        for llm, need in self.min_queries.items():
            got = served[self.llms.index(llm)] if llm in self.llms else 0
            if got < need:
                out.append(f"{llm} serves {int(got)} queries < its minimum share {need}")
        beyond = (np.asarray(alloc) * ~self.allowed).sum(axis=0)
        for k in np.flatnonzero(beyond > 0):
            out.append(
                f"{int(beyond[k])} {'query' if beyond[k] == 1 else 'queries'} on "
                f"{self.arms[k].name} {'is' if beyond[k] == 1 else 'are'} longer than its context "
                f"of {self.context_tokens[k]:,.0f} tokens (it cannot take them)"
            )
        return out


@dataclass
class Plan:
    name: str
    status: str
    message: str
    objective_value: float | None
    solve_seconds: float
    energy_j: float
    energy_ci_j: tuple[float, float]
    runtime_s: float
    accuracy: float
    arms: pd.DataFrame
    alloc: np.ndarray = field(repr=False, default=None)
    data: PlanData | None = field(repr=False, default=None)
    objective: str = ""
    zeta: float | None = None
    min_accuracy: float | None = None
    violations: list[str] = field(default_factory=list)
    row_alloc: np.ndarray | None = field(repr=False, default=None)  # rows x arms, if known
    warnings: list[str] = field(default_factory=list)
    # ``message`` is the plain headline (and the next step, where there is one); ``detail``
    # the solver's technical account of how it ended
    detail: str = ""
    # energy of provisioned GPUs while they serve nothing (``PlanData.idle``), apart from
    # ``energy_j`` (active energy); ``idle`` holds it per system
    idle_energy_j: float = 0.0
    idle: pd.DataFrame | None = field(repr=False, default=None)

    @property
    def active_energy_j(self) -> float:
        """Energy of the queries served (what the objectives minimise): ``energy_j``."""
        return self.energy_j

    @property
    def total_energy_j(self) -> float:
        """Active plus idle energy (IT energy, before PUE)."""
        return self.energy_j + self.idle_energy_j

    @property
    def n_queries(self) -> int:
        return int(self.alloc.sum())

    @property
    def is_estimated(self) -> bool:
        return bool(self.arms.loc[self.arms["queries"] > 0, "is_estimated"].any())

    def assignments(self) -> pd.DataFrame:
        """One row per input query, in input order, with the (model, system) serving it (and
        the arm's name where it differs: several setups of one pair)."""
        d = self.data
        arm = (
            d.query_arms_from_rows(self.row_alloc)
            if self.row_alloc is not None
            else d.query_arms(self.alloc)
        )
        _, rows = d.query_groups()
        q = d.workload.queries
        out = pd.DataFrame(
            {
                "row": rows + 1,
                "input_tokens": q["input_tokens"].to_numpy()[rows],
                "output_tokens": q["output_tokens"].to_numpy()[rows],
                "task": q["task"].to_numpy()[rows],
                "model": np.array([a.model for a in d.arms], dtype=object)[arm],
                "system": np.array([a.system for a in d.arms], dtype=object)[arm],
            }
        )
        if any(a.key for a in d.arms):
            out["arm"] = np.array([a.name for a in d.arms], dtype=object)[arm]
        return out


def energy_interval(data: PlanData, alloc: np.ndarray, energy_j: float) -> tuple[float, float]:
    """95% interval on total energy from the fits' coefficient covariances: each arm's half
    width from ``planner.fits.curves.total_interval`` over the queries it serves (those whose
    prediction is clipped at zero are left out: they do not move with the coefficients; a
    query raised to its physical floor counts with the fit's uncertainty at the query);
    arms are fitted separately, so their variances add.  The lower end is never below
    zero.  NaN when a used arm has no covariance (nothing is made up)."""
    halves = []
    for k, arm in enumerate(data.arms):
        curve = arm.energy.curve
        used = (alloc[:, k] > 0) & ((data.energy_j[:, k] != 0) | (not curve.clip_negative))
        if not (alloc[:, k] > 0).any():
            continue
        if curve.coef_cov is None:
            return (math.nan, math.nan)
        if used.any():
            total, _, hi = total_interval(
                curve, data.tin[used], data.tout[used], alloc[used, k].astype(float), level=0.95
            )
            halves.append(hi - total)
    half = math.sqrt(sum(h * h for h in halves))
    return (max(energy_j - half, 0.0), energy_j + half)


def arms_table(data: PlanData, alloc: np.ndarray) -> pd.DataFrame:
    a = np.asarray(alloc, dtype=float)
    queries = a.sum(axis=0)
    energy = (a * data.energy_j).sum(axis=0)
    runtime = (a * data.runtime_s).sum(axis=0)
    device_h = (a * data.device_s).sum(axis=0) / S_PER_H
    latency = (a * data.latency_s).sum(axis=0)
    out_of_range = (a * ~data.in_range).sum(axis=0)
    floored = (a * (data.energy_floored | data.runtime_floored)).sum(axis=0)
    beyond = (a * ~data.allowed).sum(axis=0)
    rows = []
    for k, arm in enumerate(data.arms):
        label = arm.label()
        rows.append(
            {
                **{
                    key: label[key]
                    for key in (
                        "model",
                        "llm",
                        "system",
                        "form",
                        "energy_kind",
                        "energy_sources",
                        "is_estimated",
                    )
                },
                "queries": int(round(queries[k])),
                "energy_j": float(energy[k]),
                "runtime_s": float(runtime[k]),
                "device_hours": float(device_h[k]),
                "out_of_range_queries": int(round(out_of_range[k])),
                "floored_queries": int(round(floored[k])),
                "context_tokens": float(arm.context_tokens),
                "over_context_queries": int(round(beyond[k])),
                "arm": arm.name,
                "operating_point": arm.operating_point,
                "gpus_per_instance": int(arm.devices_per_instance),
                "mean_latency_s": float(latency[k] / queries[k]) if queries[k] else math.nan,
                "itl_ms_p90": math.nan if arm.itl_ms_p90 is None else float(arm.itl_ms_p90),
                "notes": label["notes"],
            }
        )
    return pd.DataFrame(rows)


def plan_warnings(data: PlanData, alloc: np.ndarray) -> list[str]:
    """What a reader of the plan's figures should know about the fits behind them."""
    a = np.asarray(alloc, dtype=float)
    out = []
    outside = int(round(float((a * ~data.in_range).sum())))
    if outside:
        out.append(
            f"{outside} queries are served by arms whose fits did not cover their "
            "token counts (extrapolated)"
        )
    for k, arm in enumerate(data.arms):
        energy = int(round(float((a[:, k] * data.energy_floored[:, k]).sum())))
        runtime = int(round(float((a[:, k] * data.runtime_floored[:, k]).sum())))
        if energy or runtime:
            what = " and ".join(
                f"the {t} of {n} {'query' if n == 1 else 'queries'}"
                for n, t in ((energy, "energy"), (runtime, "runtime"))
                if n
            )
            out.append(
                f"{arm.name}: {what} raised to the physical floor: its {arm.form}-form fit "
                "predicted less for them than for a shorter query (some below zero), so each "
                "gets the fit's figure for the measured query it dominates instead"
            )
    used = a.sum(axis=0) > 0
    estimated = [arm.name for arm, u in zip(data.arms, used) if u and arm.is_estimated]
    if estimated:
        out.append("energy of " + ", ".join(estimated) + " is estimated, not measured")
    for arm, u in zip(data.arms, used):
        out.extend(f"{arm.name}: {note}" for note in arm.notes if u)
    for row in data.idle(a).itertuples(index=False):
        # idle time is floored at 0 there: say by how much the plan overran the GPUs
        excess_h = row.busy_gpu_hours - row.gpus * row.window_h
        if excess_h > 1e-9 * max(row.busy_gpu_hours, 1.0):
            out.append(
                f"{row.system}: the plan keeps its GPUs busy {row.busy_gpu_hours:.4g} GPU-hours, "
                f"{excess_h:.3g} GPU-hours more than its {row.gpus:g} GPUs x {row.window_h:g} h "
                "window hold: idle energy counted as 0 for it, and the plan does not fit"
            )
    out.extend(data.notices)
    return out


def make_plan(
    data: PlanData,
    alloc: np.ndarray,
    *,
    name: str,
    status: str = "optimal",
    message: str = "",
    objective_value: float | None = None,
    solve_seconds: float = 0.0,
    **extra,
) -> Plan:
    """A Plan with every figure computed from the allocation."""
    alloc = np.asarray(alloc)
    energy = float(np.sum(alloc * data.energy_j))
    idle = data.idle(alloc)
    return Plan(
        name=name,
        status=status,
        message=message,
        objective_value=objective_value,
        solve_seconds=solve_seconds,
        energy_j=energy,
        energy_ci_j=energy_interval(data, alloc, energy),
        runtime_s=float(np.sum(alloc * data.runtime_s)),
        accuracy=float(np.sum(alloc * data.acc_tokens)) / max(data.total_tokens, 1e-300),
        arms=arms_table(data, alloc),
        alloc=alloc,
        data=data,
        violations=data.violations(alloc),
        warnings=plan_warnings(data, alloc),
        idle_energy_j=float(idle["idle_energy_j"].sum()),
        idle=idle,
        **extra,
    )
