"""Import the paper's published measurement CSVs into the store, whole or not at all.

``import_file(path, store)`` first hashes the file (streaming): bytes imported before add
nothing and are answered at once.  Otherwise it checks the bytes are UTF-8 text, then parses
records in chunks of ``CHUNK_ROWS`` (see :mod:`measure.importers.paper_format` for the shapes
understood) into a staging file, and copies them into the store in one transaction: memory
stays bounded whatever the file's size, and a malformed row anywhere leaves the store as it
was.  Rows whose ``Phase`` contains ``inference`` become ``measurements``; the others
(``tokenizer``, ``model load``, ...) become ``startup_phases``.  Every energy is in joules
with ``energy_source = 'imported'``; model and system names stay as in the file.

Suspicious rows are kept and flagged (see :mod:`measure.flags`); rows with a disqualifying
flag are left out of fits by default.
"""

from __future__ import annotations

import math
import socket
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import BinaryIO

import pandas as pd

from measure.flags import (
    DUPLICATE_FLAG,
    MAX_BATCH_SIZE,
    MAX_CPU_POWER_W,
    MAX_GPU_POWER_W,
    MAX_GPUS,
    MAX_RUNTIME_S,
    MAX_TOKENS,
    TOTAL_MISMATCH_FRACTION,
    row_flags,
    total_unit_factor,
)
from measure.importers.paper_format import (
    ColumnMap,
    MalformedFileError,
    check_text,
    iter_records,
    map_columns,
    open_source,
    parse_count,
    parse_quantity,
    parse_timestamp_s,
    sha256_of,
    unit_for_scale,
)
from measure.store import RunRecord, Store, StoredRun

__all__ = ["ImportSummary", "MalformedFileError", "ParsedFile", "import_file", "parse_file"]

# Rows parsed and staged at a time: bounds the importer's memory whatever the file's size.
CHUNK_ROWS = 50_000
# The fields of a parsed row, in the order the reader builds them (the columns every row of a
# file shares are added per chunk).
MEASUREMENT_FIELDS = (
    "trial_key",
    "model",
    "system",
    "phase",
    "n_gpus",
    "batch_size",
    "declared_batch_size",
    "input_tokens",
    "output_tokens",
    "output_tokens_generated",
    "runtime_s",
    "gpu_energy_j",
    "cpu_energy_j",
    "gpu_energy_per_device_j",
    "flags",
    "source_line",
    "iteration",
    "measured_at",
)
STARTUP_FIELDS = (
    "trial_key",
    "model",
    "system",
    "phase",
    "runtime_s",
    "gpu_energy_j",
    "cpu_energy_j",
    "flags",
    "source_line",
    "measured_at",
)

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
    notes: list[str] = field(default_factory=list)  # what the importer found about the file

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
    notes: list[str] = field(default_factory=list)


