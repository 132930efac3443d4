"""Fixtures for the report tests: plans of the reference catalogue, a store of the shared
reference data."""

from __future__ import annotations

import pytest

from planner.workload.load import synthetic_workload
from tests.planner.report.catalogue_plans import catalogue_planner


@pytest.fixture(scope="module")
def chat_planner():
    """A planner over the catalogue's fits for 300 synthetic chat queries."""
    return catalogue_planner(synthetic_workload("chat", 300, seed=3))
