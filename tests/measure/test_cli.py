"""The shared dispatcher's last line of defence: one line, never a traceback, by default."""

from __future__ import annotations

import sys
import types

import pytest

from measure import cli

MODULE = "tests.measure._failing_subcommand"


@pytest.fixture
def failing(monkeypatch):
    """A subcommand module whose command raises what the test puts in ``raised``."""
    raised = {}
    module = types.ModuleType(MODULE)

    def add_parser(subparsers):
        p = subparsers.add_parser("boom")
        p.set_defaults(func=lambda args: (_ for _ in ()).throw(raised["exc"]))

    module.add_parser = add_parser
    monkeypatch.setitem(sys.modules, MODULE, module)
    monkeypatch.delenv(cli.DEBUG_ENV, raising=False)
    return raised


def test_a_bug_is_one_line_with_how_to_see_the_traceback(failing, capsys):
    failing["exc"] = KeyError("no\nsuch key")
    assert cli.run("tool", "d", (MODULE,), ["boom"]) == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1
    assert "tool boom: internal error (KeyError:" in err and cli.DEBUG_ENV in err


def test_the_debug_variable_shows_the_traceback(failing, capsys, monkeypatch):
    failing["exc"] = ZeroDivisionError("division by zero")
    monkeypatch.setenv(cli.DEBUG_ENV, "1")
    assert cli.run("tool", "d", (MODULE,), ["boom"]) == cli.EXIT_INTERNAL
    assert "Traceback" in capsys.readouterr().err


def test_ctrl_c_exits_130_in_one_line(failing, capsys):
    failing["exc"] = KeyboardInterrupt()
    assert cli.run("tool", "d", (MODULE,), ["boom"]) == cli.EXIT_INTERRUPTED
    assert capsys.readouterr().err == "tool: interrupted\n"
