"""The fleet: LLMs (accuracy, shares), systems (devices, planning window) and the facility.

``registry`` maps every name a source uses for an LLM to one canonical LLM and holds what
is known of it (parameters, default accuracy, context length, devices per instance, each
with its source); ``spec`` reads and checks a fleet (a TOML file or a dict); ``table``
builds a fleet from the dashboard's per-LLM table.  The names below load on first use
(``table`` needs pandas, ``spec`` and ``registry`` do not).
"""

from planner._lazy import lazy_api

_PUBLIC = {
    "ACCURACY_CITATION": "planner.fleet.spec",
    "Facility": "planner.fleet.spec",
    "Fleet": "planner.fleet.spec",
    "FleetError": "planner.fleet.spec",
    "LLMSpec": "planner.fleet.spec",
    "SystemSpec": "planner.fleet.spec",
    "default_accuracy": "planner.fleet.spec",
    "load_fleet": "planner.fleet.spec",
    "LLMInfo": "planner.fleet.registry",
    "LLMS": "planner.fleet.registry",
    "canonical_llm": "planner.fleet.registry",
    "lookup": "planner.fleet.registry",
    "fleet_dict": "planner.fleet.table",
    "llm_table": "planner.fleet.table",
    "missing_accuracy": "planner.fleet.table",
    "models_and_systems": "planner.fleet.table",
}
__all__ = sorted(_PUBLIC)
__getattr__ = lazy_api(__name__, _PUBLIC)
