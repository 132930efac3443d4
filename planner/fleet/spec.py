"""The fleet: what each LLM scores, what each system has, and what the facility costs.

A TOML file for the CLI (every key optional; names as in the store)::

    min_share_fraction = 0.25          # of each share, as in the paper
    [llm."Llama-2-7b-chat-hf"]
    accuracy = 50.97                   # A_K in percent
    share = 0.05                       # gamma_K
    devices_per_instance = 1           # or a table by system: {"M1-Pro" = 1, ...}
    [llm."Llama-2-7b-chat-hf".task_accuracy]
    math = 14.6
    [system."argonne-swing"]
    devices = 8
    window_h = 24
    [facility]
    pue = 1.2
    carbon_g_per_kwh = 400
    price_per_kwh = 0.15

Accuracy defaults: the Open LLM Leaderboard averages the paper used (Wilkins, "Offline
Energy-Optimal LLM Serving", thesis Table 4.1; the same scores in Wilkins, Keshav and
Mortier, HotCarbon '24), keyed by the leaderboard's names.  ``default_accuracy`` also finds
them under the names the published measurement files use (``Llama-2-7b-chat-hf``,
``falcon-7b``, ...); it never renames anything, it only looks the score up.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ACCURACY_CITATION = (
    "Open LLM Leaderboard average scores as used by Wilkins, Keshav and "
    "Mortier, HotCarbon '24 (thesis Table 4.1)"
)

# A_K in percent, by the leaderboard's names (thesis Table 4.1).
DEFAULT_ACCURACY: dict[str, float] = {
    "Falcon (7B)": 44.17,
    "Falcon (40B)": 58.07,
    "Llama-2 (7B)": 50.97,
    "Llama-2 (13B)": 55.69,
    "Llama-2 (70B)": 64.52,
    "Mistral (7B)": 60.97,
    "Mixtral (8x7B)": 68.47,
}
# Minimum number of A100 40 GB GPUs one instance needs (thesis Table 4.1).
DEFAULT_DEVICES_PER_INSTANCE: dict[str, int] = {
    "Falcon (7B)": 1,
    "Falcon (40B)": 3,
    "Llama-2 (7B)": 1,
    "Llama-2 (13B)": 1,
    "Llama-2 (70B)": 4,
    "Mistral (7B)": 1,
    "Mixtral (8x7B)": 3,
}
# Other spellings of the same LLMs (the published files' own names) -> leaderboard name.
ACCURACY_ALIASES: dict[str, str] = {
    "Llama-2-7b-chat-hf": "Llama-2 (7B)",
    "Llama-2-13b-chat-hf": "Llama-2 (13B)",
    "Llama-2-70b-chat-hf": "Llama-2 (70B)",
    "falcon-7b": "Falcon (7B)",
    "falcon-40b": "Falcon (40B)",
    "Mistral-7B-v0.1": "Mistral (7B)",
    "Mixtral-8x7B-v0.1": "Mixtral (8x7B)",
}


class FleetError(ValueError):
    """A fleet description cannot be used; the message names the file and key."""


def _canonical(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", name.lower())


_CANONICAL = {_canonical(k): k for k in DEFAULT_ACCURACY}
_CANONICAL.update({_canonical(k): v for k, v in ACCURACY_ALIASES.items()})


def leaderboard_name(model: str) -> str | None:
    """The leaderboard name an LLM's scores are filed under, or None if unknown."""
    return _CANONICAL.get(_canonical(model))


def default_accuracy(model: str) -> float | None:
    name = leaderboard_name(model)
    return DEFAULT_ACCURACY[name] if name else None


@dataclass
class LLMSpec:
    """``devices_per_instance`` is one number for every system, or a dict by system name."""

    accuracy: float | None = None
    share: float | None = None
    devices_per_instance: int | dict[str, int] | None = None
    task_accuracy: dict[str, float] = field(default_factory=dict)


@dataclass
class SystemSpec:
    """``devices`` None means the planner puts no capacity limit on the system."""

    devices: int | None = None
    window_h: float = 24.0

    @property
    def capacity_device_s(self) -> float:
        return math.inf if self.devices is None else self.devices * self.window_h * 3600.0


@dataclass
class Facility:
    pue: float = 1.0
    carbon_g_per_kwh: float | None = None
    price_per_kwh: float | None = None


