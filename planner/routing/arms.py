"""Arms: (LLM, system) pairs with a fitted energy curve and a fitted runtime curve.

An arm keeps the store's names for its LLM and system, the two ``FitReport``s behind it
(so their labels -- energy sources, estimated or measured, notes, held-out errors -- reach
the plan), and what the fleet says of its LLM (accuracy, devices one instance needs).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from planner.fits.curves import FitReport
from planner.fleet.spec import Fleet

FORM_PREFERENCE = ("default", "paper")


class ArmError(ValueError):
    """Fit reports cannot be paired into arms; the message says which and why."""


@dataclass
class Arm:
    model: str
    system: str
    form: str
    energy: FitReport
    runtime: FitReport
    accuracy: float
    task_accuracy: dict[str, float] = field(default_factory=dict)
    devices_per_instance: int = 1
    notes: list[str] = field(default_factory=list)

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
        """Predicted energy per query (J)."""
        return self.energy.predict(tin, tout)

    def runtime_s(self, tin, tout) -> np.ndarray:
        """Predicted runtime per query (s) on one instance."""
        return self.runtime.predict(tin, tout)

    def in_range(self, tin, tout) -> np.ndarray:
        """True where both curves were fitted on token counts covering the query."""
        return self.energy.curve.in_range(tin, tout) & self.runtime.curve.in_range(tin, tout)

    def label(self) -> dict:
        """What the app and reports show beside the arm's figures."""
        return {
            "model": self.model,
            "system": self.system,
            "form": self.form,
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
        f"({'GPU only' if other.energy == 'gpu' else other.energy})"
    ]


def build_arms(
    reports: list[FitReport],
    fleet: Fleet | None = None,
    *,
    form: str | None = None,
    energy: str = "total",
) -> list[Arm]:
    """Pair an energy and a runtime report of one form per (model, system).

    ``form`` None takes, per (model, system), the first of ``default``, ``paper`` (then any
    other) that has both targets.  ``energy`` picks ``total`` or ``gpu`` energy fits; where
    only the other kind exists, it is used and the arm says so in ``notes``.  An LLM with no
    accuracy score (fleet or default) raises a FleetError naming it.
    """
    fleet = fleet or Fleet()
    by_arm: dict[tuple[str, str], dict[str, dict[str, list[FitReport]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for rep in reports:
        by_arm[(rep.model, rep.system)][rep.form][rep.target].append(rep)
    arms: list[Arm] = []
    for (model, system), forms in sorted(by_arm.items()):
        complete = [f for f, t in forms.items() if t.get("energy") and t.get("runtime")]
        if form is not None:
            complete = [f for f in complete if f == form]
        if not complete:
            continue
        chosen = sorted(
            complete,
            key=lambda f: (
                FORM_PREFERENCE.index(f) if f in FORM_PREFERENCE else len(FORM_PREFERENCE),
                f,
            ),
        )[0]
        energy_rep, notes = _pick_energy(forms[chosen]["energy"], energy)
        arms.append(
            Arm(
                model=model,
                system=system,
                form=chosen,
                energy=energy_rep,
                runtime=forms[chosen]["runtime"][0],
                accuracy=fleet.accuracy_for(model),
                task_accuracy=fleet.task_accuracy(model),
                devices_per_instance=fleet.devices_per_instance(model, system),
                notes=notes,
            )
        )
    if not arms:
        wanted = f" of form {form!r}" if form else ""
        raise ArmError(
            f"no (model, system) pair has both an energy and a runtime fit{wanted} "
            f"among {len(reports)} fit reports"
        )
    return arms
