"""Fitted energy/runtime curves: the one type the planner, catalogue and app share.

A curve is linear in named terms of the input and output token counts, for example
``("tin", "tout", "tin*tout")`` for the paper's form.  Term syntax: ``1`` for the
intercept, or factors ``tin`` / ``tout`` with an optional integer power (``tout^2``),
joined by ``*`` (``tin*tout^2``).

``FitReport`` bundles a curve with where it came from and how well it predicts held-out
data.  Its ``to_json`` keys are the ones ``python -m planner fit --json`` prints.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

TARGET_UNITS = {"energy": "J", "runtime": "s"}
# A query within this fraction of a measured 1-D sweep line counts as measured.
SWEEP_LINE_TOLERANCE = 0.25


def _parse_term(term: str) -> list[tuple[str, int]]:
    if term == "1":
        return []
    factors = []
    for factor in term.split("*"):
        name, _, power = factor.partition("^")
        if name not in ("tin", "tout"):
            raise ValueError(f"unknown factor {name!r} in term {term!r}")
        factors.append((name, int(power) if power else 1))
    return factors


def design_matrix(terms: tuple[str, ...] | list[str], tin, tout) -> np.ndarray:
    """Columns of the named terms evaluated at (tin, tout); shape (n, len(terms))."""
    values = {"tin": np.asarray(tin, dtype=float), "tout": np.asarray(tout, dtype=float)}
    n = np.broadcast(values["tin"], values["tout"]).shape
    cols = []
    for term in terms:
        col = np.ones(n)
        for name, power in _parse_term(term):
            col = col * values[name] ** power
        cols.append(np.broadcast_to(col, n))
    return np.column_stack(cols) if cols else np.zeros(n + (0,))


@dataclass
class Curve:
    """y = sum_k coef[k] * term_k(tin, tout), with what is known of its uncertainty.

    ``coef_cov`` is the covariance of the coefficients (None where unknown);
    ``clip_negative`` makes ``predict`` return max(y, 0) (the paper's own form is kept
    unclipped so that it reproduces the published figures).  ``sweep_lines`` = (a, b) says
    the data were two 1-D sweeps, one at tin = a and one at tout = b: then only points near
    those lines count as measured (``in_range``), everything else is extrapolation.
    """

    terms: tuple[str, ...]
    coef: np.ndarray
    target: str = "energy"
    coef_cov: np.ndarray | None = None
    tin_range: tuple[float, float] = (0.0, math.inf)
    tout_range: tuple[float, float] = (0.0, math.inf)
    clip_negative: bool = True
    sweep_lines: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        self.terms = tuple(self.terms)
        self.coef = np.asarray(self.coef, dtype=float)
        for term in self.terms:
            _parse_term(term)
        if self.coef.shape != (len(self.terms),):
            raise ValueError(f"{len(self.terms)} terms but coefficients of shape {self.coef.shape}")
        if self.coef_cov is not None:
            self.coef_cov = np.asarray(self.coef_cov, dtype=float)

    @property
    def unit(self) -> str:
        return TARGET_UNITS[self.target]

    def design(self, tin, tout) -> np.ndarray:
        return design_matrix(self.terms, tin, tout)

    def predict(self, tin, tout) -> np.ndarray:
        y = self.design(tin, tout) @ self.coef
        return np.maximum(y, 0.0) if self.clip_negative else y

    @property
    def monotone(self) -> bool:
        """True when no coefficient is negative: every term is a product of non-negative
        powers of tin and tout, so predictions never fall as a query grows and never go
        below zero, and ``physical_floor`` never binds."""
        return bool(np.all(self.coef >= 0))

    def physical_floor(self, tin, tout) -> np.ndarray:
        """The least figure planning may use for each query: what the fit predicts for the
        measured queries it dominates.

        Why this floor.  A longer prompt or a longer output never takes less energy or time
        (prefill and every decode step only add work), so a query costs at least what the
        fit predicts for any query with no more input and no more output tokens.  With
        (tin, tout) first clamped into the measured ranges, the floor is the largest of the
        fit's predictions at (tin_lo, tout_lo), (tin_lo, tout), (tin, tout_lo) and
        (tin, tout) -- the corners of the measured box the query dominates; for the paper's
        bilinear form the largest prediction over that box is at one of them.  A query
        shorter than anything measured gets that figure times its tokens over the clamped
        query's (the energy per token there, times its own tokens), so it is not charged a
        whole measured query.  The lower bounds of the ranges count as at least 1 token.

        Not 0 J: a figure clipped at zero would make a query free, and an optimiser sends
        every such query there.  Example: the published paper-form fit of Mixtral 8x7B
        (a0 = -8.48 J per input token) predicts -9.2 kJ for 1,469 input and 13 output
        tokens; the floor is its prediction for 8 input and 13 output tokens, 1.3 kJ.
        Where the fit predicts nothing positive at any of those corners, the floor is the
        least positive figure per token it predicts at the corners of its measured range
        (``least_rate``), times the query's tokens; zero only for a fit that predicts
        nothing positive anywhere in its measured range (``build_arms`` refuses those).
        """
        tin, tout = np.broadcast_arrays(np.asarray(tin, float), np.asarray(tout, float))
        lo_in = max(float(self.tin_range[0]), 1.0)
        lo_out = max(float(self.tout_range[0]), 1.0)
        tin_c = np.clip(tin, lo_in, max(float(self.tin_range[1]), lo_in))
        tout_c = np.clip(tout, lo_out, max(float(self.tout_range[1]), lo_out))
        lo_i, lo_o = np.full_like(tin_c, lo_in), np.full_like(tout_c, lo_out)
        corners = [
            self.design(a, b) @ self.coef
            for a, b in ((lo_i, lo_o), (lo_i, tout_c), (tin_c, lo_o), (tin_c, tout_c))
        ]
        most = np.maximum.reduce(corners)
        tokens = tin + tout
        scale = np.minimum(1.0, tokens / (tin_c + tout_c))
        return np.where(most > 0, most * scale, self.least_rate() * tokens)

    def _box_corners(self) -> list[tuple[float, float]]:
        lo_in = max(float(self.tin_range[0]), 1.0)
        lo_out = max(float(self.tout_range[0]), 1.0)
        ins = [lo_in] + [float(self.tin_range[1])] * math.isfinite(self.tin_range[1])
        outs = [lo_out] + [float(self.tout_range[1])] * math.isfinite(self.tout_range[1])
        return [(a, b) for a in ins for b in outs]

    def least_rate(self) -> float:
        """The least positive figure per token (input + output) the fit predicts at the
        corners of its measured range; 0 when it predicts nothing positive at any."""
        corners = np.array(self._box_corners())
        values = self.design(corners[:, 0], corners[:, 1]) @ self.coef
        rates = values / corners.sum(axis=1)
        return float(rates[values > 0].min()) if np.any(values > 0) else 0.0

    @property
    def usable(self) -> bool:
        """Whether the fit predicts a positive figure anywhere in its measured range (at a
        corner of it); one that does not can give no physical figure at all."""
        return self.monotone and bool(np.any(self.coef > 0)) or self.least_rate() > 0

    def predict_floored(self, tin, tout) -> tuple[np.ndarray, np.ndarray]:
        """(predictions for planning, where the floor was used): ``predict`` raised to
        ``physical_floor`` wherever it falls below it (e.g. a paper-form fit's negative
        energies).  ``predict`` itself stays as fitted, to reproduce published figures."""
        y = np.asarray(self.predict(tin, tout), float)
        if self.monotone:
            return y, np.zeros(y.shape, dtype=bool)
        floor = self.physical_floor(tin, tout)
        floored = y < floor
        return np.where(floored, floor, y), floored

    def in_range(self, tin, tout) -> np.ndarray:
        """True where (tin, tout) lies inside the measured token ranges (and, for 1-D sweep
        data, within SWEEP_LINE_TOLERANCE of one of the two measured lines)."""
        tin, tout = np.asarray(tin, dtype=float), np.asarray(tout, dtype=float)
        inside = (
            (tin >= self.tin_range[0])
            & (tin <= self.tin_range[1])
            & (tout >= self.tout_range[0])
            & (tout <= self.tout_range[1])
        )
        if self.sweep_lines is None:
            return inside
        a, b = self.sweep_lines
        near_a = np.abs(tin - a) <= SWEEP_LINE_TOLERANCE * max(a, 1.0)
        near_b = np.abs(tout - b) <= SWEEP_LINE_TOLERANCE * max(b, 1.0)
        return inside & (near_a | near_b)

    def longest_query(self) -> float:
        """The most tokens (input + output) of any measured query, as far as the ranges and
        sweep lines tell: the two ranges' tops for a grid, the longer of the two lines'
        far ends for a pair of 1-D sweeps (inf when the ranges are unknown)."""
        tin_hi, tout_hi = float(self.tin_range[1]), float(self.tout_range[1])
        if self.sweep_lines is None:
            return tin_hi + tout_hi
        a, b = self.sweep_lines
        return max(tin_hi + min(b, tout_hi), min(a, tin_hi) + tout_hi)

    def coefficients(self) -> dict[str, float]:
        return {t: float(c) for t, c in zip(self.terms, self.coef)}

    def to_json(self) -> dict:
        return {
            "terms": list(self.terms),
            "coefficients": self.coefficients(),
            "coef_cov": None if self.coef_cov is None else self.coef_cov.tolist(),
            "target": self.target,
            "tin_range": list(self.tin_range),
            "tout_range": list(self.tout_range),
            "clip_negative": self.clip_negative,
            "sweep_lines": None if self.sweep_lines is None else list(self.sweep_lines),
        }

    @classmethod
    def from_json(cls, data: dict) -> Curve:
        terms = tuple(data["terms"]) if "terms" in data else tuple(data["coefficients"])
        return cls(
            terms=terms,
            coef=[data["coefficients"][t] for t in terms],
            target=data.get("target", "energy"),
            coef_cov=data.get("coef_cov"),
            tin_range=tuple(data.get("tin_range", (0.0, math.inf))),
            tout_range=tuple(data.get("tout_range", (0.0, math.inf))),
            clip_negative=data.get("clip_negative", True),
            sweep_lines=tuple(data["sweep_lines"]) if data.get("sweep_lines") else None,
        )


@dataclass
class FitReport:
    """One fitted curve per (model, system, target, form) and its honest error figures.

    ``cv_*`` figures are 5-fold cross-validated (held out); ``r2`` is in-sample (for the
    paper form, uncentered as statsmodels reports it without an intercept).  APEs are in
    percent.  ``energy`` is the basis the rows had for energy targets
    (``gpu``, ``cpu`` or ``total``: GPU + CPU), None for runtime.  ``energy_sources`` lists the store's ``energy_source`` values
    behind the fit (``imported``, ``nvml``, ``estimated``, ...); ``source`` says where the
    fit itself came from (a store path, or the catalogue and its citation).
    """

    model: str
    system: str
    target: str
    form: str
    curve: Curve
    r2: float | None = None
    cv_r2: float | None = None
    cv_median_ape: float | None = None
    cv_p90_ape: float | None = None
    n: int = 0
    energy: str | None = None
    energy_sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def is_estimated(self) -> bool:
        return any("estimated" in s for s in self.energy_sources)

    def predict(self, tin, tout) -> np.ndarray:
        return self.curve.predict(tin, tout)

    def in_range(self, tin, tout) -> np.ndarray:
        """False for queries outside what was measured (their predictions extrapolate)."""
        return self.curve.in_range(tin, tout)

    def to_json(self) -> dict:
        curve = self.curve.to_json()
        return {
            "model": self.model,
            "system": self.system,
            "target": self.target,
            "form": self.form,
            "energy": self.energy,
            "unit": self.curve.unit,
            "coefficients": curve["coefficients"],
            "r2": _num(self.r2),
            "cv_r2": _num(self.cv_r2),
            "cv_median_ape": _num(self.cv_median_ape),
            "cv_p90_ape": _num(self.cv_p90_ape),
            "n": int(self.n),
            "tin_range": curve["tin_range"],
            "tout_range": curve["tout_range"],
            "coef_cov": curve["coef_cov"],
            "clip_negative": curve["clip_negative"],
            "sweep_lines": curve["sweep_lines"],
            "energy_sources": list(self.energy_sources),
            "notes": list(self.notes),
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: dict) -> FitReport:
        curve = Curve.from_json({**data, "terms": list(data["coefficients"])})
        return cls(
            model=data["model"],
            system=data["system"],
            target=data["target"],
            form=data["form"],
            curve=curve,
            r2=data.get("r2"),
            cv_r2=data.get("cv_r2"),
            cv_median_ape=data.get("cv_median_ape"),
            cv_p90_ape=data.get("cv_p90_ape"),
            n=data.get("n", 0),
            energy=data.get("energy"),
            energy_sources=list(data.get("energy_sources", [])),
            notes=list(data.get("notes", [])),
            source=data.get("source", ""),
        )


def total_interval(curve: Curve, tin, tout, counts=1.0, level: float = 0.95):
    """(total, lo, hi): the sum of count * prediction and a normal interval from coef_cov.

    Only the coefficients' uncertainty is counted (the noise of single queries averages
    out over many); without a covariance the interval is (total, total).  Queries whose
    prediction is clipped at zero contribute nothing, to the total or to its spread.
    """
    from statistics import NormalDist

    design = curve.design(tin, tout)
    weights = np.broadcast_to(np.asarray(counts, dtype=float), design.shape[:1]).copy()
    if curve.clip_negative:
        weights[design @ curve.coef <= 0] = 0.0
    total = float(np.sum(weights * curve.predict(tin, tout)))
    if curve.coef_cov is None:
        return total, total, total
    g = weights @ design
    half = NormalDist().inv_cdf(0.5 + level / 2) * math.sqrt(max(g @ curve.coef_cov @ g, 0.0))
    return total, max(total - half, 0.0) if curve.clip_negative else total - half, total + half


def _num(x: float | None) -> float | None:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return None
    return float(x)
