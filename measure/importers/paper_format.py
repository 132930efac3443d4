"""Reading the paper's published CSV formats: decoding, records with line numbers, columns.

The files (Wilkins et al. 2024, ``grantwilkins/energy-inference``) have one row per phase.
Shapes handled here:

- ``GPU Energy (mJ)`` or ``GPU Energy (J)``: one total over the node's GPUs;
- ``GPU-0 Energy (mJ)``, ``GPU-1 Energy (mJ)``, ...: one column per GPU (the source of truth
  where present; a total column beside them is only checked against their sum);
- ``CPU Energy (J)`` (or mJ): CPU energy, optional;
- ``Number of Output Tokens`` or ``Output Token Limit`` for the requested output tokens (where
  both are present, the limit is the request and the number is what was generated);
- a quoted ``Prompt`` that may hold newlines, so records are parsed as CSV, not as lines.

Every problem raises :class:`MalformedFileError` naming the file and the 1-based line where the
offending record starts.  Files are read as streams (hashed, checked, then parsed record by
record), never whole into memory.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import BinaryIO

ENERGY_UNITS_J = {"mj": 1e-3, "j": 1.0, "kj": 1e3, "wh": 3600.0, "kwh": 3.6e6}
ENERGY_UNIT_NAMES = {"mj": "mJ", "j": "J", "kj": "kJ", "wh": "Wh", "kwh": "kWh"}
RUNTIME_UNITS_S = {"s": 1.0, "ms": 1e-3}
_ENERGY_RE = re.compile(r"^(gpu|cpu)(?:[- ](\d+))? energy \(([a-z]+)\)$")
_RUNTIME_RE = re.compile(r"^runtime \(([a-z]+)\)$")

OUTPUT_LIMIT = "output token limit"
OUTPUT_NUMBER = "number of output tokens"
OPTIONAL_COLUMNS = {
    "system": "system",
    "n_gpus": "number of gpus",
    "batch": "batch size",
    "iteration": "iteration",
    "timestamp": "timestamp",
}


class MalformedFileError(ValueError):
    """A file that cannot be imported; the message names the file and the line."""

    def __init__(self, file: str, line: int | None, problem: str):
        self.file = str(file)
        self.line = line
        self.problem = problem
        where = f"{self.file}: line {line}" if line is not None else self.file
        super().__init__(f"{where}: {problem}")


@dataclass
class EnergyColumn:
    name: str  # the file's own header
    scale_j: float  # multiply by this to get joules
    device: int | None = None
    unit: str = ""  # the heading's unit, as ENERGY_UNITS_J spells it


@dataclass
class ColumnMap:
    """Which header holds which quantity, with units resolved to SI scale factors."""

    phase: str
    model: str
    runtime: str
    runtime_scale_s: float
    input_tokens: str
    output_tokens: str
    output_generated: str | None = None
    gpu_total: EnergyColumn | None = None
    gpu_devices: list[EnergyColumn] = field(default_factory=list)
    cpu: EnergyColumn | None = None
    optional: dict[str, str] = field(default_factory=dict)  # role -> header

    def units(self) -> dict[str, str]:
        """Each used column and its unit, for the run's provenance."""
        cols = [c for c in [self.gpu_total, self.cpu, *self.gpu_devices] if c is not None]
        out = {c.name: f"x{c.scale_j:g} -> J" for c in cols}
        out[self.runtime] = f"x{self.runtime_scale_s:g} -> s"
        return out


# Files are read this many bytes at a time, so memory does not grow with the file.
READ_CHUNK_BYTES = 1 << 20


@contextmanager
def open_source(path, data: bytes | None, file: str) -> Iterator[BinaryIO]:
    """The file's bytes as a binary stream: ``data`` (an upload) or the file at ``path``."""
    if data is not None:
        yield io.BytesIO(data)
        return
    try:
        stream = open(path, "rb")  # noqa: SIM115 (closed below; the errors are ours to word)
    except OSError as exc:
        raise MalformedFileError(
            file, None, f"cannot read the file ({exc.strerror or exc})"
        ) from None
    with stream:
        yield stream


