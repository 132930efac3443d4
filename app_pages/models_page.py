"""Models: per (LLM, system) the fits of both forms, their held-out errors and charts."""

import streamlit as st

from app_pages import cache, sources, state
from app_pages.text import md
from planner.report import fit_views


def arm_picker(reports):
    arms = sorted({(r.model, r.system) for r in reports})
    forms = {arm: {r.form for r in reports if (r.model, r.system) == arm} for arm in arms}
    both = [i for i, arm in enumerate(arms) if len(forms[arm]) > 1]
    return st.selectbox(
        "LLM · system",
        arms,
        index=both[0] if both else 0,
        key="models_arm",
        format_func=lambda arm: f"{arm[0]} · {arm[1]}",
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
                f"**{report.form} form** · energy source: {fit_views.energy_source_label(report)}"
            )
            if report.is_estimated:
                st.warning("Fitted to ESTIMATED energy, not measurements.")
            st.plotly_chart(fit_views.heatmap(report), width="stretch")
            if measurements is not None and not measurements.empty:
                points = fit_views.arm_points(measurements, report)
                if len(points):
                    st.plotly_chart(
                        fit_views.measured_vs_predicted(report, points), width="stretch"
                    )
                    st.plotly_chart(fit_views.residuals(report, points), width="stretch")


@state.guarded
def page() -> None:
    st.title("Models")
    rs = state.report_set()
    st.caption(f"Data source: {md(rs.label)}.")
    if rs.citation:
        with st.expander("Citation"):
            st.text(rs.citation)
    if not rs.reports:
        st.warning("No fits available: import measurements on the Measurements page.")
        return
    st.subheader("Every arm (held-out errors from 5-fold cross-validation)")
    st.dataframe(fit_views.overview(rs.reports), width="stretch", hide_index=True)
    if rs.skipped:
        with st.expander(f"{len(rs.skipped)} fits the data cannot support"):
            st.text("\n".join(rs.skipped))
    st.subheader("One arm, paper form vs default form")
    model, system = arm_picker(rs.reports)
    left, right = st.columns(2)
    left.markdown("**Coefficients**")
    left.dataframe(fit_views.coefficient_table(rs.reports, model, system), width="stretch")
    right.markdown("**Error figures**")
    right.dataframe(
        fit_views.error_table(rs.reports, model, system), width="stretch", hide_index=True
    )
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


page()
