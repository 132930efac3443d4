"""Models: per (LLM, system) the fits of both forms, their held-out errors and charts; for
the serving catalogue, per serving setup its energy per token, throughput and ITL p90
against batch (measured points and the fitted operating-point model), with the citation and
what the figures leave out next to them."""

import streamlit as st

from app_pages import cache, display, sources, state
from app_pages.text import md
from planner.report import fit_views
from planner.report.units import NOTHING

MISSING = (
    f"{NOTHING}: no such figure. Published fits (the paper's coefficients) come without "
    "held-out errors or a row count, a fit the data could not cross-validate has no "
    "held-out figures, and a form without a term has no coefficient for it."
)
FLOORED = (
    "This fit has a negative coefficient: in part of the map its prediction falls as a "
    "query grows, and it may reach zero or below (e.g. long prompts with short outputs); "
    "the map draws a prediction of zero or less in its lightest colour. Planning never "
    "uses such figures: a query is charged at least the fit's physical floor (its figure "
    "for the measured query the query dominates), and the plan's caveats count those "
    "queries."
)

HEADERS = {  # the fit tables' keys in a reader's words
    "model": "LLM",
    "system": "System",
    "form": "Form",
    "target": "Target",
    "n": "Rows fitted",
    "energy n": "energy rows fitted",
    "runtime n": "runtime rows fitted",
    "notes": "Notes",
}


def arm_picker(reports):
    arms = sorted({(r.model, r.system) for r in reports}, key=lambda arm: display.arm_name(*arm))
    forms = {arm: {r.form for r in reports if (r.model, r.system) == arm} for arm in arms}
    both = [i for i, arm in enumerate(arms) if len(forms[arm]) > 1]
    return st.selectbox(
        "LLM · system",
        arms,
        index=both[0] if both else 0,
        key="models_arm",
        format_func=lambda arm: display.arm_name(*arm),
    )


def fit_charts(reports, model, system, target, measurements) -> None:
    chosen = [r for r in reports if (r.model, r.system, r.target) == (model, system, target)]
    if not chosen:
        st.warning(f"No {target} fit for this arm.")
        return
    columns = st.columns(len(chosen))
    for col, report in zip(columns, sorted(chosen, key=lambda r: r.form, reverse=True)):
        with col:
            st.markdown(
                f"**{md(report.form)} form** · energy source: "
                f"{md(fit_views.energy_source_label(report))}"
            )
            if report.is_estimated:
                st.warning("Fitted to ESTIMATED energy, not measurements.")
            st.plotly_chart(fit_views.heatmap(report), width="stretch")
            if not report.curve.monotone:
                st.caption(FLOORED)
            if measurements is not None and not measurements.empty:
                points = fit_views.arm_points(measurements, report)
                if len(points):
                    st.plotly_chart(
                        fit_views.measured_vs_predicted(report, points), width="stretch"
                    )
                    st.plotly_chart(fit_views.residuals(report, points), width="stretch")


SERVING_HEADERS = {
    "model": "LLM",
    "system": "System",
    "gpus": "GPUs per instance",
    "precision": "Weights",
    "task": "Task",
    "batches": "Batch sizes measured",
    "batch_range": "Batch range",
    "energy_per_token_j_at_max": "J per output token at the largest batch",
    "throughput_tps_at_max": "Output tokens/s at the largest batch",
    "itl_ms_p90_at_max": "ITL p90 (ms) at the largest batch",
}


def serving_page(rs) -> None:
    """Every serving setup with its held-out errors, then one setup's three curves."""
    from planner.report import serving_views

    st.subheader("Every serving setup (held-out errors: leave one batch size out)")
    overview = serving_views.serving_overview(rs.serving).rename(columns=SERVING_HEADERS)
    display.table(display.llm_names(overview, "LLM"))
    st.caption(
        f"{NOTHING}: fewer than 3 batch sizes measured, so no held-out figure. "
        "Planning runs each setup at one batch (the Planner page's ITL p90 target)."
    )
    st.subheader("One serving setup against batch")
    by_label = {a.setup.label: a for a in sorted(rs.serving, key=lambda a: a.setup.label)}
    arm = by_label[st.selectbox("Serving setup", list(by_label), key="models_serving_setup")]
    caveats = "; ".join(arm.caveats)
    st.info(
        md(
            f"Source: {arm.source}. {_licence_only(rs.citation, arm.source)}What these "
            f"figures leave out: {caveats}. "
            "A fleet adds the idle power of provisioned GPUs and the facility's PUE (the "
            "Planner page shows idle energy apart)."
        )
    )
    points = serving_views.setup_rows(rs.serving_rows, arm.setup)
    columns = st.columns(3)
    for col, (target, fig) in zip(columns, serving_views.serving_figures(arm, points).items()):
        col.plotly_chart(fig, width="stretch", key=f"serving_{target}")
    st.caption(
        "Points: measured steady-state serving at one batch limit each (mean batch on the "
        "x axis); line: the fitted operating-point model (dashed where it extrapolates "
        "below the smallest measured batch)."
    )


@state.guarded
def page() -> None:
    st.title("Models")
    rs = state.report_set()
    st.caption(f"Data source: {md(rs.label)}.")
    if rs.is_serving:
        with st.expander("Citation and licence"):
            st.text(rs.citation)
        serving_page(rs)
        return
    if rs.citation:
        with st.expander("Citation"):
            st.text(rs.citation)
    if not rs.reports:
        st.warning("No fits available: import measurements on the Measurements page.")
        return
    st.subheader("Every arm (held-out errors from 5-fold cross-validation)")
    overview = display.llm_names(fit_views.overview(rs.reports), "model")
    display.table(overview.rename(columns=HEADERS))
    st.caption(MISSING)
    if rs.skipped:
        with st.expander(f"{len(rs.skipped)} fits the data cannot support"):
            st.text("\n".join(rs.skipped))
    st.subheader("One arm, paper form vs default form")
    model, system = arm_picker(rs.reports)
    left, right = st.columns(2)
    left.markdown("**Coefficients**")
    coefficients = fit_views.coefficient_table(rs.reports, model, system).rename_axis("Term")
    display.table(coefficients, left, hide_index=False)
    right.markdown("**Error figures**")
    display.table(fit_views.error_table(rs.reports, model, system).rename(columns=HEADERS), right)
    st.caption(f"{NOTHING}: this form has no such term, or the fit no such figure.")
    target = st.radio("Target", ("energy", "runtime"), horizontal=True, key="models_target")
    measurements = None
    if rs.kind == sources.KIND_STORE:
        path = state.store_path()
        measurements = cache.measurements(str(path), cache.store_version(path))
    else:
        st.caption(
            "Measured vs predicted and residuals need the raw measurements: import the "
            "paper's files into a store and choose 'This store' in the sidebar."
        )
    fit_charts(rs.reports, model, system, target, measurements)


def _licence_only(citation: str, source: str) -> str:
    """The catalogue's citation, or only its licence sentence where the arm's source already
    carries the citation (said once, not twice)."""
    cited, _, licence = (citation or "").partition(". Licence:")
    if cited and cited in source:
        return f"Licence:{licence} " if licence else ""
    return f"{citation} " if citation else ""


page()