def sha256_of(stream: BinaryIO, file: str) -> str:
    """The SHA-256 of the whole stream, read in chunks; the stream is rewound after."""
    digest = hashlib.sha256()
    try:
        while chunk := stream.read(READ_CHUNK_BYTES):
            digest.update(chunk)
        stream.seek(0)
    except OSError as exc:
        raise MalformedFileError(
            file, None, f"cannot read the file ({exc.strerror or exc})"
        ) from None
    return digest.hexdigest()


def check_text(stream: BinaryIO, file: str) -> None:
    """Refuses binary (NUL bytes) and non-UTF-8 files with the line of the first bad byte,
    reading in chunks; the stream is rewound after."""
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = newlines = 0  # bytes and line breaks before this chunk
    while chunk := stream.read(READ_CHUNK_BYTES):
        nul = chunk.find(b"\x00")
        if nul >= 0:
            line = newlines + chunk[:nul].count(b"\n") + 1
            raise MalformedFileError(file, line, "not a CSV text file (it contains NUL bytes)")
        pending = len(decoder.getstate()[0])  # an unfinished character from the last chunk
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            at = offset - pending + exc.start
            line = newlines + exc.object[: exc.start].count(b"\n") + 1
            raise MalformedFileError(
                file, line, f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {at})"
            ) from None
        offset += len(chunk)
        newlines += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise MalformedFileError(
            file, newlines + 1, "not UTF-8 text (the file ends inside a character)"
        ) from None
    stream.seek(0)


