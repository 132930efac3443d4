"""The Measurements page's tiny local sweep: its form's values checked, then ``measure.sweep``
run on the tiny model (torch loads only when a sweep is asked for)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("app.sweep")

MAX_TOKENS = 2048
MAX_CELLS = 64


class SweepInputError(ValueError):
    """A sweep setting the user typed is unusable; the message names it."""


def parse_tokens(text: str, label: str) -> list[int]:
    """'8, 32, 128' -> [8, 32, 128]; each a whole number in 1..MAX_TOKENS."""
    values = []
    for part in str(text).replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise SweepInputError(f"{label}: {part!r} is not a whole number of tokens")
        value = int(part)
        if not 1 <= value <= MAX_TOKENS:
            raise SweepInputError(f"{label}: {value} is outside 1..{MAX_TOKENS} tokens")
        values.append(value)
    if not values:
        raise SweepInputError(f"{label}: give at least one token count, e.g. 8, 32, 128")
    return sorted(set(values))


def default_system() -> str:
    return f"{socket.gethostname()}-cpu"


@dataclass
class SweepRequest:
    inputs: list[int]
    outputs: list[int]
    max_trials: int
    system: str

    @property
    def cells(self) -> int:
        return len(self.inputs) * len(self.outputs)


def sweep_request(
    inputs_text: str, outputs_text: str, max_trials: int, system: str
) -> SweepRequest:
    request = SweepRequest(
        parse_tokens(inputs_text, "input tokens"),
        parse_tokens(outputs_text, "output tokens"),
        int(max_trials),
        (system or "").strip() or default_system(),
    )
    if request.cells > MAX_CELLS:
        raise SweepInputError(
            f"{request.cells} (input, output) cells is more than the "
            f"{MAX_CELLS} a dashboard sweep runs; use `python -m measure sweep`"
        )
    if not 1 <= request.max_trials <= 25:
        raise SweepInputError("trials per cell must be between 1 and 25")
    return request


def run_local_sweep(
    request: SweepRequest,
    store_path: str | Path,
    progress: Callable[[int, int], None] | None = None,
):
    """Run the tiny-model sweep into the store; returns measure.sweep's SweepResult."""
    from measure.sweep import SweepConfig, run_sweep

    store_path = Path(store_path)
    config = SweepConfig(
        model="tiny-llama",
        system=request.system,
        inputs=request.inputs,
        outputs=request.outputs,
        max_trials=request.max_trials,
        min_trials=min(3, request.max_trials),
        db=str(store_path),
        shard_dir=store_path.parent / "shards",
        show_progress=False,
    )
    return run_sweep(config, progress=progress)
