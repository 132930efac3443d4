"""The embedded serving catalogue: ML.ENERGY Leaderboard v3's measured serving points,
committed as a small derived file (``data/serving_catalogue.json``) with their citation and
licence, so that the planner and the dashboard plan on serving-realistic arms without a
store or the shared files.

What the file holds, per serving setup (``planner.serving.setups.ServingSetup``: LLM, GPU
kind, GPUs per instance, weight precision, task, engine): every measured steady-state point
(mean batch, the batch limit ``max_num_seqs``, GPU energy per output token, output tokens
per second of the instance, inter-token latency p50 and p90, mean GPU power and mean
output length), rounded to 6 significant figures, and the operating-point model's
held-out errors (leave one batch size out, ``OperatingPointModel.cv_``) computed when the
file was built.  No fitted parameters: ``load_embedded_serving`` fits the operating-point
model (``planner.serving.operating.OperatingPointModel``) on the stored points when it
loads them, without refitting once per held-out batch (the held-out errors come from the
file): the leave-one-out refits cost some 25 CPU-seconds for the 72 setups, the fits
themselves about 3.  A test refits one setup's errors against the file's.

``build_embedded`` makes the file's content from the shared ML.ENERGY task files
(``scripts/build_serving_catalogue.py`` writes it); those files are Apache-2.0, and a
product shipping figures derived from them cites the paper and names the licence: the file
carries both and every arm built from it says where its figures come from.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from measure.importers.mlenergy import CITATION  # the one owner of the citation text
from measure.paths import PROJECT_ROOT

DEFAULT_SERVING_CATALOGUE_PATH = PROJECT_ROOT / "data" / "serving_catalogue.json"
SCHEMA_VERSION = 1
TASKS = ("lm-arena-chat", "gpqa", "sourcegraph-fim")
LICENCE = "Apache-2.0"
SOURCE_FILES = (
    "public/data/tasks/{lm-arena-chat,gpqa,sourcegraph-fim}.json at ml-energy/leaderboard@0cd52da"
)
ENGINE = "vllm"
CAVEATS = (
    "GPU energy only (no CPU, memory or network)",
    "prefill folded into energy per output token for the task's prompt mix "
    "(the data have no per-request input lengths)",
    "idle excluded: GPUs idle between requests are not in these figures",
    "steady state at each batch: a server below saturation runs at a smaller batch, "
    "with more energy per token",
)
# Per point, in this order (the file stores each point as one list of numbers).
POINT_COLUMNS = (
    "mean_batch",
    "max_num_seqs",
    "energy_per_output_token_j",
    "output_throughput_tps",
    "itl_ms_p50",
    "itl_ms_p90",
    "mean_power_w",
    "mean_output_tokens",
)
_SOURCE_KEYS = {
    "mean_batch": "avg_batch_size",
    "max_num_seqs": "max_num_seqs",
    "energy_per_output_token_j": "energy_per_token_joules",
    "output_throughput_tps": "output_throughput_tokens_per_sec",
    "itl_ms_p50": "median_itl_ms",
    "itl_ms_p90": "p90_itl_ms",
    "mean_power_w": "avg_power_watts",
    "mean_output_tokens": "avg_output_len",
}
SETUP_KEYS = (
    "model",
    "system",
    "n_gpus",
    "weight_precision",
    "task",
    "engine",
    "tensor_parallel",
    "expert_parallel",
    "data_parallel",
)
SIGNIFICANT = 6


class ServingCatalogueError(ValueError):
    """The serving catalogue (or a file it is built from) cannot be used; the message names
    the file and what is wrong."""


def _round(x: float) -> float:
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.{SIGNIFICANT}g}")


def _number(config: dict, key: str, where: str) -> float:
    value = config.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ServingCatalogueError(f"{where}: {key!r} is {value!r}, not a number")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ServingCatalogueError(f"{where}: {key!r} is {value!r}, not a finite figure >= 0")
    return value


def _cv_figures(setup_rows: pd.DataFrame) -> dict:
    """The operating-point model's held-out errors on one setup's rows, rounded."""
    from planner.serving.operating import OperatingPointModel

    cv = OperatingPointModel(cv=True).fit(setup_rows).cv_
    return {
        target: {
            k: (int(v) if k == "n" else (None if not math.isfinite(v) else round(float(v), 4)))
            for k, v in figures.items()
        }
        for target, figures in cv.items()
    }


def build_embedded(source_dir: str | Path, *, cv: bool = True) -> dict:
    """The catalogue's content from the ML.ENERGY task files in ``source_dir`` (its
    ``tasks/<task>.json``): one entry per serving setup with its measured points, sorted by
    setup then batch, and (``cv``) the operating-point model's held-out errors."""
    source_dir = Path(source_dir)
    setups: dict[tuple, list[list[float]]] = {}
    for task in TASKS:
        path = source_dir / "tasks" / f"{task}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ServingCatalogueError(f"{path} not found (the ML.ENERGY task file)") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ServingCatalogueError(f"{path} unreadable: {exc}") from None
        configs = data.get("configurations") if isinstance(data, dict) else None
        if not isinstance(configs, list):
            raise ServingCatalogueError(f"{path}: no 'configurations' list")
        for i, config in enumerate(configs):
            where = f"{path} configuration {i}"
            if not isinstance(config, dict):
                raise ServingCatalogueError(f"{where}: not an object")
            try:
                key = (
                    str(config["model_id"]),
                    str(config["gpu_model"]),
                    int(config["num_gpus"]),
                    str(config["weight_precision"]),
                    task,
                    ENGINE,
                    int(config["tensor_parallel"]),
                    int(config["expert_parallel"]),
                    int(config["data_parallel"]),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ServingCatalogueError(f"{where}: missing or bad setup field {exc}") from None
            point = [_round(_number(config, _SOURCE_KEYS[c], where)) for c in POINT_COLUMNS]
            setups.setdefault(key, []).append(point)
    entries = [
        {**dict(zip(SETUP_KEYS, key)), "points": sorted(points)}
        for key, points in sorted(setups.items())
    ]
    if cv:
        for entry in entries:
            frame = pd.DataFrame(entry["points"], columns=list(POINT_COLUMNS))
            entry["cv"] = _cv_figures(frame)
    return {
        "schema": SCHEMA_VERSION,
        "citation": CITATION,
        "licence": LICENCE,
        "source_files": SOURCE_FILES,
        "energy_source": "imported",
        "energy_scope": "gpu",
        "caveats": list(CAVEATS),
        "point_columns": list(POINT_COLUMNS),
        "setups": entries,
    }


def dumps(content: dict) -> str:
    """The file's text: one setup per block, one point per line (small, and a diff of a
    rebuilt file shows which points changed)."""
    head = {k: v for k, v in content.items() if k != "setups"}
    lines = ["{"]
    for k, v in head.items():
        lines.append(f"  {json.dumps(k)}: {json.dumps(v)},")
    lines.append('  "setups": [')
    blocks = []
    for entry in content["setups"]:
        keys = ", ".join(f"{json.dumps(k)}: {json.dumps(entry[k])}" for k in SETUP_KEYS)
        points = ",\n".join(f"      {json.dumps(p)}" for p in entry["points"])
        cv = f',\n     "cv": {json.dumps(entry["cv"])}' if "cv" in entry else ""
        blocks.append(f'    {{{keys},\n     "points": [\n{points}\n     ]{cv}}}')
    lines.append(",\n".join(blocks))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


@dataclass
class EmbeddedServing:
    """The catalogue as read: its measured points (one row per point, the store's
    ``serving`` column names), citation, licence and caveats."""

    rows: pd.DataFrame
    citation: str
    licence: str
    caveats: list[str] = field(default_factory=list)
    path: str = ""
    # held-out errors per setup key (SETUP_KEYS[:6] values), as OperatingPointModel.cv_
    cv: dict[tuple, dict] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.citation}; licence {self.licence}"


