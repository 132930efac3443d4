"""`python -m measure SUBCOMMAND ...`: import, meters, sweep, merge.

Each subcommand lives in its own module exposing ``add_parser(subparsers)``, which
registers the parser and sets ``func`` (called with the parsed args, returning an exit code).
"""
from __future__ import annotations

import argparse
import importlib
import sys

SUBCOMMAND_MODULES = ("measure.import_cli", "measure.sweep_cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m measure", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that subcommand is not built yet
                continue
            raise
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
