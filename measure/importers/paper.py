"""Import the paper's published measurement CSVs into the store, whole or not at all.

``import_file(path, store)`` reads and validates the whole file first (see
:mod:`measure.importers.paper_format` for the shapes understood), then writes one run in one
transaction.  Rows whose ``Phase`` contains ``inference`` become ``measurements``; the
others (``tokenizer``, ``model load``, ...) become ``startup_phases``.  Every energy is in
joules with ``energy_source = 'imported'``; model and system names stay as in the file.

Suspicious rows are kept and flagged (see :mod:`measure.flags`); flagged rows are
left out of fits by default.
"""

from __future__ import annotations

import hashlib
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from measure.flags import (
    MAX_CPU_POWER_W,
    MAX_GPU_POWER_W,
    TOTAL_MISMATCH_FRACTION,
    count_flags,
    row_flags,
)
from measure.importers.paper_format import (
    ColumnMap,
    MalformedFileError,
    decode,
    map_columns,
    parse_count,
    parse_float,
    read_records,
)
from measure.store import RunRecord, Store

BATCH_SIZE_NOTE = (
    "batch_size stored as 1: in the paper's files each measurement is one prompt generating "
    "one sequence through a transformers pipeline, so the file's 'Batch Size' (kept in "
    "declared_batch_size) has no effect on a single prompt "
    "(../shared/reference/wilkins2024/README.md)"
)


@dataclass
class ImportSummary:
    file: str
    run_id: str
    n_measurements: int
    n_startup: int
    flag_counts: dict[str, int]
    already_present: bool
    models: list[str]
    systems: list[str]
    startup_flag_counts: dict[str, int] = field(default_factory=dict)
    n_added: int = 0  # measurement rows this import added (0 when already present)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class ParsedFile:
    """A validated file, ready to write: the run and its rows."""

    run: RunRecord
    measurements: pd.DataFrame
    startup: pd.DataFrame
    flag_counts: dict[str, int]
    startup_flag_counts: dict[str, int]


def parse_file(
    path,
    system: str | None = None,
    display_name: str | None = None,
    *,
    kv_cache: bool | None = None,
    batch_size_from_file: bool = False,
    dtype: str | None = None,
    data: bytes | None = None,
) -> ParsedFile:
    """Read and validate a whole file without touching any store."""
    name = display_name or str(path)
    if data is None:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise MalformedFileError(name, None, f"cannot read the file ({exc.strerror})") from None
    header, header_line, records = read_records(decode(data, name), name)
    cols = map_columns(header, name)
    if not records:
        raise MalformedFileError(name, header_line + 1, "the header is followed by no data rows")
    if "system" in cols.optional and system is not None:
        _check_system(cols, records, header, system, name)
    if "system" not in cols.optional and system is None:
        raise MalformedFileError(
            name, 1, "the file has no System column: name the system with --system NAME"
        )
    opts = dict(
        system=system,
        kv_cache=kv_cache,
        batch_size_from_file=batch_size_from_file,
        dtype=dtype,
        file=name,
    )
    meas, start = [], []
    for line, row in records:
        values = dict(zip(header, row))
        phase = values[cols.phase].strip()
        if "inference" in phase.lower():
            meas.append(_measurement(cols, values, line, opts))
        else:
            start.append(_startup(cols, values, line, opts))
    sha = hashlib.sha256(data).hexdigest()
    meas_df = pd.DataFrame(meas)
    start_df = pd.DataFrame(start)
    run = _run_record(name, sha, cols, header, meas_df, start_df, opts)
    return ParsedFile(
        run, meas_df, start_df, count_flags(meas_df, "flags"), count_flags(start_df, "flags")
    )


