"""`python -m measure SUBCOMMAND ...`: import, meters, sweep, merge, serve, tiny-model."""

from __future__ import annotations

import sys

from measure.cli import run

SUBCOMMAND_MODULES = (
    "measure.importers.cli",
    "measure.sweep.cli",
    "measure.serve.cli",
    "measure.tiny_model",
)


def main(argv: list[str] | None = None) -> int:
    return run("python -m measure", __doc__, SUBCOMMAND_MODULES, argv)


if __name__ == "__main__":
    sys.exit(main())
