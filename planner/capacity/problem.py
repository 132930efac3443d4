"""The capacity plan as one mixed-integer program: instances of which option, slot by slot.

Data.  Slots t = 0..T-1 of S seconds each; W_t output tokens to serve in slot t that must
be served in it, and deferrable classes k (tokens D_k arriving in slot a_k that may be
served in any slot a_k..d_k).  Options o (``planner.capacity.options``): an arm (LLM,
system, GPUs g_o per instance) at one operating point: energy per output token e_o (J),
output tokens per second of one instance T_o, per-GPU idle power P_o (W), accuracy A_o (%).
The facility's PUE; per slot a carbon intensity I_t (g/kWh) and an electricity price
p_t (per kWh); a price per GPU-hour h_o of the option's system; per system s at most G_s
GPUs; a utilisation cap u (default 1).

Variables (vectorised, T x O): n[t, o] >= 0 integer, the instances provisioned;
w[t, o] >= 0, the output tokens they serve (the share of the slot's requests is
x = w / sum_o w[t, o]: requests are shared in proportion to tokens); f[k, t] >= 0 the
tokens of deferrable class k served in slot t (a variable only for a_k <= t <= d_k).

Rows:

- demand:    sum_o w[t, o] = W_t + sum_k f[k, t]           every request is served once;
- deferral:  sum_t f[k, t] = D_k                           and before its deadline;
- capacity:  w[t, o] <= u * T_o * S * n[t, o]              within what the instances
  sustain at their operating point.  This row and the integer instance counts follow
  Mélange (Griggs et al., "Mélange: Cost Efficient Large Language Model Serving by
  Exploiting GPU Heterogeneity", 2024), whose integer program sizes the count of each GPU
  type so that the load routed to it stays within its maximum throughput under the TPOT
  SLO, for cost only; here per slot and per operating point, with energy, idle power,
  accuracy and the grid added;
- GPUs:      sum_{o on s} g_o * n[t, o] <= G_s            per system with a limit;
- accuracy floor (optional): sum A_o w[t, o] >= A * sum_t (W_t + sum_k D_k).

Latency targets are no row: options above them never enter (``options.apply_targets``).

Energy of option o in slot t (J): while serving, an instance runs at its operating point;
otherwise its GPUs idle:

    active = e_o w,   busy time = w / T_o,
    idle   = P_o g_o (S n - w / T_o)        (>= 0 by the capacity row, u <= 1),
    energy = PUE (active + idle) = PUE ((e_o - P_o g_o / T_o) w + P_o g_o S n).

Objectives (``OBJECTIVES``), each linear in (n, w) with per-slot coefficients
(``Coefficients``): ``energy`` (J); ``carbon`` (kg CO2e: energy x I_t); ``cost`` (GPU-hours
x h_o + energy x p_t).  With a trade-off zeta in [0, 1] (Wilkins, Keshav and Mortier,
HotCarbon '24): minimise zeta * objective / scale - (1 - zeta) * sum A_o w / (A_max W),
scale being what the costliest option would spend serving the whole load at full
utilisation (so both terms lie in about [0, 1]); zeta = 1 (no trade-off) is the objective
alone.

Solving: without deferrable classes or an accuracy floor nothing couples the slots, and
each slot is its own small MILP: one cvxpy problem with parameters (DPP: compiled once,
re-solved per slot).  Otherwise one MILP over all slots.  HiGHS solves it; the status is
checked and an infeasible program raises ``InfeasibleCapacityError`` naming the constraint.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field, replace

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from planner.quantities import G_PER_KG, J_PER_KWH, S_PER_H

__all__ = [
    "OBJECTIVES",
    "CapacityData",
    "CapacitySolution",
    "InfeasibleCapacityError",
    "Coefficients",
    "coefficients",
    "energy_terms",
    "objective_terms",
    "select_options",
    "solve",
]

OBJECTIVES = ("energy", "carbon", "cost")
MIP_REL_GAP = 1e-6
# Slots coupled by deferral or an accuracy floor are one MILP whose proof of optimality can
# take long (each slot's rounding up of instances weakens the LP bound): it stops at this
# limit unless the caller gives one, keeping the best plan found and HiGHS's proven gap.
COUPLED_TIME_LIMIT_S = 20.0
ENUMERATE_LIMIT = 4096  # instance-count vectors a slot may have to be solved by comparison


class InfeasibleCapacityError(ValueError):
    """No plan meets the constraints; the message names the one that cannot be met."""


@dataclass
class CapacityData:
    """Everything the MILP needs, as plain arrays (O options, T slots)."""

    slot_s: float
    demand_tokens: np.ndarray  # (T,) output tokens that must be served in their slot
    energy_per_token_j: np.ndarray  # (O,)
    throughput_tps: np.ndarray  # (O,)
    gpus: np.ndarray  # (O,) GPUs per instance
    idle_power_w: np.ndarray  # (O,) per GPU
    accuracy: np.ndarray  # (O,) percent; NaN unknown
    system: np.ndarray  # (O,) system names
    pue: float = 1.0
    intensity_g_per_kwh: np.ndarray | None = None  # (T,)
    price_per_kwh: np.ndarray | None = None  # (T,)
    gpu_hour_price: np.ndarray | None = None  # (O,)
    gpu_limits: dict[str, int] = field(default_factory=dict)
    utilisation: float = 1.0
    # deferrable classes: (arrival slot, latest slot, output tokens)
    deferrable: list[tuple[int, int, float]] = field(default_factory=list)

    @property
    def n_slots(self) -> int:
        return len(self.demand_tokens)

    @property
    def n_options(self) -> int:
        return len(self.energy_per_token_j)

    @property
    def capacity_tokens(self) -> np.ndarray:
        """(O,) output tokens one instance serves in one slot at its operating point."""
        return self.utilisation * self.throughput_tps * self.slot_s

    def total_tokens(self) -> float:
        return float(self.demand_tokens.sum() + sum(d for _, _, d in self.deferrable))


@dataclass
class Coefficients:
    """The objective per slot: ``per_token`` (T, O) per output token served and
    ``per_instance`` (T, O) per instance provisioned, in the objective's units."""

    per_token: np.ndarray
    per_instance: np.ndarray


