"""The fleet: what each LLM scores, what each system has, and what the facility costs.

A TOML file for the CLI (every key optional)::

    min_share_fraction = 0.25          # of each share, as in the paper
    [llm."Llama-2-7b-chat-hf"]         # any name a source uses for the LLM
    accuracy = 50.97                   # A_K in percent
    share = 0.05                       # gamma_K
    devices_per_instance = 1           # or a table by system: {"M1-Pro" = 1, ...}
    include = true                     # false: leave the LLM out of planning
    [llm."Llama-2-7b-chat-hf".task_accuracy]
    math = 14.6
    [system."argonne-swing"]
    devices = 8
    window_h = 24
    include = true                     # false: leave the system out of planning
    [facility]
    pue = 1.2
    carbon_g_per_kwh = 400
    price_per_kwh = 0.15
    currency = "EUR"                   # of price_per_kwh, as reports show it (default USD)

``[llm."X"]`` entries are per LLM, whichever of its names (``planner.fleet.registry``) the
file uses: ``Mistral (7B)`` and ``Mistral-7B-v0.1`` are one LLM, and one file naming both
is refused.  Names are checked against the fits being planned when arms are built
(``Fleet.check_names``): a misspelt LLM or system is an error naming it, not a silently
ignored entry.  Shares summing to more than 1 are refused here.

Accuracy and devices-per-instance defaults come from the registry
(``planner.fleet.registry``), which owns them with their sources; the names below
(``DEFAULT_ACCURACY``, ``ACCURACY_ALIASES``, ...) are views of it.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from planner.fleet.registry import ACCURACY_CITATION, LLMS, canonical_llm, lookup, normalise

__all__ = [
    "ACCURACY_ALIASES",
    "ACCURACY_CITATION",
    "DEFAULT_ACCURACY",
    "DEFAULT_DEVICES_PER_INSTANCE",
    "Facility",
    "Fleet",
    "FleetError",
    "LLMSpec",
    "SystemSpec",
    "default_accuracy",
    "leaderboard_name",
    "load_fleet",
]

# Views of the registry (its owner): every sourced default score by canonical name (the
# paper's A_K, and the ML.ENERGY LLMs' GPQA Diamond scores: each entry names its source),
# the paper's own A_K (its catalogue carries those alone), its minimum A100 40 GB GPUs per
# instance, and the paper's files' names for its LLMs.
DEFAULT_ACCURACY: dict[str, float] = {i.name: i.accuracy for i in LLMS if i.accuracy is not None}
PAPER_ACCURACY: dict[str, float] = {
    i.name: i.accuracy
    for i in LLMS
    if i.accuracy is not None and i.accuracy_source == ACCURACY_CITATION
}
DEFAULT_DEVICES_PER_INSTANCE: dict[str, int] = {
    i.name: i.devices_per_instance for i in LLMS if i.devices_per_instance is not None
}
ACCURACY_ALIASES: dict[str, str] = {
    alias: i.name
    for i in LLMS
    if i.name in PAPER_ACCURACY
    for alias in i.aliases
    if "/" not in alias  # the files' own names, not hub ids
}
SHARE_TOLERANCE = 1e-9  # shares may sum to 1 up to rounding


class FleetError(ValueError):
    """A fleet description cannot be used; the message names the file and key."""


def leaderboard_name(model: str) -> str | None:
    """The name an LLM's default score is filed under, or None if it has none."""
    info = lookup(model)
    return info.name if info is not None and info.name in DEFAULT_ACCURACY else None


def default_accuracy(model: str) -> float | None:
    name = leaderboard_name(model)
    return DEFAULT_ACCURACY[name] if name else None


def close_match(name: str, known) -> str | None:
    """The known name closest to a misspelt one (same letters and digits first), or None."""
    known = sorted(set(map(str, known)))
    same = [k for k in known if normalise(k) == normalise(name)]
    if same:
        return same[0]
    hits = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
    if not hits:
        by_form = {normalise(k): k for k in known}
        hits = [by_form[h] for h in difflib.get_close_matches(normalise(name), by_form, n=1)]
    return hits[0] if hits else None


@dataclass
class LLMSpec:
    """``devices_per_instance`` is one number for every system, or a dict by system name;
    ``include`` False leaves the LLM out of planning."""

    accuracy: float | None = None
    share: float | None = None
    devices_per_instance: int | dict[str, int] | None = None
    task_accuracy: dict[str, float] = field(default_factory=dict)
    include: bool = True


