"""What a plan says: summaries and comparison tables (``summary``), figures and the
self-contained HTML report (``html``)."""

from planner.report.summary import compare, frontier_table, json_safe, summarize

__all__ = ["compare", "frontier_table", "json_safe", "summarize"]
