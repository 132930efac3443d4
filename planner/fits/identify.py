"""Which terms a set of (tin, tout) rows can identify, and whether the rows are 1-D sweeps.

A term is unidentifiable when its column is a linear combination of a constant and the
lower-order terms kept before it: its coefficient would only stand in for an intercept or
another term.  On the paper's 1-D sweeps (tin swept at tout = 32, tout swept at a fixed
tin = a, about 32) ``tin*tout = 32*tin + a*tout - 32*a`` on every row, so tin*tout is
dropped and said.
"""

from __future__ import annotations

import numpy as np

from planner.fits.curves import _parse_term, design_matrix

RANK_TOL = 1e-9  # relative singular value below which a column adds nothing
ILL_CONDITIONED = 1e10  # condition number (unit-norm columns) worth a note


def term_degree(term: str) -> int:
    return sum(power for _, power in _parse_term(term))


def _unit_columns(d: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(d, axis=0)
    return d / np.where(norms > 0, norms, 1.0)


def _rank(d: np.ndarray) -> int:
    if d.shape[0] == 0 or d.shape[1] == 0:
        return 0
    s = np.linalg.svd(_unit_columns(d), compute_uv=False)
    return int(np.sum(s > RANK_TOL * max(s[0], 1e-300)))


def identifiable_terms(terms, tin, tout) -> tuple[tuple[str, ...], tuple[str, ...], list[str]]:
    """Split ``terms`` into those the rows identify and those they cannot.

    Returns (kept, dropped, notes), kept in input order; no rows identify nothing.
    """
    terms = list(terms)
    order = sorted(terms, key=lambda t: (term_degree(t), terms.index(t)))
    column = dict(zip(terms, design_matrix(tuple(terms), tin, tout).T))
    base = [design_matrix(("1",), tin, tout)[:, 0]]
    kept: list[str] = []
    dropped: list[str] = []
    for term in order:
        # the columns kept so far (with a constant) have full rank by construction, so
        # the term adds to the rank exactly when the stack stays full rank
        cols = ([] if term == "1" or "1" in kept else base) + [column[t] for t in kept]
        stack = np.column_stack(cols + [column[term]])
        if _rank(stack) == stack.shape[1] and np.any(column[term] != 0):
            kept.append(term)
        else:
            dropped.append(term)
    notes = [
        f"{t} not identifiable from these rows ({_combination(t, kept, tin, tout)} on "
        "every row, as on 1-D sweeps): dropped"
        for t in dropped
    ]
    kept_in_order = tuple(t for t in terms if t in kept)
    if kept_in_order:
        d = _unit_columns(design_matrix(kept_in_order, tin, tout))
        cond = np.linalg.cond(d)
        if cond > ILL_CONDITIONED:
            notes.append(
                f"design ill-conditioned (condition number {cond:.2g}): coefficients uncertain"
            )
    return kept_in_order, tuple(dropped), notes


def _combination(term: str, kept: list[str], tin, tout) -> str:
    """Describe the unidentifiable ``term`` as the combination of kept terms it equals."""
    names = kept if "1" in kept else ["1"] + kept
    basis = design_matrix(tuple(names), tin, tout)
    column = design_matrix((term,), tin, tout)[:, 0]
    if column.size == 0:
        return f"{term} has no rows"
    coef, *_ = np.linalg.lstsq(basis, column, rcond=None)
    scale = np.linalg.norm(column) or 1.0
    used = [n for n, c, b in zip(names, coef, basis.T) if abs(c) * np.linalg.norm(b) > 1e-7 * scale]
    return (
        f"{term} = "
        + " + ".join(
            f"{c:.4g}" if n == "1" else f"{c:.4g}*{n}" for n, c in zip(names, coef) if n in used
        )
        if used
        else f"{term} is zero"
    )


def sweep_lines(tin, tout) -> tuple[float, float] | None:
    """(a, b) when every row has tin == a or tout == b (two 1-D sweeps), else None."""
    tin, tout = np.asarray(tin, dtype=float), np.asarray(tout, dtype=float)
    for b in np.unique(tout):
        off = tin[tout != b]
        if len(off) and np.all(off == off[0]) and np.unique(tin[tout == b]).size > 1:
            return float(off[0]), float(b)
    return None
