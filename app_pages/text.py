"""Text from users and their files (file names, store paths, model names, error messages
quoting them) shown through Streamlit's markdown elements, made literal: every ASCII
punctuation character that markdown or Streamlit's directives (``:red[...]``, emoji
shortcodes, ``$...$``) could read is backslash-escaped, which CommonMark renders as the
character itself.  Raw HTML is never enabled, so this is about links, images and styling
a crafted name could otherwise smuggle in."""

from __future__ import annotations

import re

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&'\"=^])")


def md(text: object) -> str:
    """``text`` as markdown that renders exactly as ``text``."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", str(text))
