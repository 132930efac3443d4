"""A continuous-batching server under a stream of requests, as a discrete-event simulation.

The model (processor sharing with a batch-dependent rate):

- ``instances`` identical instances each hold up to ``max_batch`` requests in flight.
- With ``b`` requests in flight, an instance generates ``T(b)`` output tokens per second
  (the fitted throughput of the serving data), shared equally: each request advances at
  ``T(b) / b`` tokens per second, so its inter-token time is ``b / T(b)``.  A request
  leaves when its output tokens are done; the others speed up or slow down as the batch
  changes, as in vLLM's continuous batching.
- An arriving request goes to the least-loaded instance (fewest in flight, lowest index on
  a tie) if any has room; otherwise it waits in one first-come-first-served queue, and the
  next slot to free up takes the queue's head.
- Prefill is not simulated as its own phase: the serving data fold prompt cost into the
  throughput and energy per output token for the task's prompt mix.

Outputs per request: start, finish, wait, and its time-mean batch (the batch it shared
the instance with, averaged over its service); per instance: the seconds spent at each
batch size, batch 0 (idle) up to the horizon.  Energy follows from those seconds:
active energy = sum over batches b >= 1 of seconds(b) x P(b), with ``P(b)`` the source's
mean power at that batch (it includes the GPUs' own idle baseline while serving); idle
energy = idle power x seconds at batch 0.

Each request is one arrival and one completion event; every event costs O(log n) heap
work (a per-instance heap of finish tags in virtual time, and one heap of instances' next
completions), so a run is O(n log n).  Virtual time ``V`` of an instance grows at the
per-request rate ``T(b)/b``; a request entering at ``V0`` with ``k`` tokens leaves when
``V = V0 + k``, whatever the batch does meanwhile.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

import numpy as np

__all__ = ["QueueResult", "simulate"]


@dataclass
class QueueResult:
    """What a simulation gives: per request (in input order) ``start_s``, ``finish_s``,
    ``wait_s`` and ``mean_batch``; per instance ``batch_time_s[i, b]``, the seconds instance
    ``i`` spent with ``b`` requests in flight over ``[0, horizon_s]``."""

    start_s: np.ndarray
    finish_s: np.ndarray
    wait_s: np.ndarray
    mean_batch: np.ndarray
    batch_time_s: np.ndarray
    horizon_s: float

    @property
    def busy_s(self) -> float:
        """Instance-seconds with at least one request in flight."""
        return float(self.batch_time_s[:, 1:].sum())

    @property
    def idle_s(self) -> float:
        """Instance-seconds with no request in flight, up to the horizon."""
        return float(self.batch_time_s[:, 0].sum())

    def time_mean_batch(self) -> float | None:
        """The mean batch over busy time (None when nothing ran)."""
        per_batch = self.batch_time_s[:, 1:].sum(axis=0)
        busy = per_batch.sum()
        if busy <= 0:
            return None
        return float((per_batch * np.arange(1, per_batch.size + 1)).sum() / busy)

    def active_energy_j(self, power_w: np.ndarray) -> float:
        """Energy of the batches run: ``power_w[b]`` (index = batch) x seconds at b, b >= 1."""
        per_batch = self.batch_time_s[:, 1:].sum(axis=0)
        return float((per_batch * np.asarray(power_w, dtype=float)[1:]).sum())


def simulate(
    arrival_s,
    output_tokens,
    throughput_tps,
    instances: int = 1,
    horizon_s: float | None = None,
) -> QueueResult:
    """Serve requests arriving at ``arrival_s`` (seconds) with ``output_tokens`` each.

    ``throughput_tps[b]`` is an instance's output tokens per second with ``b`` requests in
    flight, for b = 0..max_batch (entry 0 is unused; the array's length sets max_batch).
    ``horizon_s``: idle time is counted to the later of it and the last completion.
    """
    arrival = np.asarray(arrival_s, dtype=float)
    tokens = np.asarray(output_tokens, dtype=float)
    rate_total = np.asarray(throughput_tps, dtype=float)
    if arrival.shape != tokens.shape or arrival.ndim != 1:
        raise ValueError("arrival_s and output_tokens must be 1-D and of one length")
    if not (np.isfinite(arrival).all() and np.isfinite(tokens).all()):
        raise ValueError("arrival times and token counts must be finite")
    if (tokens < 0).any():
        raise ValueError("output token counts must be >= 0")
    max_batch = rate_total.size - 1
    if max_batch < 1:
        raise ValueError("throughput_tps needs entries for batches 0..max_batch, max_batch >= 1")
    if not (rate_total[1:] > 0).all() or not np.isfinite(rate_total[1:]).all():
        raise ValueError("throughput must be a positive, finite number at every batch >= 1")
    if instances < 1:
        raise ValueError(f"instances must be >= 1, not {instances}")
    # per-request progress rate (tokens/s) with b in flight; index 0 never used
    rate = np.zeros(max_batch + 1)
    rate[1:] = rate_total[1:] / np.arange(1, max_batch + 1)
    rate_l = rate.tolist()

    n = arrival.size
    order = np.argsort(arrival, kind="stable").tolist()
    arr_l = arrival.tolist()
    tok_l = tokens.tolist()
    start = [0.0] * n
    finish = [0.0] * n
    b_at_start = [0.0] * n  # the instance's integral of batch over time at the start

    load = [0] * instances  # requests in flight per instance
    virtual = [0.0] * instances
    last_t = [0.0] * instances
    batch_integral = [0.0] * instances
    batch_time = np.zeros((instances, max_batch + 1))
    bt = batch_time  # rows are numpy views; one scalar add per event
    tags: list[list] = [[] for _ in range(instances)]  # (finish tag, request) heaps
    version = [0] * instances
    events: list[tuple[float, int, int]] = []  # (time, instance, version)
    # instances with room, by (load, index): stale entries are skipped on pop
    room: list[tuple[int, int]] = [(0, i) for i in range(instances)]
    waiting: deque[int] = deque()

    def advance(i: int, t: float) -> None:
        dt = t - last_t[i]
        if dt > 0:
            b = load[i]
            virtual[i] += rate_l[b] * dt
            bt[i, b] += dt
            batch_integral[i] += b * dt
            last_t[i] = t

    def schedule(i: int) -> None:
        version[i] += 1
        if load[i]:
            ahead = tags[i][0][0] - virtual[i]
            when = last_t[i] + (ahead if ahead > 0 else 0.0) / rate_l[load[i]]
            heapq.heappush(events, (when, i, version[i]))

    def admit(j: int, i: int, t: float) -> None:
        start[j] = t
        b_at_start[j] = batch_integral[i]
        heapq.heappush(tags[i], (virtual[i] + tok_l[j], j))
        load[i] += 1
        if load[i] < max_batch:
            heapq.heappush(room, (load[i], i))
        schedule(i)

    k = 0
    inf = math.inf
    while k < n or events:
        next_arrival = arr_l[order[k]] if k < n else inf
        while events and events[0][2] != version[events[0][1]]:
            heapq.heappop(events)
        if events and events[0][0] <= next_arrival:
            t, i, _ = heapq.heappop(events)
            advance(i, t)
            _, j = heapq.heappop(tags[i])
            finish[j] = t
            done_b = batch_integral[i] - b_at_start[j]
            b_at_start[j] = done_b / (t - start[j]) if t > start[j] else float(load[i])
            load[i] -= 1
            if waiting:
                admit(waiting.popleft(), i, t)
            else:
                heapq.heappush(room, (load[i], i))
                schedule(i)
        elif k < n:
            j = order[k]
            k += 1
            t = arr_l[j]
            while room and (room[0][0] != load[room[0][1]] or load[room[0][1]] >= max_batch):
                heapq.heappop(room)
            if room:
                _, i = heapq.heappop(room)
                advance(i, t)
                admit(j, i, t)
            else:
                waiting.append(j)
        else:
            break

    end = max(max(finish, default=0.0), float(horizon_s or 0.0), 0.0)
    for i in range(instances):
        batch_time[i, 0] += max(end - last_t[i], 0.0)
    start_a = np.asarray(start)
    finish_a = np.asarray(finish)
    return QueueResult(
        start_s=start_a,
        finish_s=finish_a,
        wait_s=np.maximum(start_a - arrival, 0.0),
        mean_batch=np.asarray(b_at_start),
        batch_time_s=batch_time,
        horizon_s=end,
    )
