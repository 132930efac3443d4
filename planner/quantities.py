"""Unit conversions every part of the planner shares (a leaf module: it imports nothing, so
the fits, serving, capacity and report packages can all use it without a cycle)."""

J_PER_KWH = 3.6e6
G_PER_KG = 1e3
S_PER_H = 3600.0
