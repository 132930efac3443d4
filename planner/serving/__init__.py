"""Serving: what one LLM on one system does under continuous batching, per batch size.

``setups`` names a serving setup (the arm key: model, system, GPUs per instance, weight
precision, task, engine) and groups serving rows by it; ``operating`` fits, per setup, how
energy per output token, throughput and inter-token latency move with the running batch;
``catalogue`` turns the store's serving rows into fitted arms with their source and caveats;
``idle`` (GPU idle power), ``queueing`` and ``estimate`` use those arms.  The names below
load on first use (pandas and SciPy come in with ``operating`` and ``catalogue``).
"""

from planner._lazy import lazy_api

_PUBLIC = {
    "ServingSetup": "planner.serving.setups",
    "group_setups": "planner.serving.setups",
    "merge_batches": "planner.serving.setups",
    "OperatingPoint": "planner.serving.operating",
    "OperatingPointModel": "planner.serving.operating",
    "CV_TARGETS": "planner.serving.operating",
    "PREFILL_NOTE": "planner.serving.catalogue",
    "ServingArm": "planner.serving.catalogue",
    "serving_arms": "planner.serving.catalogue",
    "DEFAULT_IDLE_POWER_W": "planner.serving.idle",
    "idle_power_w": "planner.serving.idle",
    "estimate": "planner.serving.estimate",
    "load_embedded_serving": "planner.serving.embedded",
    "read_embedded": "planner.serving.embedded",
}
__all__ = sorted(_PUBLIC)
__getattr__ = lazy_api(__name__, _PUBLIC)
