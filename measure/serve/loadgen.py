"""Load for a server: prompts of exact token lengths, request mixes, and the two ways of
sending them (a fixed number in flight, or Poisson arrivals at a fixed rate).

Prompts are made from the server's own tokenizer (the model folder's, or ``--tokenizer``):
random non-special token ids, decoded to text and re-encoded until the text is exactly
``n`` tokens as the server counts them (``tokenizer(text)``, special tokens included), so
input lengths are what was asked, not "about".  Output lengths are asked for with
``max_tokens`` (plus vLLM's ``ignore_eos``/``min_tokens`` where the server takes them);
what was generated is read back from the server's usage.
"""

from __future__ import annotations

import csv
import json
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from measure.serve.client import Endpoint, RequestResult, ServeError, stream_completion

INPUT_KEYS = ("input_tokens", "prompt_tokens", "tin", "num_input_tokens")
OUTPUT_KEYS = ("output_tokens", "completion_tokens", "tout", "num_output_tokens")


class LoadError(ValueError):
    """A workload or tokenizer cannot be used; the message names the file and row."""


@dataclass(frozen=True)
class RequestSpec:
    input_tokens: int
    output_tokens: int
    prompt: str


def read_workload(path: Path | str) -> list[tuple[int, int]]:
    """(input, output) token counts from a CSV or JSON Lines file with columns such as
    ``input_tokens``/``output_tokens`` (or ``prompt_tokens``/``completion_tokens``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadError(f"workload {path}: cannot read it ({exc})") from None
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    rows.append((number, json.loads(line)))
                except ValueError:
                    raise LoadError(f"workload {path}, line {number}: not JSON") from None
    else:
        rows = list(enumerate(csv.DictReader(text.splitlines()), start=2))
    pairs = []
    for where, row in rows:
        if not isinstance(row, dict):
            raise LoadError(f"workload {path}, row {where}: not a record")
        pairs.append((_count(row, INPUT_KEYS, path, where), _count(row, OUTPUT_KEYS, path, where)))
    if not pairs:
        raise LoadError(f"workload {path}: no rows")
    return pairs


def _count(row: dict, keys: tuple[str, ...], path: Path, where: int) -> int:
    for key in keys:
        if key in row and row[key] not in (None, ""):
            try:
                value = float(row[key])
            except (TypeError, ValueError):
                value = float("nan")
            if not value >= 1 or value != int(value):
                raise LoadError(
                    f"workload {path}, row {where}: {key} = {row[key]!r} is no positive "
                    "whole token count"
                )
            return int(value)
    raise LoadError(f"workload {path}, row {where}: no column among {', '.join(keys)}")


class PromptMaker:
    """Texts of exact token counts for one tokenizer (a local folder; no download)."""

    def __init__(self, tokenizer_path: Path | str, seed: int = 0):
        from transformers import AutoTokenizer

        self.path = str(tokenizer_path)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        except (OSError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise LoadError(
                f"tokenizer {self.path}: cannot load it ({first}); pass --tokenizer "
                "with the model folder the server loaded"
            ) from None
        special = set(self.tokenizer.all_special_ids)
        self.allowed = np.array([i for i in range(len(self.tokenizer)) if i not in special])
        self.overhead = len(self._encode(""))  # tokens the tokenizer adds itself (BOS...)
        self.rng = np.random.default_rng(seed)

    def describe(self) -> dict:
        return {
            "path": self.path,
            "class": type(self.tokenizer).__name__,
            "vocab_size": len(self.tokenizer),
            "added_special_tokens": self.overhead,
        }

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text)["input_ids"])

    def count(self, text: str) -> int:
        return len(self._encode(text))

    def prompt(self, n_tokens: int) -> str:
        """A text the tokenizer encodes to exactly ``n_tokens`` (special tokens included)."""
        want = n_tokens - self.overhead
        if want < 1:
            raise LoadError(
                f"tokenizer {self.path} adds {self.overhead} tokens itself: prompts need at "
                f"least {self.overhead + 1} tokens, not {n_tokens}"
            )
        ids = list(self.rng.choice(self.allowed, size=want))
        for _ in range(20):  # decode/encode round trips settle within a few steps
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            got = self._encode(text)
            if len(got) == n_tokens:
                return text
            body = got[self.overhead :] if self.overhead else got
            if len(body) > want:
                ids = body[:want]
            else:
                ids = body + list(self.rng.choice(self.allowed, size=want - len(body)))
        raise LoadError(
            f"tokenizer {self.path}: could not make a prompt of exactly {n_tokens} tokens"
        )


def request_mix(
    maker: PromptMaker,
    n: int,
    input_tokens: int,
    output_tokens: int,
    workload: list[tuple[int, int]] | None,
    seed: int,
) -> list[RequestSpec]:
    """``n`` requests: fixed lengths, or drawn (seeded) from the workload's rows."""
    rng = random.Random(seed)
    pairs = (
        [rng.choice(workload) for _ in range(n)]
        if workload
        else [(input_tokens, output_tokens)] * n
    )
    return [RequestSpec(tin, tout, maker.prompt(tin)) for tin, tout in pairs]


