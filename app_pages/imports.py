"""Heavy first imports without the cyclic garbage collector.

Importing pandas (before the first chart) and cvxpy with scipy (before the first plan)
creates hundreds of thousands of long-lived objects; the collector's passes over them
are wasted work, about a fifth of those imports' time (measured: cvxpy via
planner.optimize 0.51 s -> 0.41 s, the Planner page's own imports 0.27 s -> 0.22 s).
Collection pauses only while such an import runs; whichever thread paused it turns it
back on, so it is never left off.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
