"""Import ML.ENERGY Leaderboard v3 files into the store's ``serving`` table, whole or not at all.

Two shapes are understood, recognised by content (a JSON object with ``configurations``),
never by file name:

- ``tasks/<task>.json``: ``task`` and ``configurations``, each configuration carrying its own
  ``model_id``, ``weight_precision`` and parallel degrees;
- ``models/<org>__<model>__<task>.json``: ``model_id``, ``task``, ``weight_precision`` at the
  top level and ``configurations`` with a ``parallelization`` object (and an
  ``output_length_distribution``, not stored).

One configuration (one LLM on ``num_gpus`` GPUs of one kind, one vLLM ``max_num_seqs``)
becomes one ``serving`` row keyed by its position (``configurations[i]``).  The energies are
GPU energy only (``energy_scope = 'gpu'``), over the benchmark's steady-state window, with
prompt (prefill) cost folded into energy per output token: the files carry no input lengths.
A malformed configuration refuses the whole file, naming the file and the position; suspect
but usable ones are kept and flagged (``SERVING_FLAGS``).  A configuration the store already
holds from another file (a models file after its task file) is kept with
:data:`measure.flags.DUPLICATE_FLAG`, so it never counts twice.
"""

from __future__ import annotations

import codecs
import json
import math
import socket
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from measure.flags import (
    BATCH_ABOVE_LIMIT_FLAG,
    DUPLICATE_FLAG,
    ENERGY_MISMATCH_FLAG,
    ITL_ORDER_FLAG,
)
from measure.importers.paper_format import MalformedFileError, open_source, sha256_of
from measure.store import RunRecord, Store

__all__ = [
    "CITATION",
    "FORMAT",
    "ServingImportSummary",
    "import_mlenergy_file",
    "is_json",
    "parse_mlenergy",
]

CITATION = (
    "ML.ENERGY Leaderboard v3 (Chung et al., 'The ML.ENERGY Benchmark', NeurIPS Datasets and "
    "Benchmarks 2025; data ml-energy/leaderboard@0cd52da, Apache-2.0)"
)
FORMAT = "mlenergy-v3-json"
IMPORTER_VERSION = 1
ENGINE = "vllm"  # every ML.ENERGY v3 LLM configuration was served with vLLM
# ML.ENERGY's files are under 1 MB; a JSON file is parsed whole, so a cap keeps a wrong file
# (a dump of something else) from taking the machine's memory.
MAX_JSON_BYTES = 64 * 1024 * 1024
# How far the mean running batch may exceed the engine's limit (the benchmark's mean is over
# sampled iterations) before the row is flagged, and how far energy per request may stray
# from energy per token x mean output length.
BATCH_LIMIT_SLACK = 1.05
ENERGY_MISMATCH_FRACTION = 0.05

# Flags this importer sets (kept, listed in ``flags``; the rows stay out of fits by default).
SERVING_FLAGS = (BATCH_ABOVE_LIMIT_FLAG, ENERGY_MISMATCH_FLAG, ITL_ORDER_FLAG, DUPLICATE_FLAG)

# Columns that make two serving rows the same configuration (a task file and its models file).
DUPLICATE_KEY = (
    "model",
    "system",
    "n_gpus",
    "weight_precision",
    "task",
    "max_num_seqs",
    "energy_per_output_token_j",
)

# The file's field -> the serving column, for measured quantities (all required).
POSITIVE_FIELDS = {  # zero would be no measurement (and a division by zero)
    "avg_output_len": "mean_output_tokens",
    "energy_per_token_joules": "energy_per_output_token_j",
    "output_throughput_tokens_per_sec": "output_throughput_tps",
}
NONNEGATIVE_FIELDS = {
    "avg_batch_size": "mean_batch",
    "energy_per_request_joules": "energy_per_request_j",
    "avg_power_watts": "mean_power_w",
    "median_itl_ms": "itl_ms_p50",
    "p90_itl_ms": "itl_ms_p90",
    "p95_itl_ms": "itl_ms_p95",
    "p99_itl_ms": "itl_ms_p99",
}
# Named per configuration, or once at the top level of a models file.
SHARED_TEXT_FIELDS = {"model_id": "model", "task": "task", "weight_precision": "weight_precision"}
PARALLEL_FIELDS = {
    "tensor_parallel": "tensor_parallel",
    "expert_parallel": "expert_parallel",
    "data_parallel": "data_parallel",
}

