"""Heavy first imports without the cyclic garbage collector.

Importing pandas (before the first chart) and cvxpy with scipy (before the first plan)
creates hundreds of thousands of long-lived objects; the collector's passes over them
are wasted work, about a fifth of those imports' time (measured: cvxpy via
planner.routing.optimize 0.51 s -> 0.41 s, the Planner page's own imports 0.27 s -> 0.22 s).
Collection pauses only while such an import runs; whichever thread paused it turns it
back on, so it is never left off.  When the block imported something new, everything alive
then is frozen (``gc.freeze``): module objects live as long as the process, and left in the
oldest generation they made every full collection walk them -- about 0.1 s, after nearly
every rerun on the Planner page.  Frozen objects are still freed by reference counting;
only cyclic garbage among them (the little that was alive at that moment) is never found.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    modules_before = len(sys.modules)
    gc.disable()
    try:
        yield
    finally:
        if len(sys.modules) > modules_before:  # a first import: its objects live for good
            gc.freeze()
        if was_enabled:
            gc.enable()