def import_file(
    path,
    store: Store,
    system: str | None = None,
    display_name: str | None = None,
    *,
    kv_cache: bool | None = None,
    batch_size_from_file: bool = False,
    dtype: str | None = None,
    data: bytes | None = None,
) -> ImportSummary:
    """Validate ``path`` fully, then write it to ``store`` in one transaction.

    Raises MalformedFileError (naming file and line) before anything is written.  A file whose
    bytes were imported before adds nothing and says ``already_present``.  ``data`` gives the
    file's bytes directly (an upload), with ``display_name`` naming it in messages and rows.
    """
    parsed = parse_file(
        path,
        system,
        display_name,
        kv_cache=kv_cache,
        batch_size_from_file=batch_size_from_file,
        dtype=dtype,
        data=data,
    )
    if not store.has_run(parsed.run.run_id, parsed.run.source_sha256):
        _flag_stored_duplicates(parsed, store)
    result = store.write_run(parsed.run, parsed.measurements, parsed.startup)
    meas = parsed.measurements
    return ImportSummary(
        file=parsed.run.source,
        run_id=parsed.run.run_id,
        n_measurements=len(meas),
        n_startup=len(parsed.startup),
        flag_counts=parsed.flag_counts,
        already_present=result.already_present,
        models=sorted(meas["model"].unique()) if len(meas) else [],
        systems=sorted(meas["system"].unique()) if len(meas) else [],
        startup_flag_counts=parsed.startup_flag_counts,
        n_added=result.inserted_measurements,
    )


def _flag_stored_duplicates(parsed: ParsedFile, store: Store) -> None:
    """Flag rows the store already holds from another file (``duplicate_of_stored``), so a
    re-exported or extended copy of an imported file does not count them twice in fits."""
    meas = parsed.measurements
    duplicate = store.stored_duplicates(meas)
    if any(duplicate):
        meas["flags"] = [
            list(f) + ["duplicate_of_stored"] if dup else f
            for f, dup in zip(meas["flags"], duplicate)
        ]
        parsed.flag_counts = count_flags(meas, "flags")


def _check_system(cols: ColumnMap, records, header, system: str, file: str) -> None:
    idx = header.index(cols.optional["system"])
    for line, row in records:
        if row[idx].strip() and row[idx] != system:
            raise MalformedFileError(
                file,
                line,
                f"--system {system!r} differs from the file's System {row[idx]!r}; "
                "the file's names are kept as they are (drop --system)",
            )


def _system(cols: ColumnMap, values: dict, line: int, opts: dict) -> str:
    name = values[cols.optional["system"]] if "system" in cols.optional else ""
    name = name or opts["system"] or ""
    if not name.strip():
        raise MalformedFileError(
            opts["file"], line, "System is empty: name the system with --system NAME"
        )
    return name


def _energies(cols: ColumnMap, values: dict, line: int, file: str):
    """(gpu_j, per_device_j, total_column_j, cpu_j) in joules; None where absent."""
    per_device = []
    for col in cols.gpu_devices:
        value = parse_float(values[col.name], col.name, file, line)
        if value is not None:
            per_device.append(value * col.scale_j)
    total = None
    if cols.gpu_total is not None:
        value = parse_float(values[cols.gpu_total.name], cols.gpu_total.name, file, line)
        total = None if value is None else value * cols.gpu_total.scale_j
    cpu = None
    if cols.cpu is not None:
        value = parse_float(values[cols.cpu.name], cols.cpu.name, file, line)
        cpu = None if value is None else value * cols.cpu.scale_j
    gpu = sum(per_device) if per_device else total
    return gpu, per_device, total, cpu


def _common(cols: ColumnMap, values: dict, line: int, opts: dict) -> dict:
    file = opts["file"]
    model = values[cols.model]
    if not model.strip():
        raise MalformedFileError(file, line, "Model is empty")
    runtime = parse_float(values[cols.runtime], cols.runtime, file, line)
    gpu, per_device, total, cpu = _energies(cols, values, line, file)
    stamp = None
    if "timestamp" in cols.optional:
        seconds = parse_float(values[cols.optional["timestamp"]], "Timestamp", file, line)
        stamp = None if seconds is None else pd.Timestamp(seconds, unit="s")
    return dict(
        model=model,
        system=_system(cols, values, line, opts),
        runtime_s=None if runtime is None else runtime * cols.runtime_scale_s,
        gpu_energy_j=gpu,
        cpu_energy_j=cpu,
        energy_source="imported",
        source_file=file,
        source_line=line,
        trial_key=str(line),
        measured_at=stamp,
        _per_device=per_device,
        _total=total,
    )


