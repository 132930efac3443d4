"""What a markdown element's body reads as on the page: the app escapes user text
(``app_pages.text.md``), and AppTest hands back the markdown source."""

from __future__ import annotations

import re


def shown(markdown: str) -> str:
    return re.sub(r"\\(.)", r"\1", markdown)
