"""Write data/serving_catalogue.json from the shared ML.ENERGY Leaderboard v3 task files.

Run from the project root:
    .venv/bin/python scripts/build_serving_catalogue.py [--source DIR] [--out PATH]

``--source`` defaults to ../shared/reference/mlenergy-v3 (beside the checkout).  The file
is derived data (measured points per serving setup, no fit), with the citation and the
Apache-2.0 licence; ``planner.serving.embedded`` reads it.  A second run on the same
files writes the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from planner.serving.embedded import (  # noqa: E402  (after the path set-up above)
    DEFAULT_SERVING_CATALOGUE_PATH,
    ServingCatalogueError,
    build_embedded,
    dumps,
)

DEFAULT_SOURCE = ROOT.parent / "shared" / "reference" / "mlenergy-v3"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_SERVING_CATALOGUE_PATH)
    args = parser.parse_args(argv)
    try:
        content = build_embedded(args.source)
    except ServingCatalogueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    text = dumps(content)
    try:
        args.out.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc}", file=sys.stderr)
        return 1
    n_points = sum(len(s["points"]) for s in content["setups"])
    print(
        f"wrote {args.out}: {len(content['setups'])} serving setups, {n_points} measured "
        f"points, {len(text.encode()) / 1024:.0f} KiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