def read_embedded(path: str | Path | None = None) -> EmbeddedServing:
    """Read the catalogue (default ``data/serving_catalogue.json``)."""
    path = Path(path) if path is not None else DEFAULT_SERVING_CATALOGUE_PATH
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ServingCatalogueError(f"serving catalogue {path} not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ServingCatalogueError(f"serving catalogue {path} unreadable: {exc}") from None
    try:
        columns = list(data["point_columns"])
        records = []
        cv = {}
        for i, entry in enumerate(data["setups"]):
            setup = {k: entry[k] for k in SETUP_KEYS}
            if "cv" in entry:
                cv[_setup_key(setup)] = {
                    target: {
                        "median_ape": _nan(f.get("median_ape")),
                        "p90_ape": _nan(f.get("p90_ape")),
                        "n": int(f.get("n", 0)),
                    }
                    for target, f in entry["cv"].items()
                }
            for j, point in enumerate(entry["points"]):
                if len(point) != len(columns):
                    raise ValueError(f"setup {i} point {j} has {len(point)} figures")
                records.append({**setup, **dict(zip(columns, map(float, point)))})
        rows = pd.DataFrame(records)
        rows["energy_source"] = data.get("energy_source", "imported")
        rows["energy_scope"] = data.get("energy_scope", "gpu")
        rows["source_file"] = str(data.get("source_files", ""))
        for col in ("n_gpus", "tensor_parallel", "expert_parallel", "data_parallel"):
            rows[col] = rows[col].astype(int)
        rows["max_num_seqs"] = rows["max_num_seqs"].astype(int)
        # ML.ENERGY has no input lengths or time to first token: the store leaves them NULL
        for col in ("mean_input_tokens", "ttft_ms_p50", "ttft_ms_p90", "ttft_ms_p99"):
            rows[col] = math.nan
        rows["flags"] = [[] for _ in range(len(rows))]
        return EmbeddedServing(
            rows=rows,
            citation=str(data["citation"]),
            licence=str(data["licence"]),
            caveats=list(data.get("caveats", [])),
            path=str(path),
            cv=cv,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ServingCatalogueError(f"serving catalogue {path} malformed: {exc!r}") from None


def _nan(value) -> float:
    return math.nan if value is None else float(value)


def _setup_key(setup) -> tuple:
    """The key of a setup: a dict of the file's setup fields or a ``ServingSetup``."""
    get = setup.get if isinstance(setup, dict) else lambda k: getattr(setup, k)
    return (
        str(get("model")),
        str(get("system")),
        int(get("n_gpus")),
        str(get("weight_precision")),
        str(get("task")),
        str(get("engine")),
    )


def load_embedded_serving(path: str | Path | None = None, *, tasks=None, systems=None) -> list:
    """The catalogue's serving arms (``planner.serving.catalogue.ServingArm``, as
    ``serving_arms`` makes them: source, energy scope and caveats), each with its
    operating-point model fitted on the stored points at load and its held-out errors
    (``cv_``) from the file; ``tasks`` / ``systems`` keep only those (fitted only)."""
    return embedded_arms(read_embedded(path), tasks=tasks, systems=systems)


def embedded_arms(catalogue: EmbeddedServing, *, tasks=None, systems=None) -> list:
    """``load_embedded_serving`` on a catalogue already read."""
    # serving_arms' own words for an arm (one owner: catalogue.arm_of); serving_arms itself
    # refits every held-out batch, which the file has already done, so the fits are here
    from planner.serving.catalogue import arm_of
    from planner.serving.operating import OperatingPointModel
    from planner.serving.setups import group_setups

    rows = catalogue.rows
    if tasks is not None:
        rows = rows[rows["task"].isin(list(tasks))]
    if systems is not None:
        rows = rows[rows["system"].isin(list(systems))]
    arms = []
    for setup, setup_rows in group_setups(rows).items() if len(rows) else ():
        model = OperatingPointModel(cv=False).fit(setup_rows)
        # a fit without cv leaves cv_ empty (NaN, n=0): kept where the file has no errors
        model.cv_ = catalogue.cv.get(_setup_key(setup)) or model.cv_
        arms.append(arm_of(setup, model, setup_rows))
    return arms