CAVEATS = [
    "GPU energy only: no CPU, memory, network, or idle time between requests",
    "steady state at the configuration's batch (the server kept saturated)",
    "prompt (prefill) cost folded into energy per output token for the task's prompt mix "
    "(no input lengths in the files)",
]


@dataclass
class ServingImportSummary:
    """What one ML.ENERGY file added (or held, when its bytes were imported before)."""

    file: str
    run_id: str
    n_rows: int
    already_present: bool
    models: list[str]
    systems: list[str]
    tasks: list[str]
    flag_counts: dict[str, int]
    rows_per_task_system: dict[str, dict[str, int]]
    n_added: int = 0
    format: str = FORMAT
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


def run_id_for(sha256: str) -> str:
    """The run id of an imported file: its content hash, so the same bytes are one run."""
    return f"mlenergy-{sha256[:16]}"


def is_json(path, data: bytes | None = None, display_name: str | None = None) -> bool:
    """Whether the file's first non-blank character opens a JSON object or array (a CSV's
    header never starts with ``{`` or ``[``); unreadable files are left to the importer
    that will word the error."""
    name = display_name or str(path)
    try:
        with open_source(path, data, name) as stream:
            head = stream.read(4096)
    except (MalformedFileError, OSError):
        return False
    text = head.removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n")
    return text[:1] in (b"{", b"[")


def parse_mlenergy(
    path, display_name: str | None = None, *, data: bytes | None = None, system: str | None = None
) -> tuple[RunRecord, pd.DataFrame]:
    """Read and validate a whole ML.ENERGY file: its run record and serving rows (without
    duplicate flags, which depend on the store).  Raises MalformedFileError naming the file
    and the position."""
    name = display_name or str(path)
    with open_source(path, data, name) as stream:
        sha = sha256_of(stream, name)
        raw = stream.read(MAX_JSON_BYTES + 1)
    if len(raw) > MAX_JSON_BYTES:
        raise MalformedFileError(
            name, None, f"larger than {MAX_JSON_BYTES // 2**20} MiB: not an ML.ENERGY file"
        )
    document = _load_json(raw, name)
    rows, shape = _rows(document, name, system)
    frame = pd.DataFrame.from_records(rows)
    run = _run_record(name, sha, shape, document, frame, system)
    return run, frame


def import_mlenergy_file(
    path,
    store: Store,
    display_name: str | None = None,
    *,
    data: bytes | None = None,
    system: str | None = None,
) -> ServingImportSummary:
    """Validate an ML.ENERGY file fully, then write its rows to ``store`` in one transaction.

    Raises MalformedFileError with the store unchanged.  Bytes imported before add nothing
    (``already_present``).  ``system`` (``--system``) only confirms the files' GPU kinds: a
    configuration on another kind refuses the file, its names are never replaced."""
    name = display_name or str(path)
    store.check()
    with open_source(path, data, name) as stream:
        sha = sha256_of(stream, name)
    stored = store.stored_run(run_id_for(sha), sha)
    if stored is not None:
        return _stored_summary(name, stored.run_id, store, already_present=True, n_added=0)
    run, rows = parse_mlenergy(path, name, data=data, system=system)
    rows = _flag_duplicates(rows, store.serving())
    n_duplicates = sum(DUPLICATE_FLAG in flags for flags in rows["flags"])
    if n_duplicates:
        run.provenance["notes"].append(
            f"{n_duplicates} of {len(rows)} configurations equal ones the store already held "
            f"(or an earlier one of this file): kept, flagged {DUPLICATE_FLAG}, out of fits"
        )
    result = store.write_serving(run, rows)
    summary = _stored_summary(
        name,
        result.run_id,
        store,
        already_present=result.already_present,
        n_added=result.inserted_measurements,
    )
    if not result.already_present:
        summary.notes = list(run.provenance["notes"])
    return summary


