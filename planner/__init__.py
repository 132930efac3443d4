"""The planner: fitted energy and runtime models, workloads, fleets, routing and reports.

Data flows one way: ``fits`` (curves fitted to the store's measurements, or the shipped
catalogue) and ``workload`` (queries) and ``fleet`` (LLMs, systems, facility) feed
``routing`` (arms, the optimisation problem, its solver and the baselines), whose plans
``report`` turns into summaries, tables, figures, exports and the HTML report (it also
draws fits and measurements for the dashboard).  ``cli`` is
``python -m planner``.
"""
