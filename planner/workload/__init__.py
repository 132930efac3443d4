"""Workloads: queries with token counts read from files (``formats``, ``load``), synthetic
workloads (``synthetic``) and the token histogram (``histogram``).

The public names below load on first use: ``synthetic`` and ``histogram`` need numpy
alone, and the dashboard draws its first chart from them before pandas is imported.
"""

from importlib import import_module

_PUBLIC = {
    "Workload": "planner.workload.load",
    "load_workload": "planner.workload.load",
    "synthetic_workload": "planner.workload.load",
    "WorkloadError": "planner.workload.formats",
    "synthetic_tokens": "planner.workload.synthetic",
    "token_histogram": "planner.workload.histogram",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
