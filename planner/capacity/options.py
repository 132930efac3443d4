"""Serving arms -> the options a capacity plan chooses from: (arm, operating point) rows.

An option is one serving setup (LLM, system, GPUs per instance, precision, task, engine)
run at one batch size: its energy per output token, the output tokens per second one
instance sustains, its p90 inter-token latency and (where measured) p90 time to first
token, the idle power of its GPUs and the LLM's accuracy score.  The capacity MILP
(``planner.capacity.problem``) works on this table alone (``OPTION_COLUMNS``).

Where the operating points come from:

- ``options_from_arms``: fitted serving arms (``planner.serving.catalogue.serving_arms``):
  each arm's model predicted at every batch it was measured at;
- ``options_from_rows``: the store's serving rows as they are, one option per measured
  configuration (no model; used when ``planner.serving.catalogue`` is not available).

Latency targets exclude options above them (``apply_targets``): the MILP never sees an
operating point that breaks a target, so no plan can.  A p90 TTFT target is checked only
where a TTFT was measured (ML.ENERGY gives none); the notes say which options it could not
check.  Then, per setup, only operating points on the Pareto front of (energy per token,
throughput per GPU) are kept (``pareto_front``): a point with more energy per token and
less throughput than another of its setup is never the better choice, whatever the load.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = [
    "OPTION_COLUMNS",
    "InfeasibleTargetError",
    "apply_targets",
    "candidate_options",
    "options_from_arms",
    "options_from_rows",
    "pareto_front",
]

OPTION_COLUMNS = (
    "option",  # label: arm label and batch
    "arm",  # the serving setup's label
    "model",  # the source's spelling
    "llm",  # canonical LLM (planner.fleet.registry)
    "system",
    "task",  # the task the operating point was measured on
    "gpus_per_instance",
    "batch",
    "energy_per_token_j",  # per output token, whole instance, GPU energy
    "throughput_tps",  # output tokens per second of one instance
    "itl_ms_p90",
    "ttft_ms_p90",  # NaN where not measured
    "idle_power_w_per_gpu",
    "idle_source",
    "accuracy",  # percent; NaN where no score is known
    "source",
)


class InfeasibleTargetError(ValueError):
    """No option meets a latency target; the message names the target and the best any
    arm reaches."""


def _accuracy(fleet, model: str, task: str | None) -> float:
    if fleet is None:
        from planner.fleet.spec import default_accuracy

        score = default_accuracy(model)
        return math.nan if score is None else float(score)
    if not fleet.has_accuracy(model) and not (task and task in fleet.task_accuracy(model)):
        return math.nan
    return float(fleet.accuracy_for(model, task))


def _measured_idle(rows) -> dict[str, tuple[float, str]]:
    """system -> (per-GPU idle power, source) measured in serving rows given as a frame
    (a store's rows read by the caller): the median per GPU, as ``Store.idle_power`` has it."""
    if rows is None or "idle_power_w" not in rows.columns:
        return {}
    idle = pd.to_numeric(rows["idle_power_w"], errors="coerce")
    per_gpu = idle / rows["n_gpus"].clip(lower=1)
    found = {}
    for system, values in per_gpu[idle > 0].groupby(rows.loc[idle > 0, "system"]):
        found[str(system)] = (
            float(values.median()),
            f"measured: median of {len(values)} idle readings in the serving rows, per GPU",
        )
    return found


def _idle_lookup(store, rows=None):
    """system -> (per-GPU idle power in W, its source): measured in the rows given, else
    ``planner.serving.idle`` (measured in the store, else documented, else a named
    stand-in); a system with none gets NaN and the reason (its options are left out)."""
    from planner.serving.idle import IdlePowerError, idle_power_w

    cache: dict[str, tuple[float, str]] = _measured_idle(rows) if store is None else {}

    def lookup(system: str) -> tuple[float, str]:
        if system not in cache:
            try:
                cache[system] = idle_power_w(system, store)
            except IdlePowerError as exc:  # its options are left out (apply_targets says so)
                cache[system] = (math.nan, str(exc))
        return cache[system]

    return lookup


def _llm(model: str) -> str:
    from planner.fleet.registry import canonical_llm

    return canonical_llm(model)


def _label(model, system, n_gpus, precision, task) -> str:
    return f"{model} @ {system} x{int(n_gpus)} ({precision}, {task})"


def options_from_rows(rows: pd.DataFrame, *, fleet=None, store=None) -> pd.DataFrame:
    """One option per serving row (store ``serving`` table shape): the measured
    configuration as it is, at its measured mean batch."""
    if rows is None or len(rows) == 0:
        return pd.DataFrame(columns=list(OPTION_COLUMNS))
    idle = _idle_lookup(store, rows)
    precision = rows.get("weight_precision", pd.Series(["?"] * len(rows), index=rows.index))
    out = pd.DataFrame(
        {
            "model": rows["model"].astype(str),
            "system": rows["system"].astype(str),
            "task": rows["task"].astype(str),
            "gpus_per_instance": rows["n_gpus"].astype(int),
            "batch": rows["mean_batch"].astype(float),
            "energy_per_token_j": rows["energy_per_output_token_j"].astype(float),
            "throughput_tps": rows["output_throughput_tps"].astype(float),
            "itl_ms_p90": pd.to_numeric(rows["itl_ms_p90"], errors="coerce").astype(float),
            "ttft_ms_p90": pd.to_numeric(
                rows.get("ttft_ms_p90", pd.Series(np.nan, index=rows.index)), errors="coerce"
            ).astype(float),
            "source": "measured serving row: "
            + rows.get("energy_source", pd.Series("?", index=rows.index)).astype(str),
        }
    )
    out["arm"] = [
        _label(m, s, g, p, t)
        for m, s, g, p, t in zip(
            out["model"],
            out["system"],
            out["gpus_per_instance"],
            precision.astype(str),
            out["task"],
        )
    ]
    return _complete(out, fleet, idle)


def options_from_arms(arms, *, fleet=None, store=None, rows=None) -> pd.DataFrame:
    """One option per (arm, measured batch): the arm's fitted operating-point model
    (``ServingArm.model``, ``OperatingPointModel.predict``) at each batch it was measured at."""
    idle = _idle_lookup(store)
    records = []
    for arm in arms:
        setup = arm.setup
        for batch in arm.model.batches_:
            op = arm.model.predict(float(batch))
            records.append(
                {
                    "model": setup.model,
                    "system": setup.system,
                    "task": setup.task,
                    "gpus_per_instance": int(setup.n_gpus),
                    "batch": float(op.batch),
                    "energy_per_token_j": float(op.energy_per_token_j),
                    "throughput_tps": float(op.throughput_tps),
                    "itl_ms_p90": float(op.itl_ms_p90),
                    "ttft_ms_p90": math.nan if op.ttft_ms_p90 is None else float(op.ttft_ms_p90),
                    "source": str(arm.source),
                    "arm": setup.label,
                }
            )
    if not records:
        return pd.DataFrame(columns=list(OPTION_COLUMNS))
    return _complete(pd.DataFrame.from_records(records), fleet, idle)


def _complete(out: pd.DataFrame, fleet, idle) -> pd.DataFrame:
    out["llm"] = [_llm(m) for m in out["model"]]
    idle_pairs = [idle(s) for s in out["system"]]
    out["idle_power_w_per_gpu"] = [p for p, _ in idle_pairs]
    out["idle_source"] = [src for _, src in idle_pairs]
    out["accuracy"] = [_accuracy(fleet, m, t) for m, t in zip(out["model"], out["task"])]
    out["option"] = [f"{a} @ batch {b:.4g}" for a, b in zip(out["arm"], out["batch"])]
    bad = ~(
        np.isfinite(out["energy_per_token_j"])
        & (out["energy_per_token_j"] > 0)
        & np.isfinite(out["throughput_tps"])
        & (out["throughput_tps"] > 0)
    )
    out = out[~bad]
    return out[list(OPTION_COLUMNS)].reset_index(drop=True)


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def apply_targets(
    options: pd.DataFrame,
    *,
    itl_ms_p90: float | None = None,
    ttft_ms_p90: float | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """(the options meeting the targets, notes).  Raises InfeasibleTargetError naming the
    target and the best any arm reaches when none does."""
    notes: list[str] = []
    if len(options) == 0:
        raise InfeasibleTargetError("no serving options to plan with (no serving rows)")
    idle = options["idle_power_w_per_gpu"].to_numpy(float)
    unknown = ~np.isfinite(idle)
    if unknown.any():
        reasons = dict(zip(options.loc[unknown, "system"], options.loc[unknown, "idle_source"]))
        if unknown.all():
            raise InfeasibleTargetError("; ".join(reasons.values()))
        notes += [f"options on {system} are left out: {why}" for system, why in reasons.items()]
        options = options[~unknown].reset_index(drop=True)
    keep = np.ones(len(options), dtype=bool)
    if itl_ms_p90 is not None:
        itl = options["itl_ms_p90"].to_numpy(float)
        ok = np.isfinite(itl) & (itl <= itl_ms_p90)
        if not ok.any():
            i = int(np.nanargmin(np.where(np.isfinite(itl), itl, np.inf)))
            row = options.iloc[i]
            raise InfeasibleTargetError(
                f"p90 ITL {_fmt(itl_ms_p90)} ms is below what any arm reaches at its "
                f"smallest batch: {_fmt(itl[i])} ms on {row['llm']} @ {row['system']} "
                f"(batch {row['batch']:.3g})"
            )
        keep &= ok
    if ttft_ms_p90 is not None:
        ttft = options["ttft_ms_p90"].to_numpy(float)
        known = np.isfinite(ttft)
        if (
            known.any()
            and not (known & (ttft <= ttft_ms_p90) & keep).any()
            and not (~known & keep).any()
        ):
            i = int(np.argmin(np.where(known, ttft, np.inf)))
            row = options.iloc[i]
            raise InfeasibleTargetError(
                f"p90 TTFT {_fmt(ttft_ms_p90)} ms is below what any arm reaches: "
                f"{_fmt(ttft[i])} ms on {row['llm']} @ {row['system']} "
                f"(batch {row['batch']:.3g})"
            )
        keep &= ~known | (ttft <= ttft_ms_p90)
        unknown_arms = sorted(set(options.loc[keep & ~known, "arm"]))
        if unknown_arms:
            notes.append(
                f"p90 TTFT target {_fmt(ttft_ms_p90)} ms not checked for "
                f"{len(unknown_arms)} arm(s) with no measured TTFT (e.g. {unknown_arms[0]})"
            )
    if not keep.any():
        raise InfeasibleTargetError(
            "no operating point meets both the p90 ITL and the p90 TTFT target together"
        )
    dropped = int((~keep).sum())
    if dropped:
        notes.append(f"{dropped} operating point(s) excluded by the latency targets")
    return options[keep].reset_index(drop=True), notes


def pareto_front(options: pd.DataFrame) -> pd.DataFrame:
    """Per setup (``arm``), the operating points not dominated in (energy per token: lower,
    throughput per GPU: higher); of equal points, the first."""
    keep = np.zeros(len(options), dtype=bool)
    e_all = options["energy_per_token_j"].to_numpy(float)
    t_all = (options["throughput_tps"] / options["gpus_per_instance"]).to_numpy(float)
    for idx in options.groupby("arm", sort=False).indices.values():
        idx = np.asarray(idx)
        # sort by energy (then by throughput, highest first): a point survives when its
        # throughput beats every cheaper-or-equal point's before it
        order = idx[np.lexsort((-t_all[idx], e_all[idx]))]
        best = -np.inf
        for i in order:
            if t_all[i] > best:
                keep[i] = True
                best = t_all[i]
    return options[keep].reset_index(drop=True)


def candidate_options(
    source,
    *,
    fleet=None,
    tasks=None,
    systems=None,
    itl_ms_p90: float | None = None,
    ttft_ms_p90: float | None = None,
    use_models: bool = True,
) -> tuple[pd.DataFrame, list[str]]:
    """(options, notes) from a Store or a serving-table DataFrame: operating points of
    every arm (the fitted serving models with ``use_models``; else the measured rows), filtered by the targets, Pareto-pruned."""
    store = None if isinstance(source, pd.DataFrame) else source
    rows = source if isinstance(source, pd.DataFrame) else source.serving()
    notes: list[str] = []
    if tasks:
        rows = rows[rows["task"].isin(list(tasks))]
    if systems:
        rows = rows[rows["system"].isin(list(systems))]
    if "flags" in rows.columns:  # flagged rows (duplicates, implausible) stay out of plans
        from measure.flags import disqualifies

        flagged = rows["flags"].map(lambda f: f is not None and bool(disqualifies(list(f))))
        rows = rows[~flagged.astype(bool)]
    if fleet is not None:
        rows = rows[[fleet.includes_llm(m) for m in rows["model"]]]
        rows = rows[[fleet.includes_system(s) for s in rows["system"]]]
    options = None
    if use_models:
        from planner.serving.catalogue import serving_arms

        # the options use each model's predictions only: no held-out refits
        arms = serving_arms(rows, cv=False)
        options = options_from_arms(arms, fleet=fleet, store=store, rows=rows)
        notes.append("operating points: fitted serving models at their measured batches")
    if options is None:
        options = options_from_rows(rows, fleet=fleet, store=store)
    n_all = len(options)
    options, target_notes = apply_targets(options, itl_ms_p90=itl_ms_p90, ttft_ms_p90=ttft_ms_p90)
    notes += target_notes
    options = pareto_front(options)
    notes.append(
        f"{len(options)} of {n_all} operating points kept (latency targets, then per setup "
        "the Pareto front of energy per token and throughput per GPU)"
    )
    return options, notes