def iter_records(stream: BinaryIO, file: str) -> Iterator[tuple[int, list[str]]]:
    """Each non-blank record with the line it starts on, the header first, as CSV (a quoted
    field may hold newlines); every record's field count is checked against the header's.
    Call :func:`check_text` on the stream first."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    n_columns = header_line = None
    start = 1
    try:
        for row in reader:
            line, start = start, reader.line_num + 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if n_columns is None:
                n_columns, header_line = len(row), line
            elif len(row) != n_columns:
                raise MalformedFileError(
                    file,
                    line,
                    f"this row has {len(row)} fields but the header (line "
                    f"{header_line}) has {n_columns} columns",
                )
            yield line, row
    except csv.Error as exc:
        raise MalformedFileError(file, start, f"not valid CSV ({exc})") from None
    if n_columns is None:
        raise MalformedFileError(file, 1, "the file is empty")


def map_columns(header: list[str], file: str) -> ColumnMap:
    """Resolve the header into roles; refuses missing or ambiguous columns (line 1)."""
    lower = [h.lower() for h in header]
    dupes = sorted({h for h in header if lower.count(h.lower()) > 1})
    if dupes:
        raise MalformedFileError(file, 1, f"duplicate columns in the header: {dupes}")
    by_lower = dict(zip(lower, header))
    runtime = [(h, m.group(1)) for h in header if (m := _RUNTIME_RE.match(h.lower()))]
    out_col = by_lower.get(OUTPUT_LIMIT) or by_lower.get(OUTPUT_NUMBER)
    missing = [
        name
        for name, ok in [
            ("Phase", "phase" in by_lower),
            ("Model", "model" in by_lower),
            ("Runtime (s)", bool(runtime)),
            ("Number of Input Tokens", "number of input tokens" in by_lower),
            ("Number of Output Tokens or Output Token Limit", out_col is not None),
        ]
        if not ok
    ]
    gpu_total, devices, cpu = _energy_columns(header, file)
    if gpu_total is None and not devices and cpu is None:
        missing.append("an energy column (GPU Energy (mJ), GPU-0 Energy (mJ), CPU Energy (J))")
    if missing:
        raise MalformedFileError(
            file,
            1,
            "not one of the paper's energy CSV formats: missing required column(s) "
            + "; ".join(missing)
            + f" (header has: {', '.join(header[:20])})",
        )
    runtime_name, runtime_unit = runtime[0]
    if runtime_unit not in RUNTIME_UNITS_S:
        raise MalformedFileError(file, 1, f"unknown runtime unit in column {runtime_name!r}")
    generated = by_lower.get(OUTPUT_NUMBER) if out_col == by_lower.get(OUTPUT_LIMIT) else None
    return ColumnMap(
        phase=by_lower["phase"],
        model=by_lower["model"],
        runtime=runtime_name,
        runtime_scale_s=RUNTIME_UNITS_S[runtime_unit],
        input_tokens=by_lower["number of input tokens"],
        output_tokens=out_col,
        output_generated=generated,
        gpu_total=gpu_total,
        gpu_devices=devices,
        cpu=cpu,
        optional={role: by_lower[key] for role, key in OPTIONAL_COLUMNS.items() if key in by_lower},
    )


def _energy_columns(header: list[str], file: str):
    gpu_total = cpu = None
    devices: list[EnergyColumn] = []
    for name in header:
        m = _ENERGY_RE.match(name.lower())
        if not m:
            continue
        kind, device, unit = m.groups()
        if unit not in ENERGY_UNITS_J:
            raise MalformedFileError(
                file,
                1,
                f"unknown energy unit {unit!r} in column {name!r} "
                f"(known: {', '.join(ENERGY_UNITS_J)})",
            )
        col = EnergyColumn(name, ENERGY_UNITS_J[unit], int(device) if device else None, unit)
        if kind == "gpu" and device is not None:
            devices.append(col)
        elif kind == "gpu":
            gpu_total = col
        elif device is None:
            cpu = col
        else:
            raise MalformedFileError(file, 1, f"per-CPU energy column {name!r} is not supported")
    devices.sort(key=lambda c: c.device)
    return gpu_total, devices, cpu


def unit_for_scale(scale_j: float) -> str | None:
    """The name of the energy unit whose joules per unit are ``scale_j`` (within 1e-9)."""
    for unit, scale in ENERGY_UNITS_J.items():
        if math.isclose(scale, scale_j, rel_tol=1e-9):
            return ENERGY_UNIT_NAMES[unit]
    return None


def parse_float(value: str, column: str, file: str, line: int) -> float | None:
    """A finite number, or None for an empty field; anything else is malformed."""
    try:
        number = float(value)  # surrounding whitespace allowed
    except ValueError:
        if not value.strip():
            return None
        raise MalformedFileError(file, line, f"{column} is not a number: {value!r}") from None
    if not math.isfinite(number):
        raise MalformedFileError(file, line, f"{column} is not a finite number: {value!r}")
    return number


def parse_quantity(value: str, column: str, scale: float, file: str, line: int) -> float | None:
    """A number times its unit's ``scale`` (to J or s); refuses one that is finite as written
    but not once scaled (``1e308`` kWh is not a number of joules)."""
    number = parse_float(value, column, file, line)
    if number is None:
        return None
    scaled = number * scale
    if not math.isfinite(scaled):
        raise MalformedFileError(
            file, line, f"{column} is too large to convert to SI units: {value!r}"
        )
    return scaled


# Unix seconds a timestamp may hold: from 1970 (no LLM was measured before) to the last
# time pandas can represent (2262-04-11).
MAX_TIMESTAMP_S = 9_223_372_036.0


def parse_timestamp_s(value: str, column: str, file: str, line: int) -> float | None:
    """Unix seconds between 1970 and 2262, or None for an empty field."""
    seconds = parse_float(value, column, file, line)
    if seconds is None or 0 <= seconds <= MAX_TIMESTAMP_S:
        return seconds
    unit = " (it looks like milliseconds)" if 1e12 <= seconds <= 1e3 * MAX_TIMESTAMP_S else ""
    raise MalformedFileError(
        file,
        line,
        f"{column} is out of range: {value!r} (expected seconds since 1970, a time between "
        f"1970 and 2262){unit}",
    )


# Counts (tokens, GPUs, batch sizes, iterations) above this are not measurements: the store
# keeps them as 32-bit integers.
MAX_COUNT = 1_000_000_000


def parse_count(value: str, column: str, file: str, line: int, required: bool = True) -> int | None:
    """A non-negative whole number (``32`` or ``32.0``); refuses text, negatives, fractions."""
    try:
        number = int(value)  # a plain integer, the common case
    except ValueError:
        number = parse_float(value, column, file, line)
    if number is None:
        if required:
            raise MalformedFileError(file, line, f"{column} is empty")
        return None
    if number < 0:
        raise MalformedFileError(file, line, f"{column} is negative: {value!r}")
    if number != int(number):  # an int is its own int; a float may be fractional
        raise MalformedFileError(file, line, f"{column} is not a whole number: {value!r}")
    if number > MAX_COUNT:
        raise MalformedFileError(
            file, line, f"{column} is absurdly large: {value!r} (over {MAX_COUNT:,})"
        )
    return int(number)
