"""The dashboard's pages and their Streamlit glue.

Pages (``*_page.py``, and ``planner_view``, the Planner page below its first chart) lay out
widgets and read like a description of the UI.  The glue: ``state`` (session defaults, the
sidebar, the error guard), ``settings`` (the Planner page's settings), ``plan_state`` (the
plan every page shows), ``cache`` (Streamlit caches and their keys) and ``bundle`` (the
cached Planner and its plans), ``caveats_view`` (a plan's caveats beside its figures),
``display`` (tables with one name per LLM, no missing figure drawn as "None"), ``sources``
(catalogue or store fits), ``uploads`` and ``local_sweep`` (form input in, a workload, an
import or a sweep out), ``context`` (where the store lives), ``text`` (user text made
literal for markdown) and ``imports`` (heavy first imports without the garbage collector).

What a page shows is built in ``planner`` without streamlit: charts and tables in
``planner.report`` (a new chart goes there), the fleet from the page's tables (one row per
LLM, one per system) in ``planner.fleet``.
"""
