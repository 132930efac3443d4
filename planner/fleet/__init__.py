"""The fleet: LLMs (accuracy, shares), systems (devices, planning window) and the facility."""

from planner.fleet.spec import (
    Facility,
    Fleet,
    FleetError,
    LLMSpec,
    SystemSpec,
    default_accuracy,
    load_fleet,
)

__all__ = [
    "Facility",
    "Fleet",
    "FleetError",
    "LLMSpec",
    "SystemSpec",
    "default_accuracy",
    "load_fleet",
]
