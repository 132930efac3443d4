"""The sidebar's sources of arms: the serving catalogue (ML.ENERGY's measured serving
setups, continuous batching on H100 and B200: what the app opens on), the paper's reference
catalogue, or fits of the session's store, each labelled with where it came from (``cache``
keeps one of each).

Plain functions, tested without streamlit; ``planner.report.fit_views`` draws the fits.
A store is named by its file name alone: the label reaches the exports (summary JSON, HTML
report) that leave the server, and the server's folders are none of their readers' business.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from planner.fits.curves import FitReport

KIND_CATALOGUE = "catalogue"
KIND_STORE = "store"
KIND_SERVING = "serving"
SERVING_LABEL = (
    "Serving catalogue (ML.ENERGY Leaderboard v3: vLLM continuous batching on H100 and B200)"
)


@dataclass
class ReportSet:
    """Fits from one data source, with a label that says where they came from."""

    kind: str
    reports: list[FitReport]
    label: str
    citation: str = ""
    skipped: list[str] = field(default_factory=list)
    devices_per_instance: dict[str, int] = field(default_factory=dict)
    # a serving set's arms (planner.serving ServingArm, fitted) and their measured points
    # (serving rows); its ``reports`` stay empty: serving arms are planned at an operating
    # point chosen with the plan's settings (planner.routing.arms.build_serving_arms)
    serving: list = field(default_factory=list)
    serving_rows: object = None
    caveats: list[str] = field(default_factory=list)

    @property
    def is_serving(self) -> bool:
        return self.kind == KIND_SERVING

    def serving_tasks(self) -> list[str]:
        return sorted({a.setup.task for a in self.serving})

    def serving_of_task(self, task: str) -> list:
        return [a for a in self.serving if a.setup.task == task]

    def of_form(self, form: str) -> list[FitReport]:
        return [r for r in self.reports if r.form == form]

    def forms(self) -> list[str]:
        return sorted({r.form for r in self.reports})


def catalogue_reports(path: str | Path | None = None) -> ReportSet:
    """The committed reference catalogue (planner.fits.catalogue)."""
    from planner.fits.catalogue import load_catalogue

    cat = load_catalogue(path)
    return ReportSet(
        KIND_CATALOGUE,
        list(cat.reports),
        "Reference catalogue (published fits and fits of the paper's data)",
        citation=cat.citation,
        devices_per_instance=dict(cat.gpus_per_instance),
    )


def store_reports(store_path: str | Path) -> ReportSet:
    """Fits of every arm in the store, both forms, as the CLI reads them (saved in the store
    once per version of its rows: ``planner.fits.sources.store_fits``); arms that cannot be
    fitted say why."""
    from measure.store import Store
    from planner.fits.sources import store_fits

    store = f"store {Path(store_path).name}"
    fits = store_fits(Store(store_path), label=store)
    skipped = [
        f"{model} · {system} ({target}, {form} form): {reason}"
        for model, system, target, form, reason in fits.skipped
    ]
    label = f"Fits of the measurements in {store}"
    if fits.refitted and not fits.saved:  # the notes name server paths: kept out of the label
        label += " (fitted in memory, not saved in the store)"
    return ReportSet(KIND_STORE, fits.reports, label, skipped=skipped)


def serving_set(path: str | Path | None = None) -> ReportSet:
    """The embedded serving catalogue (``planner.serving.embedded``): every setup's
    operating-point model fitted on its measured points, with the citation and licence."""
    from planner.serving.embedded import embedded_arms, read_embedded

    catalogue = read_embedded(path)
    return ReportSet(
        KIND_SERVING,
        [],
        SERVING_LABEL,
        citation=f"{catalogue.citation}. Licence: {catalogue.licence}.",
        serving=embedded_arms(catalogue),
        serving_rows=catalogue.rows,
        caveats=list(catalogue.caveats),
    )