def energy_terms(d: CapacityData, n: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(active, idle) energy in J per (slot, option), facility PUE included."""
    active = d.pue * d.energy_per_token_j * w
    busy_s = w / d.throughput_tps
    idle = d.pue * d.idle_power_w * d.gpus * np.maximum(d.slot_s * n - busy_s, 0.0)
    return active, idle


def coefficients(d: CapacityData, objective: str) -> Coefficients:
    """Linear coefficients of ``objective`` (energy J, carbon kg, cost) per (slot, option)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}: use one of {', '.join(OBJECTIVES)}")
    idle_per_gpu_s = d.idle_power_w * d.gpus  # W per instance while idle
    tok_j = d.pue * (d.energy_per_token_j - idle_per_gpu_s / d.throughput_tps)
    inst_j = d.pue * idle_per_gpu_s * d.slot_s
    shape = (d.n_slots, d.n_options)
    tok, inst = np.broadcast_to(tok_j, shape).copy(), np.broadcast_to(inst_j, shape).copy()
    if objective == "energy":
        return Coefficients(tok, inst)
    if objective == "carbon":
        if d.intensity_g_per_kwh is None:
            raise ValueError(
                "objective carbon needs a carbon intensity: a --grid file or "
                "[facility] carbon_g_per_kwh in the fleet"
            )
        kg_per_j = (d.intensity_g_per_kwh / G_PER_KG / J_PER_KWH)[:, None]
        return Coefficients(tok * kg_per_j, inst * kg_per_j)
    if d.price_per_kwh is None or d.gpu_hour_price is None or np.isnan(d.gpu_hour_price).any():
        raise ValueError(
            "objective cost needs an electricity price (a --grid file or [facility] "
            "price_per_kwh) and a price per GPU-hour for every system (--gpu-hour-price)"
        )
    per_j = (d.price_per_kwh / J_PER_KWH)[:, None]
    gpu_h = d.gpus * d.gpu_hour_price * d.slot_s / S_PER_H
    return Coefficients(tok * per_j, inst * per_j + gpu_h[None, :])


