"""One dispatcher for `python -m measure ...` and `python -m planner ...`.

Each subcommand lives in its own module exposing ``add_parser(subparsers)``, which registers
its parser(s) and sets ``func`` (called with the parsed args, returning an exit code).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

# Set to show the traceback of an unexpected error (for a bug report).
DEBUG_ENV = "LLM_PLANNER_DEBUG"
EXIT_INTERNAL = 70  # EX_SOFTWARE
EXIT_INTERRUPTED = 130


def build_parser(prog: str, description: str, modules: tuple[str, ...]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in modules:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def run(prog: str, description: str, modules: tuple[str, ...], argv: list[str] | None) -> int:
    """Parse and run one subcommand.  Subcommands report the errors they expect in one line
    each; anything else still ends in one line (a reader gone from a pipe quietly, Ctrl-C
    with 130, a bug with 70 and how to see its traceback), never a traceback by default."""
    args = build_parser(prog, description, modules).parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:
        # Python would report the broken pipe again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if os.environ.get(DEBUG_ENV):
            traceback.print_exc()
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(
            f"{prog} {args.command}: internal error ({type(exc).__name__}: {message}); "
            f"set {DEBUG_ENV}=1 to see the traceback, and please report it",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
