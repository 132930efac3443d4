"""User text shown through markdown elements renders literally."""

from __future__ import annotations

import re

from app_pages.text import md


def test_markdown_and_streamlit_directives_are_escaped():
    crafted = "[click](http://evil.example) ![i](x.png) **b** :red[x] $x$ `c` <b>h</b> a_b.csv"
    out = md(crafted)
    assert re.sub(r"\\(.)", r"\1", out) == crafted  # unescaping gives the text back
    for raw in ("[click]", "](", "**", ":red[", "$x$", "`c`", "<b>", "a_b"):
        assert raw not in out
    assert md("row 12 of 1,000") == "row 12 of 1,000"  # plain text stays plain
