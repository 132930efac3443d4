"""What a markdown element's body reads as on the page: the app escapes user text
(``app_pages.text.md``: backslashes, and invisible word joiners that keep URLs from being
autolinked), and AppTest hands back the markdown source."""

from __future__ import annotations

import re

from app_pages.text import WORD_JOINER


def shown(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown).replace(WORD_JOINER, "")
