"""`python -m planner estimate`: the energy, time and latency of serving a workload on one LLM
and GPU kind, from the store's serving measurements.

    python -m planner estimate --db PATH --workload FILE --model M --system S
        [--devices N] [--max-batch B] [--itl-p90-ms X] [--task T] [--gpus-per-instance G]
        [--pue P] [--carbon-g-per-kwh C] [--price-per-kwh X] [--currency CUR]
        [--idle-power-w W] [--horizon-s S] [--json]

Names are the store's (``Qwen/Qwen3-8B``, ``H100``); an LLM may also be named as the
registry knows it.  Where the store has several setups of the LLM on the system (1 or 2
GPUs per instance, several tasks), ``--task`` and ``--gpus-per-instance`` pick one; by
default the task ``lm-arena-chat`` where present and the fewest GPUs, and the output says
which.  A workload with arrival times is simulated (``planner.serving.queueing``); one
without is served back to back.  Idle power: ``--idle-power-w``, else the store's measured
figure, else the documented one (``planner.serving.idle``).  An unknown LLM or system
ends with exit code 1 and the choices named; unusable input with 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from planner.cli._table import say, write

DEFAULT_TASK = "lm-arena-chat"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "estimate",
        help="energy, time and latency of serving a workload on one LLM and GPU kind",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--db", help="DuckDB measurement store (default: data/energy.duckdb)")
    p.add_argument("--workload", required=True, help="CSV, JSONL, JSON or Parquet workload")
    p.add_argument("--model", required=True, help="LLM as the store names it (or any alias)")
    p.add_argument("--system", required=True, help="GPU kind as the store names it (H100)")
    p.add_argument("--devices", type=int, help="GPUs provisioned (default: one instance)")
    p.add_argument("--max-batch", type=int, dest="max_batch", help="most requests in flight")
    p.add_argument("--itl-p90-ms", type=float, dest="itl_p90_ms", help="p90 ITL target, ms")
    p.add_argument("--task", help="the serving data's task (default: lm-arena-chat if any)")
    p.add_argument(
        "--gpus-per-instance", type=int, dest="gpus_per_instance", help="GPUs per instance"
    )
    p.add_argument("--pue", type=float, default=1.0, help="facility PUE (default 1.0)")
    p.add_argument("--carbon-g-per-kwh", type=float, dest="carbon_g_per_kwh")
    p.add_argument("--price-per-kwh", type=float, dest="price_per_kwh")
    p.add_argument("--currency", default="USD", help="of --price-per-kwh (default USD)")
    p.add_argument("--idle-power-w", type=float, dest="idle_power_w", help="idle power per GPU, W")
    p.add_argument(
        "--horizon-s", type=float, dest="horizon_s", help="count idle time up to this time, s"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_estimate)


class _Refused(Exception):
    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def _names(values) -> str:
    return ", ".join(sorted({str(v) for v in values}))


def choose_setup(setups: dict, model: str, system: str, task=None, gpus=None):
    """(the setup, how it was chosen in words) among ``setups`` (setup -> number of measured
    batch sizes) for the LLM and system; a ``_Refused`` names the choices when none fits."""
    from planner.fleet.registry import canonical_llm, normalise

    if not setups:
        raise _Refused("the store has no serving measurements (import or measure some)", 1)
    llm = canonical_llm(model)
    of_model = [s for s in setups if s.model == model] or [
        s for s in setups if canonical_llm(s.model) == llm
    ]
    if not of_model:
        raise _Refused(
            f"no serving data for LLM {model!r}; the store has: {_names(s.model for s in setups)}",
            1,
        )
    of_system = [s for s in of_model if s.system == system] or [
        s for s in of_model if normalise(s.system) == normalise(system)
    ]
    if not of_system:
        raise _Refused(
            f"no serving data for {of_model[0].model} on system {system!r}; it was "
            f"measured on: {_names(s.system for s in of_model)}",
            1,
        )
    found = of_system
    if task is not None:
        found = [s for s in found if s.task == task]
        if not found:
            raise _Refused(
                f"no serving data for task {task!r}; tasks: {_names(s.task for s in of_system)}",
                1,
            )
    if gpus is not None:
        kept = [s for s in found if int(s.n_gpus) == gpus]
        if not kept:
            raise _Refused(
                f"no setup with {gpus} GPUs per instance; measured: "
                f"{_names(s.n_gpus for s in found)}",
                1,
            )
        found = kept
    notes = []
    tasks = {s.task for s in found}
    if len(tasks) > 1:
        pick = DEFAULT_TASK if DEFAULT_TASK in tasks else sorted(tasks)[0]
        found = [s for s in found if s.task == pick]
        notes.append(f"task {pick} of {_names(tasks)} (--task to choose)")
    sizes = {int(s.n_gpus) for s in found}
    if len(sizes) > 1:
        found = [s for s in found if int(s.n_gpus) == min(sizes)]
        notes.append(f"{min(sizes)} GPU(s) per instance of {_names(sizes)} (--gpus-per-instance)")
    if len(found) > 1:  # precision or engine: the one with the most batch sizes measured
        found = sorted(found, key=lambda s: (-setups[s], s.label))
        notes.append(f"the setup with the most measured batch sizes of {len(found)}")
    return found[0], "; ".join(notes)


def _estimate(args):
    from measure.paths import DEFAULT_DB_PATH
    from measure.store import Store, StoreError
    from planner.fleet.spec import Facility
    from planner.serving.catalogue import serving_arms
    from planner.serving.estimate import EstimateError, estimate
    from planner.serving.idle import IdlePowerError, idle_power
    from planner.serving.setups import group_setups
    from planner.workload.load import WorkloadError, load_workload

    for name in ("devices", "max_batch", "gpus_per_instance"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise _Refused(f"--{name.replace('_', '-')} must be >= 1, not {value}", 2)
    # finite and in range: inf or NaN would pass a plain comparison and spread into every figure
    checks = {
        "itl_p90_ms": (0.0, True),
        "carbon_g_per_kwh": (0.0, False),
        "price_per_kwh": (0.0, False),
        "idle_power_w": (0.0, False),
        "horizon_s": (0.0, False),
        "pue": (1.0, False),
    }
    for name, (least, strict) in checks.items():
        value = getattr(args, name)
        if value is None:
            continue
        if not (math.isfinite(value) and (value > least if strict else value >= least)):
            bound = f"> {least:g}" if strict else f">= {least:g}"
            raise _Refused(
                f"--{name.replace('_', '-')} must be a finite number {bound}, not {value}", 2
            )
    try:
        store = Store(args.db if args.db is not None else DEFAULT_DB_PATH)
        workload = load_workload(args.workload)
        rows = store.serving(include_flagged=False) if store.exists() else None
        if rows is None or len(rows) == 0:
            # as `planner plan` falls back to the reference catalogue: estimate at once
            from planner.serving.embedded import read_embedded

            rows = read_embedded().rows
            chosen_from = "the embedded ML.ENERGY catalogue (the store has no serving rows)"
        else:
            chosen_from = ""
        # choose the setup on the rows, then fit only its model
        groups = group_setups(rows)
        setups = {setup: int(rows["mean_batch"].nunique()) for setup, rows in groups.items()}
        setup, chosen = choose_setup(
            setups, args.model, args.system, task=args.task, gpus=args.gpus_per_instance
        )
        if chosen_from:
            chosen = f"{chosen}; from {chosen_from}" if chosen else f"from {chosen_from}"
        (arm,) = serving_arms(groups[setup], cv=False)  # predictions only
        idle = idle_power(arm.setup.system, store, override_w=args.idle_power_w)
        facility = Facility(
            pue=args.pue,
            carbon_g_per_kwh=args.carbon_g_per_kwh,
            price_per_kwh=args.price_per_kwh,
            currency=args.currency,
        )
        result = estimate(
            workload,
            arm,
            devices=args.devices,
            max_batch=args.max_batch,
            itl_ms_p90_max=args.itl_p90_ms,
            facility=facility,
            idle_power=idle,
            horizon_s=args.horizon_s,
        )
    except (WorkloadError, StoreError, IdlePowerError) as exc:
        raise _Refused(str(exc), 2) from exc
    except EstimateError as exc:
        raise _Refused(str(exc), 1) from exc
    return result, chosen, workload


def _print(est, chosen: str, workload) -> None:
    from planner.report.units import money, quantity

    j = est.to_json()
    say(f"{est.setup}: {est.mode} ({workload.name}, {est.n_requests:,} requests)")
    if chosen:
        say(f"  chosen: {chosen}")
    say(f"  source: {est.source}")
    say(
        f"  {est.instances} instance(s) x {est.gpus_per_instance} GPU(s) = {est.gpus} GPUs, "
        f"at most {est.max_batch} requests in flight each"
    )
    say(
        f"  energy: {quantity(est.energy_kwh, 'kWh')} ({quantity(est.energy_j, 'J')}) at PUE {est.pue:g}"
    )
    say(
        f"    GPU energy {quantity(est.gpu_energy_j, 'J')}: active {quantity(est.active_energy_j, 'J')}, "
        f"idle {quantity(est.idle_energy_j, 'J')} ({est.idle_power_w:g} W per GPU, {est.idle_power_kind})"
    )
    say(f"  duration: {quantity(est.duration_s, 's')}; mean batch {quantity(j['mean_batch'], '')}")
    say(
        f"  latency p90: ITL {quantity(j['itl_ms_p90'], 'ms')}, TTFT {quantity(j['ttft_ms_p90'], 'ms')}, "
        f"wait {quantity(j['wait_s_p90'], 's')}, end to end {quantity(j['e2e_s_p90'], 's')}"
    )
    say(f"  CO2e: {quantity(j['co2e_kg'], 'kg')}; cost: {money(j['cost'], est.currency)}")
    for caveat in est.caveats:
        say(f"  caveat: {caveat}")
    for warning in est.warnings:
        say(f"  warning: {warning}")


def run_estimate(args) -> int:
    try:
        est, chosen, workload = _estimate(args)
    except _Refused as exc:
        say(f"error: {exc}", file=sys.stderr)
        return exc.code
    if args.json:
        out = est.to_json()
        out["chosen"] = chosen or None
        out["workload"] = {"name": workload.name, "n_queries": workload.n_queries}
        write(json.dumps(out, indent=2))
    else:
        _print(est, chosen, workload)
    return 0
