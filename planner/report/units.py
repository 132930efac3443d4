"""Unit conversions every report, table and figure shares."""

J_PER_KWH = 3.6e6