@dataclass
class LevelLoad:
    """How one level sends its requests: ``concurrency`` in flight, or ``rate`` per second."""

    concurrency: int | None = None
    rate: float | None = None

    @property
    def key(self) -> str:
        return f"c{self.concurrency}" if self.concurrency is not None else f"r{self.rate:g}"

    @property
    def label(self) -> str:
        if self.concurrency is not None:
            return f"concurrency {self.concurrency}"
        return f"rate {self.rate:g} req/s"


def send_level(
    endpoint: Endpoint,
    load: LevelLoad,
    specs: list[RequestSpec],
    body: dict,
    timeout_s: float,
    seed: int,
    on_start: Callable[[int], None] | None = None,
) -> list[RequestResult]:
    """Send every request of one level and return the results in start order.
    ``on_start(i)`` is called as request ``i`` is sent (the runner opens and closes its
    energy window there).  The first failure stops new requests; the requests in flight
    finish; then :class:`ServeError` is raised."""
    results: list[RequestResult | None] = [None] * len(specs)
    errors: list[ServeError] = []
    lock = threading.Lock()
    next_index = [0]

    def one(i: int) -> None:
        spec = specs[i]
        try:
            results[i] = stream_completion(
                endpoint,
                {**body, "prompt": spec.prompt, "max_tokens": spec.output_tokens}
                | _exact_fields(body, spec.output_tokens),
                timeout_s,
                spec.input_tokens,
            )
        except ServeError as exc:
            with lock:
                errors.append(exc)

    def claim() -> int | None:
        with lock:
            if errors or next_index[0] >= len(specs):
                return None
            i = next_index[0]
            next_index[0] += 1
            if on_start is not None:  # under the lock: window edges keep their order
                on_start(i)
        return i

    if load.concurrency is not None:

        def worker() -> None:
            while (i := claim()) is not None:
                one(i)

        threads = [threading.Thread(target=worker, daemon=True) for _ in range(load.concurrency)]
        for thread in threads:
            thread.start()
    else:
        threads = []
        rng = np.random.default_rng(seed)
        t0 = time.perf_counter()
        arrival = 0.0
        while True:
            delay = t0 + arrival - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            i = claim()
            if i is None:
                break
            thread = threading.Thread(target=one, args=(i,), daemon=True)
            thread.start()
            threads.append(thread)
            arrival += float(rng.exponential(1.0 / load.rate))
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


def _exact_fields(body: dict, tout: int) -> dict:
    """vLLM's fields for exactly ``tout`` tokens, where the caller asked for them."""
    if not body.get("ignore_eos"):
        return {}
    return {"ignore_eos": True, "min_tokens": tout}