@dataclass
class SystemSpec:
    """``devices`` None means the planner puts no capacity limit on the system;
    ``include`` False leaves the system out of planning."""

    devices: int | None = None
    window_h: float = 24.0
    include: bool = True

    @property
    def capacity_device_s(self) -> float:
        return math.inf if self.devices is None else self.devices * self.window_h * 3600.0


@dataclass
class Facility:
    pue: float = 1.0
    carbon_g_per_kwh: float | None = None
    price_per_kwh: float | None = None
    currency: str = "USD"


@dataclass
class Fleet:
    """Settings per LLM (keyed by any of its names; looked up by its canonical one), per
    system (keyed by the data's exact name) and for the facility."""

    min_share_fraction: float = 0.25
    llm: dict[str, LLMSpec] = field(default_factory=dict)
    system: dict[str, SystemSpec] = field(default_factory=dict)
    facility: Facility = field(default_factory=Facility)
    source: str = "defaults"

    def llm_key(self, model: str) -> str | None:
        """The ``[llm."X"]`` key of the fleet's entry for this LLM (any of its names)."""
        if model in self.llm:
            return model
        llm = canonical_llm(model)
        return next((k for k in self.llm if canonical_llm(k) == llm), None)

    def llm_spec(self, model: str) -> LLMSpec | None:
        key = self.llm_key(model)
        return None if key is None else self.llm[key]

    def accuracy_for(self, model: str, task: str | None = None) -> float:
        """A_K (percent) for a task: the fleet's per-task or overall score, else the default."""
        spec = self.llm_spec(model)
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

    def has_accuracy(self, model: str) -> bool:
        spec = self.llm_spec(model)
        return (spec is not None and spec.accuracy is not None) or default_accuracy(
            model
        ) is not None

    def task_accuracy(self, model: str) -> dict[str, float]:
        spec = self.llm_spec(model)
        return dict(spec.task_accuracy) if spec else {}

    def devices_per_instance(self, model: str, system: str | None = None) -> int:
        """Devices one instance of the LLM needs (on ``system`` where the fleet says);
        else the registry's figure for a known LLM; else 1."""
        spec = self.llm_spec(model)
        per = None if spec is None else spec.devices_per_instance
        if isinstance(per, dict):
            per = per.get(system) if system is not None else None
        if per is not None:
            return int(per)
        info = lookup(model)
        return info.devices_per_instance if info and info.devices_per_instance else 1

    def share(self, model: str) -> float | None:
        spec = self.llm_spec(model)
        return None if spec is None else spec.share

    def includes_llm(self, model: str) -> bool:
        spec = self.llm_spec(model)
        return spec is None or spec.include

    def includes_system(self, system: str) -> bool:
        spec = self.system.get(system)
        return spec is None or spec.include

    def capacity_device_s(self, system: str) -> float:
        spec = self.system.get(system)
        return math.inf if spec is None else spec.capacity_device_s

    def check_names(self, models, systems) -> None:
        """Raise a FleetError naming every ``[llm."X"]`` key that is no LLM among ``models``
        (the fits' names, any spelling of one LLM counts) and every ``[system."Y"]`` key
        that is none of ``systems``, with the known names and the closest of them."""
        models, systems = sorted(set(models)), sorted(set(systems))
        llms = sorted({canonical_llm(m) for m in models})
        problems = []
        for key in self.llm:
            if canonical_llm(key) not in llms:
                problems.append(_unknown("llm", key, "LLM", llms, sorted(set(llms) | set(models))))
        for key in self.system:
            if key not in systems:
                problems.append(_unknown("system", key, "system", systems, systems))
        if problems:
            raise FleetError(f"{self.source}: " + "; ".join(problems))

    @classmethod
    def from_dict(cls, d: dict, source: str = "<fleet>") -> Fleet:
        return _fleet_from_dict(d, source)

    def to_dict(self) -> dict:
        out: dict = {"min_share_fraction": self.min_share_fraction, "llm": {}, "system": {}}
        for name, spec in self.llm.items():
            out["llm"][name] = _entry(spec)
        for name, spec in self.system.items():
            out["system"][name] = _entry(spec)
        out["facility"] = {k: v for k, v in vars(self.facility).items() if v is not None}
        return out


