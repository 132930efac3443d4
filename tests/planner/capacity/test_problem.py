"""The capacity MILP: a hand-checked case, brute force on random instances, feasibility."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from scipy.optimize import linprog

from planner.capacity.problem import (
    CapacityData,
    InfeasibleCapacityError,
    energy_terms,
    objective_terms,
    solve,
)


def two_options(**kw) -> CapacityData:
    """A: 1 J/token, 100 tok/s, 1 GPU idling at 10 W; B: 0.5 J/token, 50 tok/s, 2 GPUs at
    20 W each.  Slots of 10 s: A serves 1000 tokens per instance, B 500."""
    base = dict(
        slot_s=10.0,
        demand_tokens=np.array([1500.0, 400.0]),
        energy_per_token_j=np.array([1.0, 0.5]),
        throughput_tps=np.array([100.0, 50.0]),
        gpus=np.array([1, 2]),
        idle_power_w=np.array([10.0, 20.0]),
        accuracy=np.array([60.0, 50.0]),
        system=np.array(["A100", "H100"]),
    )
    base.update(kw)
    return CapacityData(**base)


@pytest.mark.parametrize("enumerate_limit", [0, 4096])
def test_two_slots_two_options_by_hand(enumerate_limit):
    # Slot 0 (1500 tokens): 3 x B busy the whole slot: 0.5 J x 1500 = 750 J, no idle.
    #   (2 x A: 1500 J active + 500 tokens' worth of idle: 5 s x 10 W = 50 J -> 1550 J.)
    # Slot 1 (400 tokens): 1 x B: 200 J active + 40 W x (10 - 8) s idle = 280 J.
    #   (1 x A: 400 J + 10 W x 6 s = 460 J.)
    d = two_options()
    sol = solve(d, enumerate_limit=enumerate_limit)
    assert sol.n.tolist() == [[0, 3], [0, 1]]
    active, idle = energy_terms(d, sol.n, sol.w)
    assert active.sum() == pytest.approx(750 + 200)
    assert idle.sum() == pytest.approx(80)
    assert sol.value == pytest.approx(1030)


@pytest.mark.parametrize("enumerate_limit", [0, 4096])
def test_gpu_limit_by_hand(enumerate_limit):
    # At most 4 H100 GPUs (2 x B, 1000 tokens): slot 0 needs A for the other 500:
    # B 2 x 500 J, busy all slot = 500 J; A: 500 J active + 10 W x 5 s = 50 J -> 1050 J.
    d = two_options(gpu_limits={"H100": 4})
    sol = solve(d, enumerate_limit=enumerate_limit)
    assert sol.n.tolist() == [[1, 2], [0, 1]]
    assert sol.w[0].tolist() == pytest.approx([500, 1000])
    assert sol.value == pytest.approx(1050 + 280)


def test_pue_scales_energy_and_infeasible_limit_named():
    d = two_options(pue=1.5)
    assert solve(d).value == pytest.approx(1.5 * 1030)
    with pytest.raises(InfeasibleCapacityError, match="GPU limits"):
        solve(two_options(gpu_limits={"H100": 2, "A100": 0}), enumerate_limit=0)


def brute_force(d: CapacityData, coef) -> float:
    """Least objective over every instance-count vector per slot, tokens by an LP."""
    total = 0.0
    cap = d.capacity_tokens
    for t in range(d.n_slots):
        W = d.demand_tokens[t]  # noqa: N806
        best = np.inf
        n_max = np.ceil(W / cap).astype(int)
        for n in itertools.product(*[range(m + 1) for m in n_max]):
            n = np.array(n, dtype=float)
            if any(
                n[d.system == s] @ d.gpus[d.system == s] > lim for s, lim in d.gpu_limits.items()
            ):
                continue
            if n @ cap < W:
                continue
            lp = linprog(
                coef.per_token[t],
                A_eq=np.ones((1, d.n_options)),
                b_eq=[W],
                bounds=list(zip(np.zeros(d.n_options), n * cap)),
                method="highs",
            )
            best = min(best, lp.fun + coef.per_instance[t] @ n)
        total += best
    return total


@pytest.mark.parametrize("seed", range(12))
def test_random_small_instances_equal_brute_force(seed):
    rng = np.random.default_rng(seed)
    n_opt = int(rng.integers(2, 4))
    T = 2  # noqa: N806
    # half the seeds at a real service's magnitudes: 1e7 tokens a slot, 1e-9 kg per token
    big = 1e4 if seed >= 6 else 1.0
    systems = np.array(["A100", "H100", "B200"])[rng.integers(0, 3, n_opt)]
    d = CapacityData(
        slot_s=60.0,
        demand_tokens=rng.uniform(100, 9000, T).round() * big,
        energy_per_token_j=rng.uniform(0.05, 1.0, n_opt),
        throughput_tps=rng.uniform(20, 80, n_opt) * big,
        gpus=rng.integers(1, 3, n_opt),
        idle_power_w=rng.uniform(20, 120, n_opt),
        accuracy=rng.uniform(30, 70, n_opt),
        system=systems,
        intensity_g_per_kwh=rng.uniform(50, 500, T),
        gpu_limits={str(systems[0]): 8} if seed % 3 == 0 else {},
    )
    objective = ("energy", "carbon")[seed % 2]
    zeta = None if seed % 4 < 2 else 0.6
    coef, _ = objective_terms(d, objective, zeta)
    expected = brute_force(d, coef)
    coupled = replace(d, deferrable=[(0, 1, 0.0)])  # one MILP over both slots
    for data, limit in ((d, 0), (d, 4096), (coupled, 0)):
        try:
            sol = solve(data, objective, zeta=zeta, enumerate_limit=limit)
        except InfeasibleCapacityError:
            assert expected == np.inf
            continue
        value = float(np.sum(coef.per_token * sol.w) + np.sum(coef.per_instance * sol.n))
        assert value == pytest.approx(expected, rel=1e-6, abs=1e-9)
        # every slot's demand served, within the instances' capacity
        assert sol.w.sum(axis=1) == pytest.approx(d.demand_tokens, rel=1e-7)
        assert np.all(sol.w <= sol.n * d.capacity_tokens + 1e-6)


def test_accuracy_floor_couples_slots_and_holds():
    d = two_options()
    sol = solve(d, min_accuracy=57.0)
    acc = float(sol.w.sum(axis=0) @ d.accuracy / sol.w.sum())
    assert acc >= 57.0 - 1e-6
    unconstrained = solve(d)
    assert (
        float(unconstrained.w.sum(axis=0) @ d.accuracy / unconstrained.w.sum()) < 57.0
    )  # the floor binds: without it the plan is less accurate
    with pytest.raises(InfeasibleCapacityError, match="accuracy floor 65"):
        solve(d, min_accuracy=65.0)


def test_deferral_moves_tokens_to_a_cleaner_slot_before_the_deadline():
    # slot 0 is dirty (800 g/kWh), slot 1 clean (100), slot 2 clean but after the deadline
    d = two_options(
        demand_tokens=np.array([0.0, 0.0, 0.0]),
        intensity_g_per_kwh=np.array([800.0, 100.0, 50.0]),
        deferrable=[(0, 1, 1000.0)],
    )
    sol = solve(d, "carbon")
    assert sol.flows[0].tolist() == pytest.approx([0.0, 1000.0, 0.0])
    assert sol.w[2].sum() == 0
    fixed = two_options(
        demand_tokens=np.array([1000.0, 0.0, 0.0]),
        intensity_g_per_kwh=np.array([800.0, 100.0, 50.0]),
    )
    coef, _ = objective_terms(d, "carbon", None)
    deferred_value = float(np.sum(coef.per_token * sol.w) + np.sum(coef.per_instance * sol.n))
    assert deferred_value < solve(fixed, "carbon").value