def objective_terms(
    d: CapacityData, objective: str, zeta: float | None
) -> tuple[Coefficients, float]:
    """(the coefficients the MILP minimises, the objective's scale): with a trade-off,
    zeta x objective / scale - (1 - zeta) x accuracy share; without, the objective."""
    c = coefficients(d, objective)
    if zeta is None:
        return c, 1.0
    if not 0.0 <= float(zeta) <= 1.0:
        raise ValueError(f"zeta must be in [0, 1], got {zeta}")
    full_load = c.per_token + c.per_instance / d.capacity_tokens  # per token at full load
    total = d.demand_tokens.astype(float).copy()
    for a, _, tokens in d.deferrable:
        total[a] += tokens
    scale = float(np.sum(total * full_load.max(axis=1))) or 1.0
    acc = np.nan_to_num(d.accuracy, nan=0.0)
    acc_max = float(acc.max()) or 1.0
    acc_per_token = acc / (acc_max * max(d.total_tokens(), 1e-12))
    z = float(zeta)
    return (
        Coefficients(
            z * c.per_token / scale - (1.0 - z) * acc_per_token[None, :],
            z * c.per_instance / scale,
        ),
        scale,
    )


@dataclass
class CapacitySolution:
    """Instances ``n`` (T, O, integers) and tokens ``w`` (T, O) served; ``flows`` (K, T)
    tokens of each deferrable class served per slot; how it was solved."""

    n: np.ndarray
    w: np.ndarray
    flows: np.ndarray
    status: str
    seconds: float
    method: str
    value: float
    gap: float = 0.0  # HiGHS's relative MIP gap where stopped by the time limit


def _highs_options(time_limit_s: float | None) -> dict:
    opts = {"mip_rel_gap": MIP_REL_GAP, "output_flag": False}
    if time_limit_s is not None:
        opts["time_limit"] = float(max(time_limit_s, 1e-3))
    return opts


