"""Arms: (LLM, system) pairs with a fitted energy curve and a fitted runtime curve.

An arm keeps the store's names for its LLM (``model``, as the source spells it) and system,
the canonical LLM (``llm``, ``planner.fleet.registry``: arms of ``Mistral-7B-v0.1`` and
``Mistral (7B)`` are arms of one LLM, with one accuracy score and one share), the two
``FitReport``s behind it (so their labels -- energy sources, estimated or measured, notes,
held-out errors -- reach the plan), what the fleet says of its LLM (accuracy, devices one
instance needs) and its context length: the most tokens (input + output) one query may
have on it.

Predictions used for planning are never below the physical floor of
``planner.fits.curves.Curve.physical_floor`` (``energy_j``, ``runtime_s``); where the floor
was used, ``floored`` says so, and the plan counts those queries per arm.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from planner.fits.curves import FitReport
from planner.fleet.registry import canonical_llm, lookup
from planner.fleet.spec import Fleet, FleetError

FORM_PREFERENCE = ("default", "paper")

# What each energy basis (planner.fits.fitting.energy_basis) holds, in words.
ENERGY_BASIS_WORDS = {"gpu": "GPU only", "cpu": "CPU only", "total": "GPU + CPU"}


class ArmError(ValueError):
    """Fit reports cannot be paired into arms; the message says which and why."""


@dataclass
class Arm:
    """``context_tokens``: the most input + output tokens one query may have here (inf:
    no limit known); ``context_source`` says where that figure comes from."""

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

    def __post_init__(self) -> None:
        self.llm = self.llm or canonical_llm(self.model)

    @property
    def name(self) -> str:
        return f"{self.model} @ {self.system}"

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
        wanted = f" of form {form!r}" if form else ""
        excluded = f" ({len(left_out)} left out by the fleet's include = false)" if left_out else ""
        raise ArmError(
            f"no (model, system) pair has both an energy and a runtime fit{wanted} "
            f"among {len(reports)} fit reports{excluded}"
        )
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
