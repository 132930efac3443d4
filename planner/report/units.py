"""Units and number formatting every report, table and figure shares.

One unit per quantity wherever a person reads it: energy in kWh, carbon in kg CO2e, cost
in the fleet's currency, runtime in hours.  ``number`` is the one formatter of a
figure for people (three significant figures, thousands separated, no exponent for the
sizes plans have); ``cell`` formats any table cell (yes/no for flags, a dash for nothing);
``change`` says a difference in words ("12% less"), so no figure is printed with a minus
sign.
"""

from __future__ import annotations

import math
import numbers

from planner.quantities import G_PER_KG, J_PER_KWH, S_PER_H  # noqa: F401  (re-exported)

RUNTIME_MEANING = (
    "the sum over queries of each query's predicted time on the arm serving it, one query "
    "at a time: device time, not wall-clock time (instances run side by side)"
)

SIGNIFICANT = 3
NOTHING = "—"  # a figure that does not exist (no carbon intensity given, no interval)
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _missing(value) -> bool:
    if value is None or type(value).__name__ in ("NAType", "NaTType"):
        return True
    return isinstance(value, numbers.Real) and not math.isfinite(value)


def number(value, digits: int = SIGNIFICANT) -> str:
    """``value`` to ``digits`` significant figures for a reader: 0.00863, 12.3, 4,567 (a
    whole number from ``10**digits`` up); below 1e-6 as 1.23×10⁻⁷; a dash for no value."""
    if _missing(value):
        return NOTHING
    value = float(value)
    if value == 0:
        return "0"
    size = abs(value)
    if size >= 10**digits:
        return f"{value:,.0f}"
    if size < 1e-6:
        mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
        return f"{mantissa}×10{str(int(exponent)).translate(_SUPERSCRIPT)}"
    decimals = max(digits - 1 - math.floor(math.log10(size)), 0)
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def quantity(value, unit: str, digits: int = SIGNIFICANT) -> str:
    """A figure with its unit ("0.168 kWh"); a dash alone when there is no figure."""
    return NOTHING if _missing(value) else f"{number(value, digits)} {unit}".strip()


def money(value, currency: str) -> str:
    """A cost in the fleet's currency: cents from 1 up (12.34 EUR), else 3 significant
    figures (0.0252 EUR)."""
    if _missing(value):
        return NOTHING
    text = f"{value:,.2f}" if abs(value) >= 1 else number(value)
    return f"{text} {currency}"


def percent(value, digits: int = SIGNIFICANT) -> str:
    return quantity(value, "%", digits).replace(" %", "%")


def change(value: float, base: float, less: str = "less", more: str = "more") -> str:
    """``value`` against ``base`` in words: "12% less", "3.4% more", "the same"; the
    difference alone ("0.5 more") when ``base`` is 0."""
    if _missing(value) or _missing(base):
        return NOTHING
    diff = value - base
    if diff == 0:
        return "the same"
    word = less if diff < 0 else more
    if base == 0:
        return f"{number(abs(diff))} {word}"
    return f"{percent(100 * abs(diff) / abs(base))} {word}"


def points(value: float, base: float) -> str:
    """An accuracy against another in percentage points, in words."""
    if _missing(value) or _missing(base):
        return NOTHING
    diff = value - base
    if abs(diff) < 5e-3:
        return "the same"
    return f"{number(abs(diff))} points {'lower' if diff < 0 else 'higher'}"


def cell(value) -> str:
    """One table cell for a reader: yes/no for flags, a dash for nothing, figures by
    ``number``, whole counts with thousands separators, lists joined."""
    if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", "") == "b":
        return "yes" if value else "no"
    if _missing(value) or (isinstance(value, str) and not value):
        return NOTHING
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        return number(float(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(cell(v) for v in value) or NOTHING
    return str(value)
