"""Operating points of one serving setup: energy per token, throughput and latency vs batch.

Under continuous batching a server's figures are set by its running batch ``b`` (mean
requests decoded together).  ``OperatingPointModel`` models each target, in log-log space
(every target is a positive quantity whose spread over batch sizes spans one to three
decades, so relative error is what matters), as a monotone curve in ``b`` built from one
setup's rows (``planner.serving.setups``) in two parts:

- between the measured batch sizes, a monotone cubic Hermite interpolant (PCHIP,
  Fritsch-Carlson) through the measured log figures, made monotone first (running min or
  max: a measured point against the physics is clipped to its neighbour);
- beyond them, a physical form fitted by bounded least squares in log space
  (``scipy.optimize.least_squares``) on all the points, used for its shape only: shifted so
  that it meets the end point.

Why interpolate rather than fit a 3-parameter form everywhere: leave-one-batch-size-out on
the 67 ML.ENERGY v3 setups with >= 4 batch sizes (``bench/serving_fit_quality.py``), arms
within 10 % median held-out error went from 61/55/46 (energy/throughput/p90 ITL, the forms
alone) to 64/61/56 (43 -> 53 arms meeting all three): the measured curves bend in ways (a
knee, a change of regime) that no smooth 3-parameter form follows, while neighbours in
log batch predict an interior point well.  The forms extrapolate better than carrying the
end segment's slope (p90 ITL 56/67 against 53/67 with PCHIP's own end slopes).  The same
construction for every target and arm: nothing is chosen by the held-out error of an arm.
Also tried and not kept: piecewise-linear interpolation (energy 66, throughput 62, p90 ITL
50 of 67), p90 ITL as the p50 curve times an interpolated p90/p50 ratio (51), and choosing
per arm between the forms and the interpolants by an inner leave-one-out on the training
points (energy 64 of 67, no better than PCHIP alone, at some ten times the fitting time;
not pursued for the other targets).

The forms (monotone by construction; their bounds carry the physics into extrapolation):

- throughput (output tokens/s of the instance), saturating:
  ``T(b) = Tmax * b^h / (b^h + b_half^h)`` with ``0.05 <= h <= 1``.  Nondecreasing; ``h <= 1``
  keeps the per-request token rate ``T(b)/b`` nonincreasing beyond the measured range.
- energy per output token, nonincreasing: ``e(b) = e_inf + d * b^-m``, ``e_inf, d >= 0``,
  ``0 <= m <= 1`` (``e = P/T`` with power never falling and ``T(b)/b`` never rising cannot
  fall faster than ``1/b``).
- inter-token latency p50 and p90, nondecreasing: ``itl(b) = a + c * b^k``, ``a, c >= 0``,
  ``0 <= k <= 1.5``.
- TTFT p90 (where rows have it; ML.ENERGY has none): the same nondecreasing form as ITL.

Where the model misses (``bench/serving_fit_quality.py``, 14 of 67 arms): a held-out point
that breaks the monotone trend of its neighbours, mostly on B200 and for the p90 ITL.
Llama-3.1-8B on one B200 (chat) drops from 5589 to 4570 tokens/s between batch 64 and 128
and then recovers; Qwen3-235B-A22B-Thinking on eight B200s (GPQA) falls from 8702 to 5094
tokens/s between batch 512 and 695; Qwen3-14B on one B200 (chat) jumps 1.85x in throughput
from batch 128 to 256 while its p90 ITL falls; Qwen3-Coder-480B on eight B200s (code
FIM) has its p90 ITL rise in steps of 1.4-1.6x between neighbouring batch sizes and fall
once (365 to 344 ms from batch 744 to 1010), with p90/p50 ratios from 1.0 to 4.0.  No
monotone curve predicts such a point from its neighbours, and we keep the physical
monotonicity rather than chase it.

With fewer than 3 measured batch sizes a target is interpolated piecewise-linearly in
log-log between the measured points (made monotone first), with the end segments' slopes
(clipped to the physical range above) carried beyond them; with one, it is flat.  Each
target's choice is in ``form_``.  Outside ``[min_batch_, max_batch_]`` a prediction is an
extrapolation and the point says ``extrapolated=True``.  Every prediction is positive by
construction (an exponential of a log figure); predictions are still floored at 0
explicitly so that no path can return a negative figure.  ``power_w`` is derived, ``energy_per_token_j * throughput_tps`` (the
identity the rows themselves satisfy), not fitted separately.

Held-out error (``cv_``): leave one batch size out -- refit the whole model without it,
predict it -- absolute percentage error per target, median and 90th percentile (linear
interpolation, as ``planner.fits.validation.error_figures``) over the batch sizes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.serving.setups import merge_batches

# target name -> (serving column, shape)
TARGETS = {
    "energy_per_token_j": ("energy_per_output_token_j", "decreasing"),
    "throughput_tps": ("output_throughput_tps", "saturating"),
    "itl_ms_p50": ("itl_ms_p50", "increasing"),
    "itl_ms_p90": ("itl_ms_p90", "increasing"),
    "ttft_ms_p90": ("ttft_ms_p90", "increasing"),
}
REQUIRED_TARGETS = ("energy_per_token_j", "throughput_tps")
CV_TARGETS = ("energy_per_token_j", "throughput_tps", "itl_ms_p90")
# Fewer distinct batch sizes than this: piecewise log-log interpolation, not a 3-parameter form.
MIN_BATCHES_FOR_FORM = 3
# Log-log slopes an extrapolated end segment may have, per shape (see the module docstring).
SLOPE_LIMITS = {"decreasing": (-1.0, 0.0), "saturating": (0.0, 1.0), "increasing": (0.0, 1.5)}
# A batch within this fraction of a measured one is that measured point.
MEASURED_TOLERANCE = 1e-6
_LOG_BATCH_BOUNDS = (math.log(1e-3), math.log(1e7))

FORM_TEXT = {
    "saturating": "T(b) = Tmax * b^h / (b^h + b_half^h), 0.05 <= h <= 1 (log-space least squares)",
    "decreasing": "e(b) = e_inf + d * b^-m, e_inf, d >= 0, 0 <= m <= 1 (log-space least squares)",
    "increasing": "y(b) = a + c * b^k, a, c >= 0, 0 <= k <= 1.5 (log-space least squares)",
}


def _log_model(shape: str, p: np.ndarray, lb: np.ndarray) -> np.ndarray:
    if shape == "saturating":  # log Tmax - log(1 + (b_half / b)^h)
        return p[0] - np.logaddexp(0.0, p[2] * (p[1] - lb))
    if shape == "decreasing":  # log(e_inf + d b^-m)
        return np.logaddexp(p[0], p[1] - p[2] * lb)
    return np.logaddexp(p[0], p[1] + p[2] * lb)  # increasing: log(a + c b^k)


def _starts_and_bounds(shape: str, lb: np.ndarray, ly: np.ndarray):
    lo_y, hi_y = float(ly.min()), float(ly.max())
    wide = (lo_y - 30.0, hi_y + 30.0)
    if shape == "saturating":
        bounds = ([wide[0], _LOG_BATCH_BOUNDS[0], 0.05], [wide[1], _LOG_BATCH_BOUNDS[1], 1.0])
        starts = [[hi_y + 0.5, float(np.median(lb)), 0.8], [hi_y + 1.5, float(lb.max()), 1.0]]
    elif shape == "decreasing":
        bounds = ([wide[0], wide[0], 0.0], [wide[1], wide[1], 1.0])
        starts = [[lo_y - 0.5, hi_y + 0.5 * lb[0], 0.8], [lo_y - 3.0, hi_y, 0.5]]
    else:
        bounds = ([wide[0], wide[0], 0.0], [wide[1], wide[1], 1.5])
        starts = [[lo_y - 0.3, lo_y - 3.0, 1.0], [lo_y - 3.0, lo_y - lb[0] * 0.5, 0.5]]
    return starts, bounds


def _fit_form(shape: str, lb: np.ndarray, ly: np.ndarray) -> np.ndarray:
    """Best of a few bounded least-squares starts (the forms are not convex in log space)."""
    from scipy.optimize import least_squares

    starts, (lo, hi) = _starts_and_bounds(shape, lb, ly)
    best = None
    for start in starts:
        x0 = np.clip(np.asarray(start, dtype=float), lo, hi)
        result = least_squares(lambda p: _log_model(shape, p, lb) - ly, x0, bounds=(lo, hi))
        if best is None or result.cost < best.cost:
            best = result
    return best.x


def _monotone(shape: str, ly: np.ndarray) -> np.ndarray:
    if shape == "decreasing":
        return np.minimum.accumulate(ly)
    return np.maximum.accumulate(ly)


@dataclass(frozen=True)
class _TargetFit:
    shape: str
    kind: str  # "pchip", "interp", "flat" or "none"
    params: tuple[float, ...] = ()
    knots_lb: tuple[float, ...] = ()
    knots_ly: tuple[float, ...] = ()

    def __post_init__(self):
        if self.kind == "pchip":
            from scipy.interpolate import PchipInterpolator

            # Fritsch-Carlson PCHIP: monotone between monotone knots, no overshoot.
            curve = PchipInterpolator(np.asarray(self.knots_lb), np.asarray(self.knots_ly))
            object.__setattr__(self, "_pchip", curve)

    def log_predict(self, lb: np.ndarray) -> np.ndarray:
        if self.kind == "none":
            return np.full_like(lb, np.nan)
        x, y = np.asarray(self.knots_lb), np.asarray(self.knots_ly)
        if self.kind == "pchip":
            # Inside: the PCHIP through the measured points.  Outside: the fitted form's
            # curve, shifted to meet the end point (continuous, and monotone like the form).
            params = np.asarray(self.params)
            edge = np.clip(lb, x[0], x[-1])
            inside = self._pchip(edge)
            return (
                inside + _log_model(self.shape, params, lb) - _log_model(self.shape, params, edge)
            )
        if self.kind == "flat":
            return np.full_like(lb, y[0])
        out = np.interp(lb, x, y)
        lo_slope, hi_slope = SLOPE_LIMITS[self.shape]
        first = np.clip((y[1] - y[0]) / (x[1] - x[0]), lo_slope, hi_slope)
        last = np.clip((y[-1] - y[-2]) / (x[-1] - x[-2]), lo_slope, hi_slope)
        out = np.where(lb < x[0], y[0] + first * (lb - x[0]), out)
        return np.where(lb > x[-1], y[-1] + last * (lb - x[-1]), out)

    def describe(self) -> str:
        if self.kind == "pchip":
            return (
                f"monotone PCHIP in log-log through the {len(self.knots_lb)} measured batch "
                f"sizes; beyond them the fitted form {FORM_TEXT[self.shape]}, "
                "shifted to meet the end point"
            )
        if self.kind == "interp":
            return (
                f"monotone piecewise-linear interpolation in log-log between "
                f"{len(self.knots_lb)} measured batch sizes (fewer than {MIN_BATCHES_FOR_FORM}), "
                "end slopes carried beyond them"
            )
        if self.kind == "flat":
            return "one measured batch size: the measured figure, flat at every batch"
        return "not measured"

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "params": list(self.params),
            "knots_batch": [math.exp(v) for v in self.knots_lb],
            "knots_value": [math.exp(v) for v in self.knots_ly],
        }


def _fit_target(shape: str, batch: np.ndarray, y: np.ndarray) -> _TargetFit:
    ok = np.isfinite(y) & (y > 0)
    lb, ly = np.log(batch[ok]), np.log(y[ok])
    if len(lb) == 0:
        return _TargetFit(shape, "none")
    if len(lb) == 1:
        return _TargetFit(shape, "flat", knots_lb=tuple(lb), knots_ly=tuple(ly))
    if len(lb) < MIN_BATCHES_FOR_FORM:
        return _TargetFit(shape, "interp", knots_lb=tuple(lb), knots_ly=tuple(_monotone(shape, ly)))
    return _TargetFit(
        shape,
        "pchip",
        params=tuple(float(v) for v in _fit_form(shape, lb, ly)),
        knots_lb=tuple(lb),
        knots_ly=tuple(_monotone(shape, ly)),
    )


@dataclass(frozen=True)
class OperatingPoint:
    """What one instance does at a running batch of ``batch`` requests.

    ``throughput_tps`` is output tokens per second of the whole instance;
    ``power_w`` = ``energy_per_token_j * throughput_tps`` (derived, not fitted);
    ``ttft_ms_p90`` is None where the rows had no TTFT; ``extrapolated``: batch outside the
    measured ``[min_batch_, max_batch_]``; ``measured``: batch is a measured batch size.
    """

    batch: float
    energy_per_token_j: float
    throughput_tps: float
    itl_ms_p50: float
    itl_ms_p90: float
    power_w: float
    ttft_ms_p90: float | None
    extrapolated: bool
    measured: bool


def _check_batch(batch) -> float:
    b = float(batch)
    if not math.isfinite(b) or b <= 0:
        raise ValueError(f"batch must be a positive finite number of requests, got {batch!r}")
    return b


class OperatingPointModel:
    """Energy per token, throughput and latency of one serving setup against its batch.

    ``fit(rows)`` takes one setup's serving rows (columns ``mean_batch``,
    ``energy_per_output_token_j``, ``output_throughput_tps`` and, where measured,
    ``itl_ms_p50``, ``itl_ms_p90``, ``ttft_ms_p90``); rows repeating a batch size are
    averaged (``planner.serving.setups.merge_batches``).  Learned: ``batches_``,
    ``min_batch_``, ``max_batch_``, ``form_`` and ``params_`` per target, ``cv_``
    (leave-one-batch-size-out error of ``CV_TARGETS``; NaN with n = 0 below 3 batch sizes,
    or with ``cv=False``), ``has_ttft_``, ``max_throughput_tps_`` (largest measured).
    """

    def __init__(self, cv: bool = True):
        self.cv = cv

    # -- fitting -------------------------------------------------------------------------
    def fit(self, rows: pd.DataFrame) -> OperatingPointModel:
        table = self._table(rows)
        batch = table["mean_batch"].to_numpy(dtype=float)
        self.batches_ = batch
        self.min_batch_ = float(batch[0])
        self.max_batch_ = float(batch[-1])
        self.n_rows_ = int(table["n_rows"].sum())
        self.fits_: dict[str, _TargetFit] = {}
        for target, (column, shape) in TARGETS.items():
            values = (
                pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
                if column in table.columns
                else np.full(len(batch), np.nan)
            )
            self.fits_[target] = _fit_target(shape, batch, values)
        self.form_ = {t: f.describe() for t, f in self.fits_.items()}
        self.params_ = {t: f.to_dict() for t, f in self.fits_.items()}
        self.has_ttft_ = self.fits_["ttft_ms_p90"].kind != "none"
        self.max_throughput_tps_ = float(table["output_throughput_tps"].max())
        self.cv_ = self._leave_one_batch_out(table) if self.cv else _empty_cv()
        return self

    @staticmethod
    def _table(rows: pd.DataFrame) -> pd.DataFrame:
        if rows is None or len(rows) == 0:
            raise ValueError("no serving rows to fit")
        missing = [c for c in ("mean_batch", *(TARGETS[t][0] for t in REQUIRED_TARGETS))]
        missing = [c for c in missing if c not in rows.columns]
        if missing:
            raise ValueError(f"serving rows lack column(s) {missing}")
        for column in ("mean_batch", *(TARGETS[t][0] for t in REQUIRED_TARGETS)):
            values = pd.to_numeric(rows[column], errors="coerce")
            bad = ~(np.isfinite(values.to_numpy(dtype=float)) & (values.to_numpy(dtype=float) > 0))
            if bad.any():
                where = rows.index[bad][0]
                raise ValueError(
                    f"serving row {where!r}: {column} must be a positive finite number, "
                    f"got {rows.loc[where, column]!r}"
                )
        return merge_batches(rows)

    def _leave_one_batch_out(self, table: pd.DataFrame) -> dict[str, dict]:
        if len(table) < MIN_BATCHES_FOR_FORM:
            return _empty_cv()
        errors: dict[str, list[float]] = {t: [] for t in CV_TARGETS}
        for i in range(len(table)):
            model = OperatingPointModel(cv=False).fit(table.drop(index=table.index[i]))
            point = model.predict(float(table["mean_batch"].iloc[i]))
            for target in CV_TARGETS:
                column = TARGETS[target][0]
                actual = float(table[column].iloc[i]) if column in table.columns else math.nan
                predicted = getattr(point, target)
                if math.isfinite(actual) and actual > 0 and math.isfinite(predicted):
                    errors[target].append(abs(predicted - actual) / actual * 100.0)
        out = {}
        for target, ape in errors.items():
            if ape:
                out[target] = {
                    "median_ape": float(np.median(ape)),
                    "p90_ape": float(np.percentile(ape, 90)),
                    "n": len(ape),
                }
            else:
                out[target] = {"median_ape": math.nan, "p90_ape": math.nan, "n": 0}
        return out

    # -- prediction ----------------------------------------------------------------------
    def predict_many(self, target: str, batch) -> np.ndarray:
        """One target's predictions at an array of batches (floored at 0; NaN where the
        rows never measured it)."""
        b = np.asarray(batch, dtype=float)
        if np.any(~np.isfinite(b) | (b <= 0)):
            raise ValueError("batches must be positive finite numbers of requests")
        with np.errstate(over="ignore"):
            y = np.exp(self.fits_[target].log_predict(np.log(b)))
        # Positive by construction; the floor makes that explicit for every path.
        return np.where(np.isnan(y), np.nan, np.maximum(y, 0.0))

    def predict(self, batch: float) -> OperatingPoint:
        b = _check_batch(batch)
        value = {t: float(self.predict_many(t, [b])[0]) for t in TARGETS}
        lo = self.min_batch_ * (1.0 - MEASURED_TOLERANCE)
        hi = self.max_batch_ * (1.0 + MEASURED_TOLERANCE)
        measured = bool(np.any(np.abs(self.batches_ - b) <= MEASURED_TOLERANCE * self.batches_))
        return OperatingPoint(
            batch=b,
            energy_per_token_j=value["energy_per_token_j"],
            throughput_tps=value["throughput_tps"],
            itl_ms_p50=value["itl_ms_p50"],
            itl_ms_p90=value["itl_ms_p90"],
            power_w=value["energy_per_token_j"] * value["throughput_tps"],
            ttft_ms_p90=value["ttft_ms_p90"] if self.has_ttft_ else None,
            extrapolated=not (lo <= b <= hi),
            measured=measured,
        )

    def best_batch(
        self, itl_ms_p90_max: float | None = None, max_batch: float | None = None
    ) -> OperatingPoint | None:
        """The batch of least energy per token in ``[1, min(max_batch, max_batch_)]`` whose
        p90 ITL is at most ``itl_ms_p90_max``; None when no batch there meets it.  (Energy
        per token never rises and ITL never falls with batch, so this is the largest batch
        meeting the target; the search does not rely on that.)"""
        upper = (
            self.max_batch_ if max_batch is None else min(_check_batch(max_batch), self.max_batch_)
        )
        lower = min(1.0, upper)
        grid = np.unique(
            np.concatenate(
                [
                    np.geomspace(lower, upper, 400),
                    self.batches_[(self.batches_ >= lower) & (self.batches_ <= upper)],
                    [upper],
                ]
            )
        )
        energy = self.predict_many("energy_per_token_j", grid)
        if itl_ms_p90_max is None:
            feasible = np.ones(len(grid), dtype=bool)
        else:
            if not float(itl_ms_p90_max) > 0:
                raise ValueError(f"itl_ms_p90_max must be positive, got {itl_ms_p90_max!r}")
            itl = self.predict_many("itl_ms_p90", grid)
            if np.all(np.isnan(itl)):
                raise ValueError("this setup has no p90 ITL to hold to a target")
            feasible = itl <= float(itl_ms_p90_max)
        if not feasible.any():
            return None
        # least energy; among equals, the largest batch (more throughput for the same J/token)
        idx = np.flatnonzero(feasible)
        best = idx[np.lexsort((-grid[idx], energy[idx]))[0]]
        b = float(grid[best])
        if itl_ms_p90_max is not None and best + 1 < len(grid) and not feasible[best + 1]:
            b = self._refine_itl_edge(b, float(grid[best + 1]), float(itl_ms_p90_max))
        return self.predict(b)

    def _refine_itl_edge(self, ok: float, bad: float, target: float) -> float:
        """The largest batch between a feasible and an infeasible one meeting the target,
        kept only where its energy per token is no higher."""
        start = ok
        for _ in range(50):
            mid = math.sqrt(ok * bad)
            if self.predict_many("itl_ms_p90", [mid])[0] <= target:
                ok = mid
            else:
                bad = mid
        e_ok, e_start = self.predict_many("energy_per_token_j", [ok, start])
        return ok if e_ok <= e_start else start

    def batch_for_throughput(self, tps: float) -> float | None:
        """The smallest batch (>= min(1, min_batch_)) whose predicted throughput reaches
        ``tps``; None when ``tps`` exceeds the largest measured throughput.  Where the fit
        stays just under a measured figure, the largest measured batch."""
        tps = float(tps)
        if not math.isfinite(tps) or tps < 0:
            raise ValueError(f"throughput must be a non-negative finite number, got {tps!r}")
        if tps > self.max_throughput_tps_:
            return None
        lo = min(1.0, self.min_batch_)
        hi = self.max_batch_
        if self.predict_many("throughput_tps", [lo])[0] >= tps:
            return lo
        if self.predict_many("throughput_tps", [hi])[0] < tps:
            return hi
        for _ in range(60):
            mid = math.sqrt(lo * hi)
            if self.predict_many("throughput_tps", [mid])[0] >= tps:
                hi = mid
            else:
                lo = mid
        return hi


def _empty_cv() -> dict[str, dict]:
    return {t: {"median_ape": math.nan, "p90_ape": math.nan, "n": 0} for t in CV_TARGETS}