class _Model:
    """The cvxpy model for ``n_slots`` slots: variables, rows, and the data either as
    parameters (``values`` None: one compiled model re-solved per slot with ``set``) or as
    constants (``values`` = (demand, per_token, per_instance, n_max): solved once; a
    parametrised model this large would cost a gigabyte to compile)."""

    def __init__(
        self,
        d: CapacityData,
        n_slots: int,
        *,
        floor: float | None,
        flows: bool,
        values: tuple | None = None,
    ):
        shape = (n_slots, d.n_options)
        self.n = cp.Variable(shape, integer=True)
        self.w = cp.Variable(shape, nonneg=True)
        # HiGHS works to absolute tolerances (1e-7): tokens (1e7 a slot) and costs per
        # token (1e-8 kg) are rescaled to about 1 -- w in units of the largest instance's
        # capacity, the objective in units of its largest coefficient (``_scaled``)
        self.unit = float(d.capacity_tokens.max())
        self.scale = 1.0
        if values is None:
            self.demand = cp.Parameter(n_slots, nonneg=True)
            self.per_token = cp.Parameter(shape)
            self.per_instance = cp.Parameter(shape)
            self.n_max = cp.Parameter(shape, nonneg=True)
        else:
            self.demand, self.per_token, self.per_instance, self.n_max = self._scaled(*values)
        cap = d.capacity_tokens / self.unit
        served = cp.sum(self.w, axis=1)
        cons = {
            "capacity": self.w <= cp.multiply(np.broadcast_to(cap, shape), self.n),
            "instances": self.n >= 0,
            "bound": self.n <= self.n_max,
        }
        self.flow = None
        if flows and d.deferrable:
            # one variable per (class, slot in its window) only: sparse maps to the
            # classes (deferral rows) and to the slots (their demand)
            k_idx = np.concatenate(
                [np.full(last - a + 1, k) for k, (a, last, _) in enumerate(d.deferrable)]
            )
            t_idx = np.concatenate([np.arange(a, last + 1) for a, last, _ in d.deferrable])
            ones = np.ones(len(k_idx))
            by_class = sp.csr_matrix((ones, (k_idx, np.arange(len(k_idx)))))
            self.to_slot = sp.csr_matrix(
                (ones, (t_idx, np.arange(len(t_idx)))), shape=(n_slots, len(t_idx))
            )
            self.flow_index = (k_idx, t_idx)
            self.flow = cp.Variable(len(k_idx), nonneg=True)
            tokens = np.array([t for _, _, t in d.deferrable], dtype=float) / self.unit
            cons["deferral"] = by_class @ self.flow == tokens
            served_needed = self.demand + self.to_slot @ self.flow
        else:
            served_needed = self.demand
        cons["demand"] = served == served_needed
        for system, limit in d.gpu_limits.items():
            on = (d.system == system).astype(float) * d.gpus
            if on.any():
                cons[f"gpus:{system}"] = self.n @ on <= float(limit)
        if floor is not None:
            acc = np.nan_to_num(d.accuracy, nan=0.0)
            cons["accuracy"] = cp.sum(self.w @ acc) >= floor * d.total_tokens() / self.unit
        self.cons = cons
        objective = cp.sum(cp.multiply(self.per_token, self.w)) + cp.sum(
            cp.multiply(self.per_instance, self.n)
        )
        self.problem = cp.Problem(cp.Minimize(objective), list(cons.values()))

    def _scaled(self, demand, per_token, per_instance, n_max) -> tuple:
        tok = per_token * self.unit
        self.scale = float(max(np.abs(tok).max(), np.abs(per_instance).max(), 1e-300))
        return (
            np.asarray(demand, dtype=float) / self.unit,
            tok / self.scale,
            per_instance / self.scale,
            n_max,
        )

    def set(self, demand, per_token, per_instance, n_max) -> None:
        """The data of the slots to solve, rescaled (see ``__init__``)."""
        scaled = self._scaled(demand, per_token, per_instance, n_max)
        for param, value in zip(
            (self.demand, self.per_token, self.per_instance, self.n_max), scaled
        ):
            param.value = value

    def result(self):
        """(n, w in tokens, flows in tokens or None, objective value in its units)."""
        flow = None
        if self.flow is not None:
            k_idx, t_idx = self.flow_index
            flow = np.zeros((k_idx.max() + 1, self.n.shape[0]))
            flow[k_idx, t_idx] = self.flow.value * self.unit
        value = float(self.problem.value) * self.scale
        return self.n.value, self.w.value * self.unit, flow, value

    def gap(self) -> float:
        info = self.problem.solver_stats.extra_stats if self.problem.solver_stats else None
        gap = getattr(info, "mip_gap", None)
        return float(gap) if gap is not None and np.isfinite(gap) else float("nan")

    def solve(self, time_limit_s: float | None) -> str:
        from planner.routing._lp import silence_highs_banner

        silence_highs_banner()
        with warnings.catch_warnings():  # the status is checked by the caller
            warnings.filterwarnings("ignore", message="Solution may be inaccurate")
            try:
                self.problem.solve(solver=cp.HIGHS, highs_options=_highs_options(time_limit_s))
            except cp.error.SolverError as exc:
                return f"solver_error: {exc}"
        return str(self.problem.status)


def _n_max(d: CapacityData, demand: np.ndarray) -> np.ndarray:
    """(T, O) the most instances any optimal plan provisions: enough for the slot's whole
    demand (plus every deferrable token that may land there) on that option alone."""
    need = demand.astype(float).copy()
    for a, last, tokens in d.deferrable:
        need[a : last + 1] += tokens
    n_max = np.ceil(need[:, None] / d.capacity_tokens[None, :])
    for system, limit in d.gpu_limits.items():
        on = d.system == system
        n_max[:, on] = np.minimum(n_max[:, on], np.floor(limit / d.gpus[on]))
    return n_max