def _optional_count(cols, values, role, label, line, file):
    if role not in cols.optional:
        return None
    return parse_count(values[cols.optional[role]], label, file, line, required=False)


def _measurement(cols: ColumnMap, values: dict, line: int, opts: dict) -> dict:
    file = opts["file"]
    row = _common(cols, values, line, opts)
    per_device, total = row.pop("_per_device"), row.pop("_total")
    if row["runtime_s"] is None:
        raise MalformedFileError(file, line, f"{cols.runtime} is empty")
    n_gpus = _optional_count(cols, values, "n_gpus", "Number of GPUs", line, file)
    if n_gpus is None and per_device:
        n_gpus = len(per_device)
    declared = _optional_count(cols, values, "batch", "Batch Size", line, file)
    if opts["batch_size_from_file"] and not declared:
        raise MalformedFileError(
            file, line, "--batch-size-from-file but Batch Size is missing or zero"
        )
    generated = None
    if cols.output_generated:
        generated = parse_count(
            values[cols.output_generated], cols.output_generated, file, line, required=False
        )
    row.update(
        phase=values[cols.phase].strip(),
        n_gpus=n_gpus,
        batch_size=declared if opts["batch_size_from_file"] else 1,
        declared_batch_size=declared,
        kv_cache=opts["kv_cache"],
        dtype=opts["dtype"],
        input_tokens=parse_count(values[cols.input_tokens], cols.input_tokens, file, line),
        output_tokens=parse_count(values[cols.output_tokens], cols.output_tokens, file, line),
        output_tokens_generated=generated,
        gpu_energy_per_device_j=per_device or None,
        iteration=_optional_count(cols, values, "iteration", "Iteration", line, file),
        flags=row_flags(
            row["runtime_s"], row["gpu_energy_j"], per_device, total, row["cpu_energy_j"], n_gpus
        ),
    )
    return row


def _startup(cols: ColumnMap, values: dict, line: int, opts: dict) -> dict:
    row = _common(cols, values, line, opts)
    per_device, total = row.pop("_per_device"), row.pop("_total")
    phase = values[cols.phase].strip()
    if not phase:
        raise MalformedFileError(opts["file"], line, "Phase is empty")
    flags = row_flags(
        row["runtime_s"], row["gpu_energy_j"], per_device, total, row["cpu_energy_j"], None
    )
    row.update(phase=phase, flags=flags)
    return row


def _run_record(name, sha, cols, header, meas, start, opts) -> RunRecord:
    stamps = pd.concat([f["measured_at"] for f in (meas, start) if "measured_at" in f.columns])
    stamps = stamps.dropna() if len(stamps) else stamps
    systems = sorted(set(meas.get("system", [])) | set(start.get("system", [])))
    provenance = {
        "importer": "measure.importers.paper",
        "file": name,
        "sha256": sha,
        "host": socket.gethostname(),
        "columns": header,
        "units": cols.units(),
        "gpu_energy_from": (
            "per-GPU columns " + ", ".join(c.name for c in cols.gpu_devices)
            if cols.gpu_devices
            else (cols.gpu_total.name if cols.gpu_total else None)
        ),
        "output_tokens_from": cols.output_tokens,
        "system_from": "file column System" if "system" in cols.optional else "--system",
        "kv_cache": opts["kv_cache"],
        "dtype": opts["dtype"],
        "batch_size": (
            "file's Batch Size (--batch-size-from-file)"
            if opts["batch_size_from_file"]
            else BATCH_SIZE_NOTE
        ),
        "flag_bounds": {
            "max_cpu_power_w": MAX_CPU_POWER_W,
            "max_gpu_power_w": MAX_GPU_POWER_W,
            "total_mismatch_fraction": TOTAL_MISMATCH_FRACTION,
        },
    }
    return RunRecord(
        run_id=f"import-{sha[:16]}",
        kind="import",
        source=name,
        source_sha256=sha,
        system=systems[0] if len(systems) == 1 else None,
        host=socket.gethostname(),
        started_at=stamps.min() if len(stamps) else None,
        finished_at=stamps.max() if len(stamps) else None,
        provenance=provenance,
    )