def _entry(spec) -> dict:
    """A spec's keys as a file would write them: unset ones and ``include = true`` left out."""
    return {
        k: v
        for k, v in vars(spec).items()
        if v is not None and not (isinstance(v, dict) and not v) and not (k == "include" and v)
    }


def _unknown(table: str, key: str, what: str, known: list[str], candidates: list[str]) -> str:
    guess = close_match(key, candidates)
    hint = f'; did you mean "{guess}"?' if guess else ""
    listed = ", ".join(known) if known else "none"
    return f'[{table}."{key}"] names no {what} in the fits being planned ({listed}){hint}'


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
    _check_keys(d, {"accuracy", "share", "devices_per_instance", "task_accuracy", "include"}, where)
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
        include=_flag(d.get("include", True), f"{where}.include"),
    )


def _currency(value, where: str) -> str:
    """A currency as reports print it beside a cost: a short code or symbol (EUR, $)."""
    text = value.strip() if isinstance(value, str) else None
    if not text or len(text) > 12 or not text.isprintable():
        raise FleetError(f'{where}: expected a short currency code such as "EUR", got {value!r}')
    return text


def _flag(value, where: str) -> bool:
    if not isinstance(value, bool):
        raise FleetError(f"{where}: expected true or false, got {value!r}")
    return value


def _devices(value, where: str):
    if value is None:
        return None
    if isinstance(value, dict):
        return {
            str(system): _number(v, f'{where}.devices_per_instance."{system}"', 1, integer=True)
            for system, v in value.items()
        }
    return _number(value, f"{where}.devices_per_instance", 1, integer=True)


def _check_one_entry_per_llm(llm: dict[str, LLMSpec], source: str) -> None:
    by_llm: dict[str, list[str]] = {}
    for key in llm:
        by_llm.setdefault(canonical_llm(key), []).append(key)
    for name, keys in by_llm.items():
        if len(keys) > 1:
            entries = " and ".join(f'[llm."{k}"]' for k in keys)
            raise FleetError(
                f"{source}: {entries} name one LLM ({name}): merge them into one entry"
            )


def _check_shares(llm: dict[str, LLMSpec], source: str) -> None:
    shares = {k: s.share for k, s in llm.items() if s.share is not None}
    total = sum(shares.values())
    if total > 1.0 + SHARE_TOLERANCE:
        listed = ", ".join(f'llm."{k}".share = {v:g}' for k, v in shares.items())
        raise FleetError(
            f"{source}: the shares sum to {total:.4g}, more than 1 ({listed}): a share is "
            "the LLM's fraction of all queries"
        )


def _fleet_from_dict(d: dict, source: str) -> Fleet:
    _check_keys(d, {"min_share_fraction", "llm", "system", "facility"}, source)
    llms = d.get("llm", {})
    systems = d.get("system", {})
    fac = d.get("facility", {})
    for table, where in ((llms, "llm"), (systems, "system")):
        if not isinstance(table, dict):
            raise FleetError(f"{source}: [{where}] must be a table of named entries")
    _check_keys(
        fac, {"pue", "carbon_g_per_kwh", "price_per_kwh", "currency"}, f"{source}: [facility]"
    )
    llm = {str(k): _llm_spec(v, f'{source}: llm."{k}"') for k, v in llms.items()}
    _check_one_entry_per_llm(llm, source)
    _check_shares(llm, source)
    system = {}
    for name, spec in systems.items():
        where = f'{source}: system."{name}"'
        _check_keys(spec, {"devices", "window_h", "include"}, where)
        system[str(name)] = SystemSpec(
            devices=None
            if "devices" not in spec
            else _number(spec["devices"], f"{where}.devices", 0, integer=True),
            window_h=_number(spec.get("window_h", 24.0), f"{where}.window_h", 0, lo_open=True),
            include=_flag(spec.get("include", True), f"{where}.include"),
        )
    facility = Facility(
        pue=_number(fac.get("pue", 1.0), f"{source}: facility.pue", 1.0),
        carbon_g_per_kwh=None
        if "carbon_g_per_kwh" not in fac
        else _number(fac["carbon_g_per_kwh"], f"{source}: facility.carbon_g_per_kwh", 0),
        price_per_kwh=None
        if "price_per_kwh" not in fac
        else _number(fac["price_per_kwh"], f"{source}: facility.price_per_kwh", 0),
        currency=_currency(fac.get("currency", "USD"), f"{source}: facility.currency"),
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
