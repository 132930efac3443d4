"""`python -m planner SUBCOMMAND ...`: fit, catalogue, plan, frontier, report, estimate."""

from __future__ import annotations

import sys

from measure.cli import run

SUBCOMMAND_MODULES = (
    "planner.cli.fit",
    "planner.cli.plan",
    "planner.cli.report",
    "planner.cli.estimate",
    "planner.cli.capacity",
)


def main(argv: list[str] | None = None) -> int:
    return run("python -m planner", __doc__, SUBCOMMAND_MODULES, argv)


if __name__ == "__main__":
    sys.exit(main())
