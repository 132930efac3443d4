"""`python -m planner SUBCOMMAND ...`: fit, catalogue, plan, frontier."""
from __future__ import annotations

import sys

from measure.cli_dispatch import run

SUBCOMMAND_MODULES = ("planner.fit_cli", "planner.plan_cli")


def main(argv: list[str] | None = None) -> int:
    return run("python -m planner", __doc__, SUBCOMMAND_MODULES, argv)


if __name__ == "__main__":
    sys.exit(main())
