"""One dispatcher for `python -m measure ...` and `python -m planner ...`.

Each subcommand lives in its own module exposing ``add_parser(subparsers)``, which registers
its parser(s) and sets ``func`` (called with the parsed args, returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib


def build_parser(prog: str, description: str, modules: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in modules:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def run(prog: str, description: str, modules: tuple[str, ...], argv: list[str] | None) -> int:
    args = build_parser(prog, description, modules).parse_args(argv)
    return int(args.func(args) or 0)
