"""Arms: (LLM, system, operating point) with a fitted energy curve and a fitted runtime curve.

An arm keeps the store's names for its LLM (``model``, as the source spells it) and system,
the canonical LLM (``llm``, ``planner.fleet.registry``: arms of ``Mistral-7B-v0.1`` and
``Mistral (7B)`` are arms of one LLM, with one accuracy score and one share), the two
``FitReport``s behind it (so their labels -- energy sources, estimated or measured, notes,
held-out errors -- reach the plan), what the fleet says of its LLM (accuracy, devices one
instance needs) and its context length: the most tokens (input + output) one query may
have on it.

An arm runs its LLM at one operating point (``operating_point``, in words).  The paper's
arms run one prompt at a time (HF transformers, KV cache off): a query's runtime is the
instance's time on it.  A serving arm (``serving_arm``: a measured serving setup of
``planner.serving`` at one batch b) runs continuous batching: its energy per query is
e(b) x output tokens, its instance-time per query output tokens / T(b) (an instance at
batch b serves T(b) output tokens per second in all), and a request's latency output
tokens x ITL(b).  Both are curves in ``tout`` alone, so the routing problem (capacity in
device-seconds per system, ``devices_per_instance`` GPUs per instance) and the baselines
take them unchanged.  ``name`` is unique per arm: a serving arm's names its setup and batch.

Predictions used for planning are never below the physical floor of
``planner.fits.curves.Curve.physical_floor`` (``energy_j``, ``runtime_s``); where the floor
was used, ``floored`` says so, and the plan counts those queries per arm.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from planner.fits.curves import Curve, FitReport
from planner.fleet.registry import canonical_llm, lookup
from planner.fleet.spec import Fleet, FleetError

FORM_PREFERENCE = ("default", "paper")
SERVING_FORM = "serving"
PAPER_OPERATING_POINT = "one prompt at a time (paper, HF transformers, KV cache off)"

# What each energy basis (planner.fits.fitting.energy_basis) holds, in words.
ENERGY_BASIS_WORDS = {"gpu": "GPU only", "cpu": "CPU only", "total": "GPU + CPU"}


class ArmError(ValueError):
    """Fit reports cannot be paired into arms; the message says which and why."""


@dataclass
class Arm:
    """``context_tokens``: the most input + output tokens one query may have here (inf:
    no limit known); ``context_source`` says where that figure comes from.

    ``operating_point`` says how the arm serves (one prompt at a time, or continuous
    batching at a batch); ``key`` (blank for the paper's arms) names it uniquely where
    one (model, system) has several arms (serving setups); ``itl_ms_p50`` / ``itl_ms_p90``
    are the inter-token latencies at the operating point (None: not known, e.g. the
    paper's arms, whose latency is their runtime); ``idle_power_w`` the per-GPU idle power
    of its system with ``idle_source`` (None: idle energy is not counted for it)."""

    model: str
    system: str
    form: str
    energy: FitReport
    runtime: FitReport
    accuracy: float
    task_accuracy: dict[str, float] = field(default_factory=dict)
    devices_per_instance: int = 1
    notes: list[str] = field(default_factory=list)
    llm: str = ""
    context_tokens: float = math.inf
    context_source: str = "no context length known"
    operating_point: str = PAPER_OPERATING_POINT
    key: str = ""
    itl_ms_p50: float | None = None
    itl_ms_p90: float | None = None
    idle_power_w: float | None = None
    idle_source: str = ""

    def __post_init__(self) -> None:
        self.llm = self.llm or canonical_llm(self.model)

    @property
    def name(self) -> str:
        return self.key or f"{self.model} @ {self.system}"

    @property
    def gpus_per_instance(self) -> int:
        return int(self.devices_per_instance)

    def latency_s(self, tin, tout) -> np.ndarray:
        """A request's latency (s): output tokens x median ITL at a serving arm's operating
        point (prefill not counted: no time to first token is known); the runtime where the
        arm serves one prompt at a time."""
        if self.itl_ms_p50 is None:
            return self.runtime_s(tin, tout)
        return np.asarray(tout, float) * self.itl_ms_p50 / 1000.0

    @property
    def energy_kind(self) -> str | None:
        return self.energy.energy

    @property
    def energy_sources(self) -> list[str]:
        return list(self.energy.energy_sources)

    @property
    def is_estimated(self) -> bool:
        return self.energy.is_estimated

    def accuracy_for(self, task: str) -> float:
        return float(self.task_accuracy.get(task, self.accuracy))

    def energy_j(self, tin, tout) -> np.ndarray:
        """Predicted energy per query (J), never below the fit's physical floor."""
        return self.energy.curve.predict_floored(tin, tout)[0]

    def runtime_s(self, tin, tout) -> np.ndarray:
        """Predicted runtime per query (s) on one instance, never below its physical floor."""
        return self.runtime.curve.predict_floored(tin, tout)[0]

    def predictions(self, tin, tout) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(energy J, runtime s, energy floored, runtime floored) per query: the figures
        planning uses, and where each was raised to its physical floor."""
        energy, energy_floored = self.energy.curve.predict_floored(tin, tout)
        runtime, runtime_floored = self.runtime.curve.predict_floored(tin, tout)
        return energy, runtime, energy_floored, runtime_floored

    def takes(self, tin, tout) -> np.ndarray:
        """True where a query fits the arm's context (input + output tokens)."""
        return np.asarray(tin, float) + np.asarray(tout, float) <= self.context_tokens

    def in_range(self, tin, tout) -> np.ndarray:
        """True where both curves were fitted on token counts covering the query."""
        return self.energy.curve.in_range(tin, tout) & self.runtime.curve.in_range(tin, tout)

    def label(self) -> dict:
        """What the app and reports show beside the arm's figures."""
        return {
            "model": self.model,
            "llm": self.llm,
            "system": self.system,
            "form": self.form,
            "context_tokens": self.context_tokens,
            "energy_kind": self.energy_kind,
            "energy_sources": ",".join(self.energy_sources),
            "is_estimated": self.is_estimated,
            "energy_cv_median_ape": self.energy.cv_median_ape,
            "runtime_cv_median_ape": self.runtime.cv_median_ape,
            "fit_source": self.energy.source,
            "operating_point": self.operating_point,
            "notes": "; ".join(self.notes + list(self.energy.notes)),
        }


def _pick_energy(candidates: list[FitReport], energy: str) -> tuple[FitReport, list[str]]:
    exact = [r for r in candidates if r.energy == energy]
    if exact:
        return exact[0], []
    other = candidates[0]
    return other, [
        f"no {energy!r} energy fit for this arm: using {other.energy!r} energy "
        f"({ENERGY_BASIS_WORDS.get(other.energy, other.energy)})"
    ]


class Arms(list):
    """The arms ``build_arms`` made, with ``notices`` (LLMs left out for want of an
    accuracy score, each saying how to give one, and arms whose fits predict nothing
    positive: they reach the plan's warnings) and ``left_out`` (arms the fleet excluded,
    ``include = false``)."""

    def __init__(self, arms=(), notices=(), left_out=()):
        super().__init__(arms)
        self.notices = list(notices)
        self.left_out = list(left_out)


def _may_go_negative(reports: list[FitReport], tin, tout) -> bool:
    """Whether a form's curves predict a negative figure for the queries (tin, tout), or,
    without queries, could for some query (an unclipped curve with a negative term)."""
    for rep in reports:
        curve = rep.curve
        if curve.clip_negative or curve.monotone:
            continue
        if tin is None or np.any(curve.predict(tin, tout) < 0):
            return True
    return False


def _unusable(targets) -> list[FitReport]:
    """The form's fits that predict nothing positive anywhere in their measured range."""
    return [r for r in (targets["energy"][0], targets["runtime"][0]) if not r.curve.usable]


def _form_rank(name: str, targets, tin, tout) -> tuple:
    """Unusable forms last, then those whose predictions go negative on the queries, then
    FORM_PREFERENCE."""
    reports = [targets["energy"][0], targets["runtime"][0]]
    preference = FORM_PREFERENCE.index(name) if name in FORM_PREFERENCE else len(FORM_PREFERENCE)
    return (bool(_unusable(targets)), _may_go_negative(reports, tin, tout), preference, name)


def _context(model: str, energy: FitReport, runtime: FitReport) -> tuple[float, str]:
    """(context length in tokens, where it comes from): the registry's, else the longest
    query the arm's fits were measured on."""
    info = lookup(model)
    if info is not None and info.context_tokens:
        return float(info.context_tokens), f"{info.context_tokens} tokens: {info.context_source}"
    longest = min(energy.curve.longest_query(), runtime.curve.longest_query())
    if math.isfinite(longest):
        return longest, (
            f"{longest:g} tokens: the longest query measured (input + output), as the "
            f"registry has no context length for {model}"
        )
    return math.inf, f"no limit: the registry has no context length for {model}"


def _workload_tokens(workload):
    if workload is None:
        return None, None
    groups, _ = workload.groups()
    return (
        groups["input_tokens"].to_numpy(float),
        groups["output_tokens"].to_numpy(float),
    )


def build_arms(
    reports: list[FitReport],
    fleet: Fleet | None = None,
    *,
    form: str | None = None,
    energy: str = "total",
    workload=None,
) -> Arms:
    """Pair an energy and a runtime report of one form per (model, system).

    The fleet's ``[llm."X"]`` and ``[system."Y"]`` names are checked against the reports
    first (``Fleet.check_names``: a FleetError names a misspelt one).  ``form`` None takes,
    per (model, system), the best available form: of those with both targets, forms whose
    predictions go negative on the ``workload``'s queries (without a workload: could go
    negative) come last, then ``default``, ``paper``, any other; planning floors whatever
    is chosen (``Arm.energy_j``).  A form whose fit predicts nothing positive anywhere in
    its measured range is used by no arm (a notice says so).  ``energy`` picks
    ``total`` or ``gpu`` energy fits; where only the other kind exists, it is used and the
    arm says so in ``notes``.

    Arms of a system or LLM the fleet excludes (``include = false``) are left out (listed
    in ``left_out``).  An LLM with no accuracy score (fleet or default) is left out with a
    notice naming it and how to give one; if every LLM is, a FleetError says so.  A share
    given to an LLM left out is a FleetError.
    """
    fleet = fleet or Fleet()
    fleet.check_names([r.model for r in reports], [r.system for r in reports])
    tin, tout = _workload_tokens(workload)
    by_arm: dict[tuple[str, str], dict[str, dict[str, list[FitReport]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for rep in reports:
        by_arm[(rep.model, rep.system)][rep.form][rep.target].append(rep)
    arms: list[Arm] = []
    left_out: list[str] = []
    notices: list[str] = []
    unscored: dict[str, set[str]] = defaultdict(set)
    why_out: dict[str, str] = {}
    for (model, system), forms in sorted(by_arm.items()):
        llm = canonical_llm(model)
        complete = [f for f, t in forms.items() if t.get("energy") and t.get("runtime")]
        if form is not None:
            complete = [f for f in complete if f == form]
        if not complete:
            continue
        if not fleet.includes_system(system) or not fleet.includes_llm(model):
            which = f'system."{system}"' if not fleet.includes_system(system) else f'llm."{llm}"'
            left_out.append(f"{model} @ {system} ({which} include = false)")
            why_out.setdefault(llm, "the fleet excludes it (include = false)")
            continue
        if not fleet.has_accuracy(model):
            unscored[llm].add(model)
            why_out.setdefault(llm, "it has no accuracy score")
            continue
        chosen = min(complete, key=lambda f: _form_rank(f, forms[f], tin, tout))
        broken = _unusable(forms[chosen])
        if broken:
            targets = " and ".join(r.target for r in broken)
            notices.append(
                f"{model} @ {system} is left out: its {chosen}-form {targets} fit predicts "
                "nothing above zero anywhere in its measured range, so it gives no physical "
                "figure; refit it or measure the arm again"
            )
            continue
        energy_rep, notes = _pick_energy(forms[chosen]["energy"], energy)
        runtime_rep = forms[chosen]["runtime"][0]
        context, context_source = _context(model, energy_rep, runtime_rep)
        arms.append(
            Arm(
                model=model,
                system=system,
                form=chosen,
                energy=energy_rep,
                runtime=runtime_rep,
                accuracy=fleet.accuracy_for(model),
                task_accuracy=fleet.task_accuracy(model),
                devices_per_instance=fleet.devices_per_instance(model, system),
                notes=notes,
                llm=llm,
                context_tokens=context,
                context_source=context_source,
            )
        )
    wanted = f" of form {form!r}" if form else ""
    return _finish_arms(
        fleet,
        arms,
        notices,
        left_out,
        unscored,
        why_out,
        nothing=f"no (model, system) pair has both an energy and a runtime fit{wanted} "
        f"among {len(reports)} fit reports",
    )


def _finish_arms(
    fleet: Fleet,
    arms: list[Arm],
    notices: list[str],
    left_out: list[str],
    unscored: dict[str, set[str]],
    why_out: dict[str, str],
    *,
    nothing: str,
) -> Arms:
    """The ending ``build_arms`` and ``build_serving_arms`` share: an LLM planned on some arm
    is neither unscored nor left out; each unscored LLM gets a notice; no arm at all is a
    FleetError (every LLM unscored) or an ArmError (the notices, else ``nothing`` and how many
    the fleet left out); a share given to an LLM left out is a FleetError."""
    planned = {a.llm for a in arms}
    for llm in planned:
        why_out.pop(llm, None)
        unscored.pop(llm, None)
    notices += [_unscored_notice(llm, models) for llm, models in sorted(unscored.items())]
    if not arms:
        if unscored:
            names = ", ".join(repr(llm) for llm in sorted(unscored))
            first = sorted(unscored)[0]
            raise FleetError(
                f"no LLM can be planned: none has an accuracy score ({names}); give one in "
                f'the fleet ([llm."{first}"] accuracy = ..., in percent) or in the A_K column'
            )
        if notices:
            raise ArmError("no arm can be planned: " + "; ".join(notices))
        excluded = f" ({len(left_out)} left out by the fleet's include = false)" if left_out else ""
        raise ArmError(f"{nothing}{excluded}")
    _check_shares_have_arms(fleet, planned, why_out)
    return Arms(arms, notices, left_out)


def _unscored_notice(llm: str, models: set[str]) -> str:
    spelled = sorted(models - {llm})
    also = f" (fits named {', '.join(repr(m) for m in spelled)})" if spelled else ""
    return (
        f"LLM {llm!r}{also} has no accuracy score, so it is left out of planning: give one "
        f'in the fleet ([llm."{llm}"] accuracy = ..., in percent) or in the A_K column'
    )


def _check_shares_have_arms(fleet: Fleet, planned: set[str], why_out: dict[str, str]) -> None:
    for key, spec in fleet.llm.items():
        llm = canonical_llm(key)
        if spec.share is not None and llm not in planned:
            why = why_out.get(llm, "no arm of it has both an energy and a runtime fit")
            raise FleetError(
                f'{fleet.source}: [llm."{key}"] share = {spec.share:g}, but {llm} is not '
                f"planned ({why}): drop the share or plan the LLM"
            )


# -- serving arms ----------------------------------------------------------------------


def serving_operating_point(sarm, itl_ms_p90_max: float | None = None):
    """(operating point, how it was chosen in words) of a ``planner.serving`` arm: with no
    ITL target, its largest measured batch (continuous batching's least energy per token,
    at the longest inter-token latency measured); with a target, the batch of least energy
    per token whose ITL p90 meets it (``OperatingPointModel.best_batch``).  The point is
    None when no batch meets the target."""
    model = sarm.model
    words = serving_operating_point_words(itl_ms_p90_max)
    if itl_ms_p90_max is None:
        return model.predict(float(model.max_batch_)), words
    return model.best_batch(itl_ms_p90_max=float(itl_ms_p90_max)), words


def serving_operating_point_words(itl_ms_p90_max: float | None = None) -> str:
    """How ``serving_operating_point`` chooses a setup's batch, in words."""
    if itl_ms_p90_max is None:
        return "the largest measured batch of each setup (no ITL p90 target set)"
    return (
        f"the batch of least energy per token whose ITL p90 is at most "
        f"{float(itl_ms_p90_max):g} ms, per setup"
    )


def _cv(model, target: str, key: str) -> float | None:
    value = (getattr(model, "cv_", None) or {}).get(target, {}).get(key)
    return float(value) if value is not None and math.isfinite(float(value)) else None


def _serving_energy_sources(source: str) -> list[str]:
    """The store's ``energy_source`` words behind a serving arm's ``source`` text
    ("imported: ML.ENERGY ...", "measured: nvml ...", "estimated: ...")."""
    words = {w.strip(" :;,()+").lower() for w in str(source).replace("+", " ").split()}
    found = [k for k in ("imported", "nvml", "rapl", "estimated") if k in words]
    return found or [str(source).split(":", 1)[0].strip() or "unknown"]


def serving_reports(sarm, point) -> tuple[FitReport, FitReport]:
    """The (energy, runtime) curves of a serving arm at one operating point, as the routing
    problem reads arms: energy e(b) J per output token x ``tout``, and instance-seconds
    ``tout`` / T(b) (one instance serves T(b) output tokens per second in all).  Held-out
    errors are the operating-point model's leave-one-batch-size-out ones."""
    setup, model = sarm.setup, sarm.model
    sources = _serving_energy_sources(sarm.source)
    scope = str(getattr(sarm, "energy_scope", "gpu") or "gpu")
    common = {
        "model": setup.model,
        "system": setup.system,
        "form": SERVING_FORM,
        "n": int(getattr(sarm, "n_points", 0) or 0),
        "source": str(sarm.source),
    }
    energy = FitReport(
        target="energy",
        curve=Curve(("tout",), [float(point.energy_per_token_j)], target="energy"),
        cv_median_ape=_cv(model, "energy_per_token_j", "median_ape"),
        cv_p90_ape=_cv(model, "energy_per_token_j", "p90_ape"),
        energy="total" if scope == "gpu+cpu" else scope,
        energy_sources=sources,
        **common,
    )
    runtime = FitReport(
        target="runtime",
        curve=Curve(("tout",), [1.0 / float(point.throughput_tps)], target="runtime"),
        cv_median_ape=_cv(model, "throughput_tps", "median_ape"),
        cv_p90_ape=_cv(model, "throughput_tps", "p90_ape"),
        **common,
    )
    return energy, runtime


def _registry_context(model: str) -> tuple[float, str]:
    info = lookup(model)
    if info is not None and info.context_tokens:
        return float(info.context_tokens), f"{info.context_tokens} tokens: {info.context_source}"
    return math.inf, f"no limit: the registry has no context length for {model}"


def serving_arm(sarm, point, fleet: Fleet, chosen: str = "", idle=None) -> Arm:
    """A planning arm of a ``planner.serving`` arm at the operating point ``point``
    (``serving_operating_point``): one instance is ``setup.n_gpus`` GPUs (as measured: the
    fleet's devices-per-instance does not apply), and ``idle`` (a
    ``planner.serving.idle.IdlePower``) prices its system's GPUs while they idle."""
    setup = sarm.setup
    energy, runtime = serving_reports(sarm, point)
    batch = float(point.batch)
    notes = [
        "energy per query = energy per output token x output tokens: prefill folded in "
        "(the serving data have no input lengths)"
    ]
    if point.extrapolated:
        notes.append(
            f"operating point at batch {batch:.0f} ({chosen}) lies outside the measured "
            f"batches {sarm.model.min_batch_:.0f}-{sarm.model.max_batch_:.0f} (extrapolated)"
        )
    if sarm.model.min_batch_ == sarm.model.max_batch_:
        notes.append("one measured batch size only: no curve over batch behind it")
    context, context_source = _registry_context(setup.model)
    return Arm(
        model=setup.model,
        system=setup.system,
        form=SERVING_FORM,
        energy=energy,
        runtime=runtime,
        accuracy=fleet.accuracy_for(setup.model),
        task_accuracy=fleet.task_accuracy(setup.model),
        devices_per_instance=int(setup.n_gpus),
        notes=notes,
        llm=setup.llm,
        context_tokens=context,
        context_source=context_source,
        operating_point=f"continuous batching, batch {batch:.0f} ({setup.engine})",
        key=f"{setup.label} · batch {batch:.0f}",
        itl_ms_p50=float(point.itl_ms_p50),
        itl_ms_p90=float(point.itl_ms_p90),
        idle_power_w=None if idle is None else float(idle.power_w),
        idle_source="" if idle is None else str(idle.source),
    )


def build_serving_arms(
    serving, fleet: Fleet | None = None, *, itl_ms_p90_max: float | None = None
) -> Arms:
    """Planning arms of ``planner.serving`` arms (``ServingArm``s), one per serving setup,
    each at its operating point (``serving_operating_point``: the largest measured batch,
    or the least energy per token under ``itl_ms_p90_max``).

    As ``build_arms``: the fleet's names are checked, LLMs and systems it excludes are left
    out (``left_out``), an LLM without an accuracy score is left out with a notice (a
    FleetError when every LLM is), a share given to an LLM left out is a FleetError.  A
    setup whose batches all miss the ITL target is left out with a notice naming its least
    ITL p90.  Idle power per GPU comes from ``planner.serving.idle`` per system; a stand-in
    figure's warning is a notice."""
    from planner.serving.idle import IdlePowerError, idle_power

    fleet = fleet or Fleet()
    serving = list(serving)
    fleet.check_names([s.setup.model for s in serving], [s.setup.system for s in serving])
    arms: list[Arm] = []
    left_out: list[str] = []
    notices: list[str] = []
    unscored: dict[str, set[str]] = defaultdict(set)
    why_out: dict[str, str] = {}
    idle_of: dict[str, object] = {}
    for sarm in sorted(serving, key=lambda s: s.setup.label):
        setup = sarm.setup
        llm = setup.llm
        if not fleet.includes_system(setup.system) or not fleet.includes_llm(setup.model):
            which = (
                f'system."{setup.system}"'
                if not fleet.includes_system(setup.system)
                else f'llm."{llm}"'
            )
            left_out.append(f"{setup.label} ({which} include = false)")
            why_out.setdefault(llm, "the fleet excludes it (include = false)")
            continue
        if not fleet.has_accuracy(setup.model):
            unscored[llm].add(setup.model)
            why_out.setdefault(llm, "it has no accuracy score")
            continue
        point, chosen = serving_operating_point(sarm, itl_ms_p90_max)
        if point is None:
            smallest = min(1.0, float(sarm.model.min_batch_))
            least = float(sarm.model.predict(smallest).itl_ms_p90)
            notices.append(
                f"{setup.label} is left out: no batch meets ITL p90 <= {itl_ms_p90_max:g} ms "
                f"(its least, at batch {smallest:g}, is {least:.3g} ms)"
            )
            why_out.setdefault(llm, "no batch of it meets the ITL target")
            continue
        if not (point.energy_per_token_j > 0 and point.throughput_tps > 0):
            notices.append(
                f"{setup.label} is left out: its operating point at batch {point.batch:g} "
                f"predicts {point.energy_per_token_j:.3g} J per token and "
                f"{point.throughput_tps:.3g} tokens/s, not a physical figure"
            )
            continue
        if setup.system not in idle_of:
            try:
                idle_of[setup.system] = idle_power(setup.system)
            except IdlePowerError as exc:  # planned, but its idle energy is not counted
                idle_of[setup.system] = None
                notices.append(f"idle energy of {setup.system} is not counted: {exc}")
            else:
                if idle_of[setup.system].warning:
                    notices.append(f"idle power: {idle_of[setup.system].warning}")
        arms.append(serving_arm(sarm, point, fleet, chosen, idle_of[setup.system]))
    if arms:
        notices.insert(0, f"serving arms run at {serving_operating_point_words(itl_ms_p90_max)}")
    return _finish_arms(
        fleet,
        arms,
        notices,
        left_out,
        unscored,
        why_out,
        nothing=f"no serving setup to plan among {len(serving)}",
    )
