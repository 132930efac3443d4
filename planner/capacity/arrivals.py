"""Synthetic arrival processes for demos and tests: Poisson, diurnal, bursty; seeded.

- ``poisson:RATE``: a homogeneous Poisson process of RATE requests per second;
- ``diurnal:PEAK``: a non-homogeneous Poisson process whose rate follows a daily curve,
  PEAK requests per second at 14:00 and ``DIURNAL_TROUGH`` x PEAK at 02:00 (a cosine;
  a shape, not data);
- ``bursty:RATE,CV``: a renewal process with gamma inter-arrival times of mean 1/RATE and
  coefficient of variation CV (CV = 1 is Poisson; CV > 1 bursts).

``synthetic_arrivals`` gives one arrival time per request (tests, small demos);
``synthetic_slot_counts`` gives requests per slot without materialising a week of
arrivals (the bench's 18 million requests): Poisson counts of the rate's integral over each
slot for the first two (the same distribution), gamma arrivals drawn in chunks and counted
for the third.  Token counts come from ``planner.workload.synthetic`` shapes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planner.quantities import S_PER_H

__all__ = [
    "ArrivalSpec",
    "DIURNAL_TROUGH",
    "MAX_HOURS",
    "parse_arrivals",
    "synthetic_arrivals",
    "synthetic_slot_counts",
    "rate_per_s",
]

DIURNAL_TROUGH = 0.2  # the night's rate as a fraction of the peak (a shape, not data)
PEAK_HOUR = 14.0
MAX_HOURS = 24 * 7  # an hour to a week
MIN_HOURS = 1.0
CHUNK = 2_000_000  # arrivals drawn at a time (bounded memory)
KINDS = ("poisson", "diurnal", "bursty")


@dataclass(frozen=True)
class ArrivalSpec:
    kind: str
    rate: float  # mean (poisson, bursty) or peak (diurnal) requests per second
    cv: float = 1.0

    @property
    def label(self) -> str:
        if self.kind == "bursty":
            return f"bursty:{self.rate:g},{self.cv:g}"
        return f"{self.kind}:{self.rate:g}"


def parse_arrivals(text: str) -> ArrivalSpec:
    """``poisson:RATE``, ``diurnal:PEAK`` or ``bursty:RATE,CV``; ValueError says the form."""
    form = "use poisson:RATE, diurnal:PEAK or bursty:RATE,CV (requests per second)"
    kind, _, args = str(text).partition(":")
    kind = kind.strip().lower()
    if kind not in KINDS or not args:
        raise ValueError(f"unknown arrival process {text!r}: {form}")
    try:
        numbers = [float(a) for a in args.split(",")]
    except ValueError:
        raise ValueError(f"arrival process {text!r}: not a number; {form}") from None
    want = 2 if kind == "bursty" else 1
    if len(numbers) != want or not all(math.isfinite(x) and x > 0 for x in numbers):
        raise ValueError(f"arrival process {text!r}: {form}, each number > 0")
    if numbers[0] > 1e6:
        raise ValueError(f"arrival process {text!r}: {numbers[0]:g} requests/s is absurd")
    return ArrivalSpec(kind, numbers[0], numbers[1] if kind == "bursty" else 1.0)


def _check_hours(hours: float) -> float:
    if not MIN_HOURS <= float(hours) <= MAX_HOURS:
        raise ValueError(f"hours must be from {MIN_HOURS:g} to {MAX_HOURS} (a week), got {hours}")
    return float(hours)


def rate_per_s(spec: ArrivalSpec, t_s: np.ndarray) -> np.ndarray:
    """The arrival rate (requests/s) at times ``t_s`` seconds from midnight."""
    t_s = np.asarray(t_s, dtype=float)
    if spec.kind != "diurnal":
        return np.full(t_s.shape, spec.rate)
    phase = 2 * np.pi * (t_s / S_PER_H - PEAK_HOUR) / 24.0
    return spec.rate * (DIURNAL_TROUGH + (1 - DIURNAL_TROUGH) * (1 + np.cos(phase)) / 2)


def _rate_integral(spec: ArrivalSpec, t_s: np.ndarray) -> np.ndarray:
    """The expected arrivals from 0 to ``t_s``."""
    t_s = np.asarray(t_s, dtype=float)
    if spec.kind != "diurnal":
        return spec.rate * t_s
    w = 2 * np.pi / (24 * S_PER_H)
    phase0 = -2 * np.pi * PEAK_HOUR / 24.0
    mean = (1 + DIURNAL_TROUGH) / 2
    amp = (1 - DIURNAL_TROUGH) / 2
    return spec.rate * (mean * t_s + amp * (np.sin(w * t_s + phase0) - np.sin(phase0)) / w)


def synthetic_slot_counts(spec: ArrivalSpec, hours: float, slot_s: float, seed: int = 0):
    """Requests arriving in each slot of ``slot_s`` seconds over ``hours`` hours."""
    hours = _check_hours(hours)
    horizon = hours * S_PER_H
    n_slots = int(math.ceil(horizon / slot_s))
    edges = np.minimum(np.arange(n_slots + 1) * slot_s, horizon)
    rng = np.random.default_rng(seed)
    if spec.kind != "bursty":
        return rng.poisson(np.diff(_rate_integral(spec, edges))).astype(np.int64)
    counts = np.zeros(n_slots, dtype=np.int64)
    shape = 1.0 / spec.cv**2
    scale = 1.0 / (spec.rate * shape)
    t = 0.0
    while t < horizon:
        gaps = rng.gamma(shape, scale, CHUNK)
        times = t + np.cumsum(gaps)
        t = float(times[-1])
        times = times[times < horizon]
        counts += np.bincount((times // slot_s).astype(np.int64), minlength=n_slots)[:n_slots]
    return counts


def synthetic_arrivals(spec: ArrivalSpec, hours: float, seed: int = 0) -> np.ndarray:
    """One arrival time (seconds from the start) per request, sorted."""
    hours = _check_hours(hours)
    horizon = hours * S_PER_H
    rng = np.random.default_rng(seed)
    if spec.kind == "poisson":
        n = rng.poisson(spec.rate * horizon)
        return np.sort(rng.uniform(0.0, horizon, n))
    if spec.kind == "diurnal":  # thinning of a Poisson process at the peak rate
        n = rng.poisson(spec.rate * horizon)
        t = np.sort(rng.uniform(0.0, horizon, n))
        return t[rng.uniform(0.0, spec.rate, n) < rate_per_s(spec, t)]
    shape = 1.0 / spec.cv**2
    scale = 1.0 / (spec.rate * shape)
    parts, t = [], 0.0
    while t < horizon:
        times = t + np.cumsum(rng.gamma(shape, scale, min(CHUNK, int(spec.rate * horizon) + 16)))
        t = float(times[-1])
        parts.append(times[times < horizon])
    return np.concatenate(parts)
