"""The grid over time: carbon intensity and electricity price per hour, per slot.

A CSV with a header ``hour,gco2e_per_kwh,price_per_kwh``: ``hour`` counts whole hours from
the plan's start (0, 1, 2, ...), one row per hour, in order.  A file of exactly 24 rows
(hours 0-23) is a daily profile and repeats; any other file must cover every hour of the
plan.  A slot takes the mean of the hours it spans (time-weighted); a slot inside one hour
takes that hour's figures.  Every problem is a ``GridError`` naming the file and the row
(the header is line 1, the first data row line 2).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from planner.quantities import S_PER_H

__all__ = ["GRID_COLUMNS", "GridError", "GridProfile", "load_grid"]

GRID_COLUMNS = ("hour", "gco2e_per_kwh", "price_per_kwh")
MAX_ROWS = 24 * 366 * 2  # two years of hours: more is not an hourly profile
MAX_INTENSITY = 5000.0  # g/kWh: above any grid (coal is about 1000)


class GridError(ValueError):
    """A grid file cannot be used; the message names the file and the row."""


@dataclass
class GridProfile:
    """Hourly carbon intensity (g CO2e/kWh) and price (per kWh), from ``source``."""

    intensity_g_per_kwh: np.ndarray
    price_per_kwh: np.ndarray
    source: str

    @property
    def daily(self) -> bool:
        return len(self.intensity_g_per_kwh) == 24

    def per_slot(self, n_slots: int, slot_s: float) -> tuple[np.ndarray, np.ndarray]:
        """(intensity, price) per slot: the time-weighted mean of the hours it spans."""
        horizon_h = n_slots * slot_s / S_PER_H
        n_hours = len(self.intensity_g_per_kwh)
        if not self.daily and horizon_h > n_hours + 1e-9:
            raise GridError(
                f"{self.source}: covers {n_hours} hours, the plan {horizon_h:g} hours: give "
                "one row per hour of the plan, or 24 rows (a daily profile that repeats)"
            )
        out = []
        for values in (self.intensity_g_per_kwh, self.price_per_kwh):
            # cumulative integral over hours, evaluated at the slot edges
            cum = np.concatenate([[0.0], np.cumsum(values)])
            edges_h = np.arange(n_slots + 1) * slot_s / S_PER_H

            def integral(h, cum=cum, values=values):
                whole = np.floor(h).astype(np.int64)
                frac = h - whole
                days, hour = np.divmod(whole, n_hours)
                per_cycle = cum[-1]
                nxt = values[np.minimum(hour, n_hours - 1)]
                return days * per_cycle + cum[hour] + frac * nxt

            out.append(np.diff(integral(edges_h)) / (slot_s / S_PER_H))
        return out[0], out[1]


def _number(text: str, file: str, line: int, column: str, top: float) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise GridError(
            f"{file}: row {line}: column {column!r}: {text!r} is not a number"
        ) from None
    if not math.isfinite(value) or value < 0:
        raise GridError(f"{file}: row {line}: column {column!r}: {text!r} must be a number >= 0")
    if value > top:
        raise GridError(f"{file}: row {line}: column {column!r}: {text!r} is absurd (over {top:g})")
    return value


def load_grid(path) -> GridProfile:
    """Read and check a grid CSV; GridError names the file and row."""
    file = str(path)
    try:
        handle = Path(path).open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise GridError(f"{file}: cannot read grid file: {exc.strerror or exc}") from exc
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
            if header is None:
                raise GridError(f"{file}: empty file: expected a header {','.join(GRID_COLUMNS)}")
            names = [h.strip().lower() for h in header]
            missing = [c for c in GRID_COLUMNS if c not in names]
            if missing:
                raise GridError(
                    f"{file}: row 1 (header): missing column(s) {', '.join(missing)} "
                    f"(expected {','.join(GRID_COLUMNS)}; found {','.join(header)})"
                )
            idx = [names.index(c) for c in GRID_COLUMNS]
            intensity, price = [], []
            for i, row in enumerate(reader):
                line = i + 2
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) < len(header):
                    raise GridError(
                        f"{file}: row {line}: {len(row)} cells, the header has {len(header)}"
                    )
                hour = _number(row[idx[0]], file, line, "hour", MAX_ROWS)
                if hour != len(intensity):
                    raise GridError(
                        f"{file}: row {line}: hour {row[idx[0]].strip()!r} out of order: "
                        f"expected {len(intensity)} (hours count 0, 1, 2, ... with none missing)"
                    )
                intensity.append(_number(row[idx[1]], file, line, "gco2e_per_kwh", MAX_INTENSITY))
                price.append(_number(row[idx[2]], file, line, "price_per_kwh", 1e6))
                if len(intensity) > MAX_ROWS:
                    raise GridError(f"{file}: more than {MAX_ROWS} hours: not an hourly profile")
        except csv.Error as exc:
            raise GridError(f"{file}: row {reader.line_num}: not valid CSV: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise GridError(f"{file}: not UTF-8 text: {exc.reason}") from exc
    if not intensity:
        raise GridError(f"{file}: no data rows under the header")
    return GridProfile(np.array(intensity), np.array(price), file)
