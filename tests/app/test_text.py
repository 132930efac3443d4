"""User text shown through markdown elements renders literally."""

from __future__ import annotations

import re

from app_pages.text import WORD_JOINER, md
from tests.app.rendering import shown


def test_markdown_and_streamlit_directives_are_escaped():
    crafted = "[click](http://evil.example) ![i](x.png) **b** :red[x] $x$ `c` <b>h</b> a_b.csv"
    out = md(crafted)
    assert shown(out) == crafted  # unescaping gives the text back
    for raw in ("[click]", "](", "**", ":red[", "$x$", "`c`", "<b>", "a_b"):
        assert raw not in out
    assert md("row 12 of 1,000") == "row 12 of 1,000"  # plain text stays plain


def test_literal_autolinks_are_broken_and_read_the_same():
    """GFM links bare URLs, www. names and e-mail addresses in the text after escapes are
    resolved; a word joiner inside each keeps the renderer's patterns from matching."""
    crafted = 'see <a href="https://example.com/x">, WWW.example.com and me@example.com'
    out = md(crafted)
    text = re.sub(r"\\(.)", r"\1", out)  # what the renderer's autolink step sees
    assert re.search(r"https?://", text) is None
    assert re.search(r"www(?=\.)", text, re.IGNORECASE) is None
    assert re.search(r"[-.\w+]+@[-\w]+(\.[-\w]+)+", text) is None
    assert text.replace(WORD_JOINER, "") == crafted
    assert md("all on X @ Y, 10:30") == "all on X @ Y, 10\\:30"  # nothing to link: untouched
