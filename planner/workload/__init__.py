"""Workloads: queries with token counts read from files (``formats``, ``load``), synthetic
workloads (``synthetic``) and the token histogram (``histogram``).

``synthetic`` and ``histogram`` need numpy alone (the dashboard draws its first chart
from them before pandas is imported), so the names below load on first use.
"""

from planner._lazy import lazy_api

_PUBLIC = {
    "Workload": "planner.workload.load",
    "load_workload": "planner.workload.load",
    "synthetic_workload": "planner.workload.load",
    "WorkloadError": "planner.workload.formats",
    "synthetic_tokens": "planner.workload.synthetic",
    "token_histogram": "planner.workload.histogram",
}
__all__ = sorted(_PUBLIC)
__getattr__ = lazy_api(__name__, _PUBLIC)