# -- parsing -------------------------------------------------------------------------------
def _load_json(raw: bytes, name: str) -> Any:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise MalformedFileError(
            name, line, f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})"
        ) from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise MalformedFileError(
            name, exc.lineno, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except ValueError as exc:  # NaN / Infinity, which JSON does not have
        raise MalformedFileError(name, None, f"not valid JSON: {exc}") from None
    except RecursionError:
        raise MalformedFileError(name, None, "not valid JSON: nested too deeply") from None


def _reject_constant(token: str):
    raise ValueError(f"{token} is not a JSON number")


def _shape(document: Any, name: str) -> str:
    """'task file' or 'models file', or a refusal naming the file."""
    if not isinstance(document, dict) or "configurations" not in document:
        found = (
            f"an object with keys {', '.join(sorted(map(str, document))[:8]) or '(none)'}"
            if isinstance(document, dict)
            else f"a JSON {type(document).__name__}"
        )
        # line 1: where the document starts (the CSV importer names a wrong header's line)
        raise MalformedFileError(
            name,
            1,
            "a JSON file: not one of the paper's energy CSV formats, nor an ML.ENERGY "
            f"Leaderboard v3 file (a JSON object with 'configurations'); found {found}",
        )
    if not isinstance(document["configurations"], list):
        raise MalformedFileError(name, None, "'configurations' is not a list")
    if not document["configurations"]:
        raise MalformedFileError(name, None, "'configurations' is empty: nothing to import")
    return "models file" if "model_id" in document else "task file"


def _rows(document: dict, name: str, system: str | None) -> tuple[list[dict], str]:
    shape = _shape(document, name)
    top = {k: document[k] for k in SHARED_TEXT_FIELDS if k in document}
    for key, value in top.items():
        _text(value, key, name, "top level")
    rows = []
    for i, config in enumerate(document["configurations"]):
        where = f"configurations[{i}]"
        if not isinstance(config, dict):
            raise MalformedFileError(
                name, None, f"{where}: not an object ({type(config).__name__})"
            )
        rows.append(_row(config, top, name, where, system))
    return rows, shape


def _row(config: dict, top: dict, name: str, where: str, system: str | None) -> dict:
    row: dict[str, Any] = {}
    for key, column in SHARED_TEXT_FIELDS.items():
        value = config.get(key)
        if value is None:
            value = top.get(key)
        elif key in top and value != top[key]:
            raise MalformedFileError(
                name, None, f"{where}: {key} {value!r} differs from the file's {top[key]!r}"
            )
        if value is None:
            raise MalformedFileError(name, None, f"{where}: missing field '{key}'")
        row[column] = _text(value, key, name, where)
    row["system"] = _text(_required(config, "gpu_model", name, where), "gpu_model", name, where)
    if system is not None and row["system"] != system:
        raise MalformedFileError(
            name,
            None,
            f"{where}: --system {system!r} differs from the file's gpu_model "
            f"{row['system']!r}; the file's names are kept as they are (drop --system)",
        )
    row["n_gpus"] = _count(_required(config, "num_gpus", name, where), "num_gpus", name, where)
    row["max_num_seqs"] = _count(
        _required(config, "max_num_seqs", name, where), "max_num_seqs", name, where
    )
    parallel = config.get("parallelization")
    if parallel is not None and not isinstance(parallel, dict):
        raise MalformedFileError(name, None, f"{where}: 'parallelization' is not an object")
    for key, column in PARALLEL_FIELDS.items():
        value = config.get(key)
        if value is None and parallel is not None:
            value = parallel.get(key)
        row[column] = None if value is None else _count(value, key, name, where)
    for fields, positive in ((POSITIVE_FIELDS, True), (NONNEGATIVE_FIELDS, False)):
        for key, column in fields.items():
            row[column] = _number(_required(config, key, name, where), key, name, where, positive)
    row["request_throughput_rps"] = row["output_throughput_tps"] / row["mean_output_tokens"]
    row["engine"] = ENGINE
    row["energy_source"] = "imported"
    row["energy_scope"] = "gpu"
    row["source_file"] = name
    row["source_position"] = row["row_key"] = where
    row["flags"] = _flags(row)
    return row


def _flags(row: dict) -> list[str]:
    flags = []
    if row["mean_batch"] > row["max_num_seqs"] * BATCH_LIMIT_SLACK:
        flags.append(BATCH_ABOVE_LIMIT_FLAG)
    expected_j = row["energy_per_output_token_j"] * row["mean_output_tokens"]
    if abs(row["energy_per_request_j"] - expected_j) > ENERGY_MISMATCH_FRACTION * expected_j:
        flags.append(ENERGY_MISMATCH_FLAG)
    if row["itl_ms_p90"] < row["itl_ms_p50"]:
        flags.append(ITL_ORDER_FLAG)
    return flags


def _required(config: dict, key: str, name: str, where: str):
    if config.get(key) is None:
        raise MalformedFileError(name, None, f"{where}: missing field '{key}'")
    return config[key]


def _text(value, key: str, name: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MalformedFileError(name, None, f"{where}: {key} is not a name: {value!r}")
    return value


def _number(value, key: str, name: str, where: str, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise MalformedFileError(name, None, f"{where}: {key} is not a number: {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise MalformedFileError(name, None, f"{where}: {key} is not finite: {value!r}")
    if number < 0 or (positive and number == 0):
        need = "positive" if positive else "zero or more"
        raise MalformedFileError(name, None, f"{where}: {key} must be {need}, not {value!r}")
    return number


def _count(value, key: str, name: str, where: str) -> int:
    number = _number(value, key, name, where, positive=True)
    if number != int(number) or number < 1:
        raise MalformedFileError(
            name, None, f"{where}: {key} must be a whole number of at least 1, not {value!r}"
        )
    return int(number)


# -- duplicates, provenance, summaries ------------------------------------------------------
def _key(values) -> tuple:
    """A duplicate key with NULLs as None and numbers as floats, whatever the frame's dtypes."""
    out = []
    for value in values:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            out.append(None)
        elif isinstance(value, str):
            out.append(value)
        else:
            out.append(float(value))
    return tuple(out)


def _flag_duplicates(rows: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """Flag rows equal on ``DUPLICATE_KEY`` to a stored row, or to an earlier row of the
    same file, so one configuration counts once however many files carry it."""
    seen = {_key(values) for values in stored[list(DUPLICATE_KEY)].itertuples(index=False)}
    flags = []
    for values, row_flags in zip(
        rows[list(DUPLICATE_KEY)].itertuples(index=False), rows["flags"], strict=True
    ):
        key = _key(values)
        flags.append([*row_flags, DUPLICATE_FLAG] if key in seen else list(row_flags))
        seen.add(key)
    return rows.assign(flags=flags)


def _run_record(
    name: str, sha: str, shape: str, document: dict, rows: pd.DataFrame, system: str | None
) -> RunRecord:
    systems = sorted(set(rows["system"]))
    tasks = sorted(set(rows["task"]))
    provenance = {
        "importer": "measure.importers.mlenergy",
        "importer_version": IMPORTER_VERSION,
        "format": f"ML.ENERGY Leaderboard v3 {shape}",
        "citation": CITATION,
        "licence": "Apache-2.0",
        "file": name,
        "sha256": sha,
        "task": tasks[0] if len(tasks) == 1 else tasks,
        "task_display_name": document.get("task_display_name"),
        "host": socket.gethostname(),
        "engine": ENGINE,
        "energy_scope": "gpu",
        "caveats": CAVEATS,
        "system_from": "gpu_model" + (" (confirmed by --system)" if system else ""),
        "request_throughput_rps": "output_throughput_tokens_per_sec / avg_output_len",
        "flag_bounds": {
            "batch_limit_slack": BATCH_LIMIT_SLACK,
            "energy_mismatch_fraction": ENERGY_MISMATCH_FRACTION,
        },
        "notes": [],
    }
    return RunRecord(
        run_id=run_id_for(sha),
        kind="serving-import",
        source=name,
        source_sha256=sha,
        system=systems[0] if len(systems) == 1 else None,
        host=socket.gethostname(),
        provenance=provenance,
    )


def _stored_summary(name: str, run_id: str, store: Store, **extra) -> ServingImportSummary:
    rows = store.serving()
    rows = rows[rows["run_id"] == run_id]
    counts: dict[str, dict[str, int]] = {}
    for (task, system), n in rows.groupby(["task", "system"]).size().items():
        counts.setdefault(task, {})[system] = int(n)
    flag_counts = Counter(flag for flags in rows["flags"] for flag in flags)
    return ServingImportSummary(
        file=name,
        run_id=run_id,
        n_rows=len(rows),
        models=sorted(set(rows["model"])),
        systems=sorted(set(rows["system"])),
        tasks=sorted(set(rows["task"])),
        flag_counts=dict(sorted(flag_counts.items())),
        rows_per_task_system=counts,
        **extra,
    )