def _dominated(d: CapacityData, coef: Coefficients, floor: float | None) -> np.ndarray:
    """(O,) options another option beats in every slot: per-token cost and per-instance
    cost no higher, capacity no lower, accuracy no lower (under a floor), and GPUs no
    scarcer (its system has no limit, or it is the same system with no more GPUs per
    instance).  Any plan using a dominated option does as well with its dominator at the
    same instance counts, so removing it changes no optimum (of equal options, the first
    stays)."""
    cap = d.capacity_tokens
    c, F = coef.per_token, coef.per_instance  # noqa: N806
    acc = np.nan_to_num(d.accuracy, nan=-np.inf)
    out = np.zeros(d.n_options, dtype=bool)
    for i in range(d.n_options):
        better = (
            np.all(c <= c[:, [i]], axis=0) & np.all(F <= F[:, [i]], axis=0) & (cap >= cap[i]) & ~out
        )
        if floor is not None:
            better &= acc >= acc[i]
        if d.gpu_limits:
            unlimited = np.array([s not in d.gpu_limits for s in d.system])
            better &= unlimited | ((d.system == d.system[i]) & (d.gpus <= d.gpus[i]))
        better[i] = False
        strictly = np.any(c < c[:, [i]], axis=0) | np.any(F < F[:, [i]], axis=0) | (cap > cap[i])
        if floor is not None:
            strictly |= acc > acc[i]
        # a strictly better option, or an equal one listed earlier
        if np.any(better & (strictly | (np.arange(d.n_options) < i))):
            out[i] = True
    return out


def _slot_prune(d: CapacityData, coef: Coefficients, n_max: np.ndarray) -> np.ndarray:
    """(T, O) n_max with 0 for options no optimal plan of their slot uses (slots solved
    alone): a bound argument, exact.

    With f_o = c_o + F_o / C_o the per-token cost at full load (c per token, F per
    instance, C tokens per instance), any plan costs at least f_min W (GPU limits only
    raise it); one that provisions option o costs at least
    f_min W + min(F_o, F_o + (c_o - f_min) min(W, C_o)) (its first instance, full or not).
    Two plans are feasible where they fit the GPU limits: the best single option
    (c_o W + F_o ceil(W / C_o)), and full instances of the least-f option with the
    remainder on whichever option serves it cheapest.  An option whose bound exceeds the
    better of them is in no optimal plan.
    """
    cap = d.capacity_tokens[None, :]
    W = d.demand_tokens.astype(float)[:, None]  # noqa: N806
    c, F = coef.per_token, coef.per_instance  # noqa: N806
    f = c + F / cap
    f_min = f.min(axis=1, keepdims=True)
    gpus = d.gpus.astype(float)
    limit = np.array([d.gpu_limits.get(s, np.inf) for s in d.system], dtype=float)
    single_n = np.ceil(W / cap)
    single = np.where(single_n * gpus <= limit, c * W + F * single_n, np.inf)
    upper = single.min(axis=1)
    rows = np.arange(len(W))
    best = np.argmin(f, axis=1)
    k = np.floor(W[:, 0] / cap[0, best])
    r = np.maximum(W[:, 0] - k * cap[0, best], 0.0)[:, None]
    rest_n = np.ceil(r / cap)
    same = d.system[None, :] == d.system[best][:, None]
    used = rest_n * gpus + np.where(same, (k * gpus[best])[:, None], 0.0)
    fits = (used <= limit) & ((k * gpus[best]) <= limit[best])[:, None]
    rest = np.where(fits, c * r + F * rest_n, np.inf).min(axis=1)
    upper = np.minimum(upper, k * (c[rows, best] * cap[0, best] + F[rows, best]) + rest)
    upper = upper[:, None]
    lower = f_min * W + np.minimum(F, F + (c - f_min) * np.minimum(W, cap))
    slack = 1e-9 * np.maximum(np.abs(upper), 1e-12)
    return np.where(np.isfinite(upper) & (lower > upper + slack), 0.0, n_max)


def select_options(d: CapacityData, keep: np.ndarray) -> CapacityData:
    """The data of the options ``keep`` only."""
    price = None if d.gpu_hour_price is None else d.gpu_hour_price[keep]
    return replace(
        d,
        energy_per_token_j=d.energy_per_token_j[keep],
        throughput_tps=d.throughput_tps[keep],
        gpus=d.gpus[keep],
        idle_power_w=d.idle_power_w[keep],
        accuracy=d.accuracy[keep],
        system=d.system[keep],
        gpu_hour_price=price,
    )