@dataclass
class Fleet:
    min_share_fraction: float = 0.25
    llm: dict[str, LLMSpec] = field(default_factory=dict)
    system: dict[str, SystemSpec] = field(default_factory=dict)
    facility: Facility = field(default_factory=Facility)
    source: str = "defaults"

    def accuracy_for(self, model: str, task: str | None = None) -> float:
        """A_K (percent) for a task: the fleet's per-task or overall score, else the default."""
        spec = self.llm.get(model)
        if spec is not None and task is not None and task in spec.task_accuracy:
            return float(spec.task_accuracy[task])
        if spec is not None and spec.accuracy is not None:
            return float(spec.accuracy)
        score = default_accuracy(model)
        if score is None:
            raise FleetError(
                f"no accuracy score for LLM {model!r}: give one in the fleet "
                f'([llm."{model}"] accuracy = ...); defaults exist only for '
                f"{', '.join(DEFAULT_ACCURACY)}"
            )
        return score

    def task_accuracy(self, model: str) -> dict[str, float]:
        spec = self.llm.get(model)
        return dict(spec.task_accuracy) if spec else {}

    def devices_per_instance(self, model: str, system: str | None = None) -> int:
        """Devices one instance of the LLM needs (on ``system`` where the fleet says);
        else the paper's minimum A100 count for a known LLM; else 1."""
        spec = self.llm.get(model)
        per = None if spec is None else spec.devices_per_instance
        if isinstance(per, dict):
            per = per.get(system) if system is not None else None
        if per is not None:
            return int(per)
        name = leaderboard_name(model)
        return DEFAULT_DEVICES_PER_INSTANCE.get(name, 1) if name else 1

    def share(self, model: str) -> float | None:
        spec = self.llm.get(model)
        return None if spec is None else spec.share

    def capacity_device_s(self, system: str) -> float:
        spec = self.system.get(system)
        return math.inf if spec is None else spec.capacity_device_s

    @classmethod
    def from_dict(cls, d: dict, source: str = "<fleet>") -> Fleet:
        return _fleet_from_dict(d, source)

    def to_dict(self) -> dict:
        out: dict = {"min_share_fraction": self.min_share_fraction, "llm": {}, "system": {}}
        for name, spec in self.llm.items():
            entry = {k: v for k, v in vars(spec).items() if v not in (None, {})}
            out["llm"][name] = entry
        for name, spec in self.system.items():
            out["system"][name] = {k: v for k, v in vars(spec).items() if v is not None}
        out["facility"] = {k: v for k, v in vars(self.facility).items() if v is not None}
        return out


def _number(
    value, where: str, lo: float, hi: float = math.inf, integer: bool = False, lo_open: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise FleetError(f"{where}: expected a number, got {value!r}")
    if integer and value != int(value):
        raise FleetError(f"{where}: expected a whole number, got {value!r}")
    if value < lo or (lo_open and value == lo) or value > hi:
        bound = f"> {lo:g}" if lo_open else f">= {lo:g}"
        upper = f" and <= {hi:g}" if math.isfinite(hi) else ""
        raise FleetError(f"{where}: {value!r} is out of range (must be {bound}{upper})")
    return int(value) if integer else float(value)


def _check_keys(d, allowed: set[str], where: str) -> None:
    if not isinstance(d, dict):
        raise FleetError(f"{where}: expected a table, got {type(d).__name__}")
    unknown = set(d) - allowed
    if unknown:
        raise FleetError(
            f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
            f"(allowed: {', '.join(sorted(allowed))})"
        )


def _llm_spec(d: dict, where: str) -> LLMSpec:
    _check_keys(d, {"accuracy", "share", "devices_per_instance", "task_accuracy"}, where)
    tasks = d.get("task_accuracy", {})
    _check_keys(tasks, set(tasks) if isinstance(tasks, dict) else set(), f"{where}.task_accuracy")
    return LLMSpec(
        accuracy=None
        if "accuracy" not in d
        else _number(d["accuracy"], f"{where}.accuracy", 0, 100),
        share=None if "share" not in d else _number(d["share"], f"{where}.share", 0, 1),
        devices_per_instance=_devices(d.get("devices_per_instance"), where),
        task_accuracy={
            str(t): _number(v, f"{where}.task_accuracy.{t}", 0, 100) for t, v in tasks.items()
        },
    )


def _devices(value, where: str):
    if value is None:
        return None
    if isinstance(value, dict):
        return {
            str(system): _number(v, f'{where}.devices_per_instance."{system}"', 1, integer=True)
            for system, v in value.items()
        }
    return _number(value, f"{where}.devices_per_instance", 1, integer=True)


def _fleet_from_dict(d: dict, source: str) -> Fleet:
    _check_keys(d, {"min_share_fraction", "llm", "system", "facility"}, source)
    llms = d.get("llm", {})
    systems = d.get("system", {})
    fac = d.get("facility", {})
    for table, where in ((llms, "llm"), (systems, "system")):
        if not isinstance(table, dict):
            raise FleetError(f"{source}: [{where}] must be a table of named entries")
    _check_keys(fac, {"pue", "carbon_g_per_kwh", "price_per_kwh"}, f"{source}: [facility]")
    llm = {str(k): _llm_spec(v, f'{source}: llm."{k}"') for k, v in llms.items()}
    system = {}
    for name, spec in systems.items():
        where = f'{source}: system."{name}"'
        _check_keys(spec, {"devices", "window_h"}, where)
        system[str(name)] = SystemSpec(
            devices=None
            if "devices" not in spec
            else _number(spec["devices"], f"{where}.devices", 0, integer=True),
            window_h=_number(spec.get("window_h", 24.0), f"{where}.window_h", 0, lo_open=True),
        )
    facility = Facility(
        pue=_number(fac.get("pue", 1.0), f"{source}: facility.pue", 1.0),
        carbon_g_per_kwh=None
        if "carbon_g_per_kwh" not in fac
        else _number(fac["carbon_g_per_kwh"], f"{source}: facility.carbon_g_per_kwh", 0),
        price_per_kwh=None
        if "price_per_kwh" not in fac
        else _number(fac["price_per_kwh"], f"{source}: facility.price_per_kwh", 0),
    )
    fraction = _number(d.get("min_share_fraction", 0.25), f"{source}: min_share_fraction", 0, 1)
    return Fleet(
        min_share_fraction=fraction, llm=llm, system=system, facility=facility, source=source
    )


def load_fleet(path: str | Path) -> Fleet:
    """Read a fleet TOML file; a FleetError names the file and the offending key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FleetError(f"{path}: cannot read fleet file: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FleetError(f"{path}: not valid TOML: {exc}") from exc
    return _fleet_from_dict(data, str(path))