def run_id_for(sha256: str) -> str:
    """The run id of an imported file: its content hash, so the same bytes are one run."""
    return f"import-{sha256[:16]}"


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
    """Read and validate a whole file into frames, without touching any store (for small
    files and tests; :func:`import_file` streams)."""
    name = display_name or str(path)
    opts = _options(name, system, kv_cache, batch_size_from_file, dtype)
    with open_source(path, data, name) as stream:
        sha = sha256_of(stream, name)
        reader = _Reader(stream, opts)
        chunks = list(reader.chunks(CHUNK_ROWS))
    meas, start = (
        pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
        for parts in ([m for m, _ in chunks if len(m)], [s for _, s in chunks if len(s)])
    )
    return ParsedFile(
        reader.run_record(sha),
        meas,
        start,
        dict(sorted(reader.flag_counts.items())),
        dict(sorted(reader.startup_flag_counts.items())),
        reader.notes(),
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

    Raises MalformedFileError (naming file and line) with the store unchanged.  A file whose
    bytes were imported before adds nothing and says ``already_present``, without parsing.
    ``data`` gives the file's bytes directly (an upload), with ``display_name`` naming it in
    messages and rows.  Rows equal to rows the store holds from another file are flagged
    ``duplicate_of_stored``.
    """
    name = display_name or str(path)
    opts = _options(name, system, kv_cache, batch_size_from_file, dtype)
    store.check()
    with open_source(path, data, name) as stream:
        sha = sha256_of(stream, name)
        stored = store.stored_run(run_id_for(sha), sha)
        if stored is not None:
            return _summary(name, stored, already_present=True, n_added=0, notes=[])
        reader = _Reader(stream, opts)
        with store.staging(run_id_for(sha)) as staged:
            for meas, start in reader.chunks(CHUNK_ROWS):
                staged.add(meas, start)
            result = store.write_staged(reader.run_record(sha), staged, DUPLICATE_FLAG)
    stored = store.stored_run(result.run_id, sha)
    return _summary(
        name,
        stored,
        already_present=result.already_present,
        n_added=result.inserted_measurements,
        notes=[] if result.already_present else reader.notes(),
    )


def _summary(name: str, stored: StoredRun, **extra) -> ImportSummary:
    return ImportSummary(
        file=name,
        run_id=stored.run_id,
        n_measurements=stored.n_measurements,
        n_startup=stored.n_startup,
        flag_counts=stored.flag_counts,
        models=stored.models,
        systems=stored.systems,
        startup_flag_counts=stored.startup_flag_counts,
        **extra,
    )


def _options(name, system, kv_cache, batch_size_from_file, dtype) -> dict:
    return dict(
        file=name,
        system=system,
        kv_cache=kv_cache,
        batch_size_from_file=batch_size_from_file,
        dtype=dtype,
    )


class _Reader:
    """Parses one file's records into store rows, chunk by chunk, and keeps what the run
    record and the summary need (names, times, flag counts) as it goes."""

    def __init__(self, stream: BinaryIO, opts: dict):
        self.stream, self.opts, self.file = stream, opts, opts["file"]
        self.cols: ColumnMap | None = None
        self.header: list[str] = []
        self.systems: set[str] = set()
        self.first_s = self.last_s = None  # earliest and latest timestamp seen
        self.flag_counts: Counter = Counter()
        self.startup_flag_counts: Counter = Counter()
        # (total column / per-GPU sum, "measurement" or "start-up") -> rows
        self.mislabels: Counter = Counter()

    def chunks(self, size: int) -> Iterator[tuple[pd.DataFrame, pd.DataFrame]]:
        """(measurements, startup) frames of at most ``size`` rows in all, in file order."""
        check_text(self.stream, self.file)
        records = iter_records(self.stream, self.file)
        header_line, header = next(records)
        self.header = [h.strip() for h in header]
        self.cols = map_columns(self.header, self.file)
        self._index()
        system = self.opts["system"]
        if self.i_system is None and system is None:
            raise MalformedFileError(
                self.file, 1, "the file has no System column: name the system with --system NAME"
            )
        meas: list[tuple] = []
        start: list[tuple] = []
        any_rows = False
        for line, row in records:
            any_rows = True
            if system is not None and self.i_system is not None:
                found = row[self.i_system]
                if found.strip() and found != system:
                    raise MalformedFileError(
                        self.file,
                        line,
                        f"--system {system!r} differs from the file's System {found!r}; "
                        "the file's names are kept as they are (drop --system)",
                    )
            if "inference" in row[self.i_phase].lower():
                meas.append(self._measurement(row, line))
            else:
                start.append(self._startup(row, line))
            if len(meas) + len(start) >= size:
                yield self._frames(meas, start)
                meas, start = [], []
        if not any_rows:
            raise MalformedFileError(
                self.file, header_line + 1, "the header is followed by no data rows"
            )
        if meas or start:
            yield self._frames(meas, start)

    def _index(self) -> None:
        cols, where = self.cols, {h: i for i, h in enumerate(self.header)}

        def optional(role):
            return where[cols.optional[role]] if role in cols.optional else None

        self.i_phase, self.i_model = where[cols.phase], where[cols.model]
        self.i_runtime = where[cols.runtime]
        self.i_in, self.i_out = where[cols.input_tokens], where[cols.output_tokens]
        self.i_generated = where[cols.output_generated] if cols.output_generated else None
        self.i_system, self.i_n_gpus = optional("system"), optional("n_gpus")
        self.i_batch, self.i_iteration = optional("batch"), optional("iteration")
        self.i_stamp = optional("timestamp")
        self.devices = [(c, where[c.name]) for c in cols.gpu_devices]
        self.total = (cols.gpu_total, where[cols.gpu_total.name]) if cols.gpu_total else None
        self.cpu = (cols.cpu, where[cols.cpu.name]) if cols.cpu else None

    # -- one row -------------------------------------------------------------------------
    def _energies(self, row: list[str], line: int):
        """(gpu_j, per_device_j, total_column_j, cpu_j) in joules; None where absent."""
        file = self.file
        per_device = []
        for col, i in self.devices:
            value = parse_quantity(row[i], col.name, col.scale_j, file, line)
            if value is not None:
                per_device.append(value)
        total = cpu = None
        if self.total is not None:
            col, i = self.total
            total = parse_quantity(row[i], col.name, col.scale_j, file, line)
        if self.cpu is not None:
            col, i = self.cpu
            cpu = parse_quantity(row[i], col.name, col.scale_j, file, line)
        gpu = total
        if per_device:
            gpu = sum(per_device)
            if not math.isfinite(gpu):  # each value was finite, their sum is not
                raise MalformedFileError(
                    file,
                    line,
                    "the per-GPU energies sum to more than a number can hold: "
                    + ", ".join(row[i] for _, i in self.devices),
                )
        return gpu, per_device, total, cpu

    def _common(self, row: list[str], line: int) -> tuple:
        """(model, system, runtime_s, measured_at seconds) and the energies of one row."""
        file = self.file
        model = row[self.i_model]
        if not model.strip():
            raise MalformedFileError(file, line, "Model is empty")
        runtime = parse_quantity(
            row[self.i_runtime], self.cols.runtime, self.cols.runtime_scale_s, file, line
        )
        energies = self._energies(row, line)
        seconds = None
        if self.i_stamp is not None:
            seconds = parse_timestamp_s(
                row[self.i_stamp], self.cols.optional["timestamp"], file, line
            )
            if seconds is not None:
                self.first_s = seconds if self.first_s is None else min(self.first_s, seconds)
                self.last_s = seconds if self.last_s is None else max(self.last_s, seconds)
        system = row[self.i_system] if self.i_system is not None else ""
        system = system or self.opts["system"] or ""
        if not system.strip():
            raise MalformedFileError(
                file, line, "System is empty: name the system with --system NAME"
            )
        self.systems.add(system)
        return (model, system, runtime, seconds), energies

    def _count(self, row, i, label, line):
        return None if i is None else parse_count(row[i], label, self.file, line, required=False)

    def _measurement(self, row: list[str], line: int) -> tuple:
        """One row of ``MEASUREMENT_FIELDS``."""
        file, cols, opts = self.file, self.cols, self.opts
        (model, system, runtime, seconds), (gpu, per_device, total, cpu) = self._common(row, line)
        if runtime is None:
            raise MalformedFileError(file, line, f"{cols.runtime} is empty")
        n_gpus = self._count(row, self.i_n_gpus, "Number of GPUs", line)
        if n_gpus is None and per_device:
            n_gpus = len(per_device)
        declared = self._count(row, self.i_batch, "Batch Size", line)
        if opts["batch_size_from_file"] and not declared:
            raise MalformedFileError(
                file, line, "--batch-size-from-file but Batch Size is missing or zero"
            )
        batch_size = declared if opts["batch_size_from_file"] else 1
        generated = self._count(row, self.i_generated, cols.output_generated, line)
        tin = parse_count(row[self.i_in], cols.input_tokens, file, line)
        tout = parse_count(row[self.i_out], cols.output_tokens, file, line)
        flags = row_flags(
            runtime,
            gpu,
            per_device,
            total,
            cpu,
            n_gpus,
            tokens=(tin, tout, generated),
            batch_size=batch_size,
        )
        if flags:
            self._note_flags(flags, self.flag_counts, total, gpu, "measurement")
        iteration = self._count(row, self.i_iteration, "Iteration", line)
        return (
            *(str(line), model, system, row[self.i_phase].strip(), n_gpus, batch_size),
            *(declared, tin, tout, generated, runtime, gpu, cpu, per_device or None),
            *(flags, line, iteration, seconds),
        )

    def _startup(self, row: list[str], line: int) -> tuple:
        """One row of ``STARTUP_FIELDS``."""
        (model, system, runtime, seconds), (gpu, per_device, total, cpu) = self._common(row, line)
        phase = row[self.i_phase].strip()
        if not phase:
            raise MalformedFileError(self.file, line, "Phase is empty")
        flags = row_flags(runtime, gpu, per_device, total, cpu, None)
        if flags:
            self._note_flags(flags, self.startup_flag_counts, total, gpu, "start-up")
        return (str(line), model, system, phase, runtime, gpu, cpu, flags, line, seconds)

    def _note_flags(self, flags: list[str], counts: Counter, total, gpu, kind: str) -> None:
        counts.update(flags)
        if "gpu_total_unit_mislabel" in flags:
            self.mislabels[total_unit_factor(total, gpu), kind] += 1

    def _frames(self, meas: list[tuple], start: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The store's frames of a chunk: the rows, plus the columns every row shares."""
        shared = {"energy_source": "imported", "source_file": self.file}
        frames = []
        for rows, fields, extra in (
            (
                meas,
                MEASUREMENT_FIELDS,
                {"kv_cache": self.opts["kv_cache"], "dtype": self.opts["dtype"]},
            ),
            (start, STARTUP_FIELDS, {}),
        ):
            if not rows:
                frames.append(pd.DataFrame())
                continue
            frame = pd.DataFrame.from_records(rows, columns=fields)
            frame["measured_at"] = pd.to_datetime(pd.to_numeric(frame["measured_at"]), unit="s")
            frames.append(frame.assign(**shared, **extra))
        return frames[0], frames[1]

    # -- the run -------------------------------------------------------------------------
    def notes(self) -> list[str]:
        """Plain-language notes on the file as a whole (a total column's unit mislabel)."""
        out = []
        col = self.cols.gpu_total if self.cols else None
        for factor in sorted({f for f, _ in self.mislabels}):
            rows = " and ".join(
                f"{n} {kind} rows"
                for kind in ("measurement", "start-up")
                if (n := self.mislabels[factor, kind])
            )
            unit = unit_for_scale(col.scale_j / factor)
            looks = f"its values look like {unit}" if unit else "its unit looks wrong"
            times = f"{factor:.0f}x" if factor >= 1 else f"1/{1 / factor:.0f} of"
            out.append(
                f"{col.name} is {times} the sum of the per-GPU columns on {rows}: "
                f"{looks}, not {unit_for_scale(col.scale_j) or 'its heading'}; the per-GPU "
                "columns are used, and these rows stay in fits (flag gpu_total_unit_mislabel)"
            )
        return out

    def run_record(self, sha: str) -> RunRecord:
        cols, opts = self.cols, self.opts
        systems = sorted(self.systems)
        started, finished = (
            None if s is None else pd.Timestamp(s, unit="s") for s in (self.first_s, self.last_s)
        )
        provenance = {
            "importer": "measure.importers.paper",
            "file": self.file,
            "sha256": sha,
            "host": socket.gethostname(),
            "columns": self.header,
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
                "max_runtime_s": MAX_RUNTIME_S,
                "max_tokens": MAX_TOKENS,
                "max_gpus": MAX_GPUS,
                "max_batch_size": MAX_BATCH_SIZE,
            },
            "notes": self.notes(),
        }
        return RunRecord(
            run_id=run_id_for(sha),
            kind="import",
            source=self.file,
            source_sha256=sha,
            system=systems[0] if len(systems) == 1 else None,
            host=socket.gethostname(),
            started_at=started,
            finished_at=finished,
            provenance=provenance,
        )
