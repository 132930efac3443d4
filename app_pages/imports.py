"""Heavy first imports without the cyclic garbage collector.

Importing pandas with the fits (the Planner page's controls) and cvxpy with scipy (the
first plan) creates hundreds of thousands of long-lived objects; the collector's passes over
them during the import are wasted work.  Collection pauses only while such an import runs; whichever
thread paused it turns it back on, so it is never left off.  When the block imported
something new, everything alive then is frozen (``gc.freeze``): module objects live as long
as the process, and left in the oldest generation they would make every full collection
walk them, after nearly every rerun.  Frozen objects are still freed by reference counting;
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