def _enumerate_slot(d: CapacityData, coef: Coefficients, t: int, n_max_t, limit: int):
    """(n, w, value) of slot t by comparing every instance-count vector of its candidate
    options (at most ``limit`` of them), or None when there are more.  For given counts the
    best split of tokens fills the options in order of cost per token (an LP over a box
    with one sum row), so the comparison is exact."""
    alive = np.flatnonzero(n_max_t > 0)
    W = float(d.demand_tokens[t])  # noqa: N806
    if len(alive) == 0 or np.prod(n_max_t[alive] + 1.0) > limit:
        return None
    grids = np.meshgrid(*[np.arange(int(n_max_t[o]) + 1) for o in alive], indexing="ij")
    counts = np.stack([g.ravel() for g in grids], axis=1).astype(float)  # (M, A)
    cap = counts * d.capacity_tokens[alive]
    ok = cap.sum(axis=1) >= W * (1 - 1e-12)
    for system, lim in d.gpu_limits.items():
        on = d.system[alive] == system
        if on.any():
            ok &= counts[:, on] @ d.gpus[alive][on] <= lim
    if not ok.any():
        return None  # let the MILP say which constraint fails
    counts, cap = counts[ok], cap[ok]
    c = coef.per_token[t, alive]
    order = np.argsort(c, kind="stable")
    filled = np.minimum(np.cumsum(cap[:, order], axis=1), W)
    w_sorted = np.diff(np.concatenate([np.zeros((len(cap), 1)), filled], axis=1), axis=1)
    w_alive = np.empty_like(w_sorted)
    w_alive[:, order] = w_sorted
    values = w_alive @ c + counts @ coef.per_instance[t, alive]
    best = int(np.argmin(values))
    n_t = np.zeros(d.n_options)
    w_t = np.zeros(d.n_options)
    n_t[alive], w_t[alive] = counts[best], w_alive[best]
    return n_t, w_t, float(values[best])


def _diagnose(d: CapacityData, floor: float | None) -> str:
    """Which constraint a plan cannot meet, in words."""
    cap = d.capacity_tokens
    per_gpu = cap / d.gpus
    need = d.demand_tokens.astype(float).copy()
    for a, _, tokens in d.deferrable:
        need[a] += tokens  # at least, somewhere in the window
    peak = float(need.max())
    unlimited = [s for s in set(d.system) if s not in d.gpu_limits]
    if not unlimited:
        can = sum(
            float(limit) * float(per_gpu[d.system == s].max())
            for s, limit in d.gpu_limits.items()
            if (d.system == s).any()
        )
        if peak > can * (1 + 1e-9):
            limits = ", ".join(f"{s} {limit} GPUs" for s, limit in d.gpu_limits.items())
            return (
                f"GPU limits ({limits}) serve at most {can:,.0f} output tokens per slot at "
                f"the best operating points, below the peak slot's {peak:,.0f}: raise a "
                "[system] devices limit in the fleet"
            )
    if floor is not None:
        best = float(np.nanmax(d.accuracy)) if np.isfinite(d.accuracy).any() else 0.0
        if floor > best + 1e-9:
            return f"accuracy floor {floor:g} % is above the most accurate option's {best:g} %"
        return (
            f"accuracy floor {floor:g} % cannot be met within the GPU limits: lower it or "
            "raise a [system] devices limit"
        )
    return "the GPU limits and deadlines cannot be met together"


