"""What the planner shows people: plans as figures (``summary``) and in the reader's words
(``tables``), charts of workloads and plans (``figures``), of fitted curves (``fit_views``)
and of measurements (``measurement_views``), files to download (``exports``) and the
self-contained HTML report (``html``, opening with ``narrative``'s summary paragraph).
``caveats`` words what a reader must know about a plan's figures (the CLI, the exports and
the dashboard all take them from there); ``units`` holds the conversions and the one
number formatter they share and ``labels`` the arm label and the escaping every chart
applies to names from data.

A new chart goes into the module of what it shows: a plan, frontier or workload in
``figures``, a fit in ``fit_views``, measurements in ``measurement_views``.  Nothing here
imports streamlit; the dashboard's pages lay these out.  The names below load on first use,
so a page that needs one module does not load the solver behind ``summary``.
"""

from planner._lazy import lazy_api

_PUBLIC = {
    "compare": "planner.report.summary",
    "frontier_table": "planner.report.summary",
    "json_safe": "planner.report.summary",
    "summarize": "planner.report.summary",
    "PlanSetup": "planner.report.exports",
    "assignments_csv": "planner.report.exports",
    "html_bytes": "planner.report.exports",
    "summary_json": "planner.report.exports",
    "build_html_report": "planner.report.html",
    "main_caveats": "planner.report.caveats",
    "plan_caveats": "planner.report.caveats",
    "summary_paragraph": "planner.report.narrative",
    "J_PER_KWH": "planner.report.units",
}
__all__ = sorted(_PUBLIC)
__getattr__ = lazy_api(__name__, _PUBLIC)
