"""Text from users and their files (file names, store paths, model names, error messages
quoting them) shown through Streamlit's markdown elements, made literal: every ASCII
punctuation character that markdown or Streamlit's directives (``:red[...]``, emoji
shortcodes, ``$...$``) could read is backslash-escaped, which CommonMark renders as the
character itself.  Raw HTML is never enabled, so this is about links, images and styling
a crafted name could otherwise smuggle in.

Escapes alone do not stop GFM's literal autolinks: Streamlit's renderer links
``https://...``, ``www.`` and ``name@domain`` in the text *after* escapes are resolved.  An
invisible word joiner (U+2060) goes inside each such pattern (between ``:`` and ``//``,
``www`` and ``.``, ``@`` and the domain), so it no longer matches and the text reads the same."""

from __future__ import annotations

import re

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&'\"=^])")
WORD_JOINER = "\u2060"
_AUTOLINK_SEAMS = re.compile(r"(?<=:)(?=//)|(?i:(?<=www))(?=\.)|(?<=@)(?=[-\w])")


def md(text: object) -> str:
    """``text`` as markdown that renders exactly as ``text``, links and markup inert."""
    unlinked = _AUTOLINK_SEAMS.sub(WORD_JOINER, str(text))
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", unlinked)


def sentence(text: object) -> str:
    """``text`` with a capital first letter: messages are written to follow a colon too."""
    text = str(text)
    return text[:1].upper() + text[1:]