def solve(
    d: CapacityData,
    objective: str = "energy",
    *,
    zeta: float | None = None,
    min_accuracy: float | None = None,
    time_limit_s: float | None = None,
    enumerate_limit: int = ENUMERATE_LIMIT,
) -> CapacitySolution:
    """The optimal plan; raises InfeasibleCapacityError naming the constraint.

    ``enumerate_limit``: a slot whose options left by the bound (``_slot_prune``) allow at
    most this many instance-count vectors is solved by comparing them all (exact, and far
    quicker than a MILP's fixed cost of some 20 ms); 0 sends every slot to HiGHS."""
    t0 = time.perf_counter()
    coef, _ = objective_terms(d, objective, zeta)
    if min_accuracy is not None:
        acc = d.accuracy
        if not np.isfinite(acc).any():
            raise InfeasibleCapacityError("an accuracy floor needs options with accuracy scores")
    n_max = _n_max(d, d.demand_tokens)
    n_max[:, _dominated(d, coef, min_accuracy)] = 0.0
    coupled = bool(d.deferrable) or min_accuracy is not None
    T, n_opt = d.n_slots, d.n_options  # noqa: N806
    n = np.zeros((T, n_opt))
    w = np.zeros((T, n_opt))
    flows = np.zeros((len(d.deferrable), T))
    value = 0.0
    if coupled:
        # options no slot can use (dominated) leave the model
        keep = n_max.max(axis=0) > 0
        if not keep.any():  # nothing to serve anywhere: any option will do
            keep[:] = True
        sub = select_options(d, keep)
        model = _Model(
            sub,
            T,
            floor=min_accuracy,
            flows=True,
            values=(d.demand_tokens, coef.per_token[:, keep], coef.per_instance[:, keep],
                    n_max[:, keep]),
        )  # fmt: skip
        limit = COUPLED_TIME_LIMIT_S if time_limit_s is None else time_limit_s
        status = model.solve(limit)
        gap = 0.0
        if status == "user_limit" and model.n.value is not None:
            gap = model.gap()
            status = "time_limit"
        else:
            _check(status, d, min_accuracy)
        n_sub, w_sub, flow, value = model.result()
        n[:, keep], w[:, keep] = n_sub, w_sub
        if flow is not None:
            flows = flow
        method = (
            f"one MILP over {T} slots x {int(keep.sum())} options (slots coupled; "
            f"{n_opt - int(keep.sum())} dominated options left out)"
        )
        if status == "time_limit":
            method += (
                f", stopped at the {limit:g} s time limit: the best plan found, within "
                f"{100 * gap:.2g} % of the optimum (HiGHS's bound), not proven optimal"
            )
    else:
        model = _Model(d, 1, floor=None, flows=False)
        n_max = _slot_prune(d, coef, n_max)
        status = "optimal"
        enumerated = 0
        for t in range(T):
            if d.demand_tokens[t] <= 0:
                continue
            small = _enumerate_slot(d, coef, t, n_max[t], enumerate_limit)
            if small is not None:  # few candidate plans: every one of them compared
                n[t], w[t], v = small
                value += v
                enumerated += 1
                continue
            model.set(
                d.demand_tokens[t : t + 1],
                coef.per_token[t : t + 1],
                coef.per_instance[t : t + 1],
                n_max[t : t + 1],
            )
            left = None if time_limit_s is None else time_limit_s - (time.perf_counter() - t0)
            status = model.solve(left)
            _check(status, d, None, slot=t)
            n_t, w_t, _, v = model.result()
            n[t], w[t] = n_t[0], w_t[0]
            value += v
        method = (
            f"{T} independent slots x {n_opt} options (nothing couples the slots): "
            f"{T - enumerated} solved as MILPs by HiGHS, {enumerated} with so few candidate "
            "plans left by the bound that all were compared"
        )
    n = np.rint(np.maximum(n, 0.0))
    w = np.maximum(w, 0.0)
    # the capacity row holds up to the solver's tolerance; clip w onto it so that no
    # figure shows a load above capacity (or negative idle time)
    w = np.minimum(w, n * d.capacity_tokens[None, :])
    return CapacitySolution(
        n.astype(np.int64),
        w,
        np.maximum(flows, 0.0),
        status,
        time.perf_counter() - t0,
        method,
        value,
        gap if coupled else 0.0,
    )


def _check(status: str, d: CapacityData, floor, slot: int | None = None) -> None:
    if status in ("optimal", "optimal_inaccurate"):
        return
    if status.startswith("infeasible"):
        where = f" (slot {slot})" if slot is not None else ""
        raise InfeasibleCapacityError(f"no capacity plan{where}: {_diagnose(d, floor)}")
    if status == "user_limit":
        raise TimeoutError("the time limit ended before a capacity plan was proven optimal")
    raise RuntimeError(f"the solver failed: {status}")
