"""Text for the terminal: names from files (models, systems, tasks, paths) shown escaped.

A name read from a workload, fleet or store may hold a newline, a carriage return or an
escape sequence; printed raw it would break a table row in two, overwrite the line or
restyle the terminal.  Every line the CLI prints goes through ``printable``.
"""

from __future__ import annotations

import os
import sys
import unicodedata

# Line and paragraph separators end a line in many terminals and viewers; the bidi
# overrides and isolates reorder what follows them (a name could display as another).
_ALSO_ESCAPED = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _escaped(ch: str) -> str:
    if ch in _ALSO_ESCAPED or unicodedata.category(ch) == "Cc":
        return ch.encode("unicode_escape").decode("ascii")
    return ch


def printable(text) -> str:
    """``text`` as one terminal line: control characters as Python escapes (``\\n``, ``\\x1b``)."""
    text = str(text)
    if text.isprintable():  # the usual case, no per-character work
        return text
    return "".join(_escaped(ch) for ch in text)


def say(line: str = "", file=None) -> None:
    """Print one line with every control character in it escaped."""
    write(printable(line), file=file)


def write(text: str, file=None) -> None:
    """Print ``text`` as is; a reader that went away (``| head``) ends the command quietly."""
    try:
        print(text, file=file or sys.stdout, flush=True)
    except BrokenPipeError:
        # Python would report the broken pipe again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
