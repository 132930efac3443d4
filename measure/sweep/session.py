"""One sweep session: load, warm up, measure cells, keep the shard and the store current.

A session is one process's part of a run: a run stopped by Ctrl-C or a crash is continued
by a later session that appends to the same shard (see :mod:`measure.sweep.runner`).
"""

from __future__ import annotations

import math
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from measure import provenance
from measure.flags import row_flags
from measure.llm import (
    LoadedModel,
    check_context_length,
    generate_exact,
    import_backends,
    load_model,
    make_prompt,
)
from measure.meters import CompositeMeter, MeterReading
from measure.store import Store, StoreError
from measure.sweep.config import (
    SweepConfig,
    SweepResult,
    cell_stop_reason,
    config_record,
    grid_order,
    runtime_ci_halfwidth_s,
)
from measure.sweep.shards import (
    FORMAT_VERSION,
    Shard,
    ShardWriter,
    ingest_or_keep,
    ingest_shard,
    read_shard,
)


class StopFlag:
    """Ctrl-C (first press) or ``should_stop()`` asks to stop after the trial in flight."""

    def __init__(self, should_stop: Callable[[], bool] | None = None):
        self.should_stop = should_stop
        self._requested = False
        self._previous = None

    @property
    def requested(self) -> bool:
        return self._requested or bool(self.should_stop and self.should_stop())

    def _on_sigint(self, signum, frame) -> None:
        if self._requested:
            raise KeyboardInterrupt
        self._requested = True
        print(
            "\nmeasure sweep: stopping after the trial in flight (Ctrl-C again to stop at once)",
            file=sys.stderr,
        )

    def __enter__(self) -> StopFlag:
        # Only the main thread may set a signal handler; a sweep run from another thread
        # (the dashboard's) is stopped through should_stop.
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


class SweepRun:
    """One session of a run: ``run()`` measures the grid's unfinished cells into the shard
    at ``shard_path`` (after ``prior``, the shard so far, when resuming) and returns the
    :class:`SweepResult`."""

    def __init__(
        self,
        config: SweepConfig,
        meter: CompositeMeter,
        store: Store,
        shard_path: Path,
        prior: Shard | None,
        stop: StopFlag,
        progress: Callable[[int, int], None] | None,
    ):
        self.config, self.meter, self.store = config, meter, store
        self.shard_path, self.prior, self.stop, self.progress = shard_path, prior, stop, progress
        self.session = prior.sessions + 1 if prior else 1
        self.min_window_s = (
            config.min_window_s if config.min_window_s is not None else meter.min_window_s
        )
        self.idle_w: dict[str, float] = (
            dict(prior.header.get("idle_power_w") or {}) if prior else {}
        )
        self.loaded: LoadedModel | None = None
        self.writer: ShardWriter | None = None
        self.new_trials = 0
        self._threads_before: int | None = None
        self.ingest_errors: list[str] = []
        self._last_ingest = time.monotonic()
        self._ingested = (0, 0)  # shard trials and startup rows this session has added
        self._store_behind = False  # the last store update failed
        self.n_gpus = self._n_gpus()

    # -- the run -----------------------------------------------------------------------
    def run(self) -> SweepResult:
        cells = grid_order(self.config)
        done = set(self.prior.cells) if self.prior else set()
        interrupted = False
        if self.prior is None or not self.prior.complete:
            try:
                interrupted = self._measure_all(cells, done)
            finally:
                if self._threads_before:  # leave the process as we found it (the app)
                    import torch

                    torch.set_num_threads(self._threads_before)
        return self._finish(cells, interrupted)

    def _measure_all(self, cells, done) -> bool:
        load_reading = self._load()  # before the shard exists: a failed load leaves none
        with ShardWriter(self.shard_path) as self.writer:
            self._start(load_reading)
            try:
                interrupted = self._measure(cells, done)
            except KeyboardInterrupt:
                interrupted = True  # a second Ctrl-C: the trial in flight is lost
            if not interrupted:
                self.writer.write({"type": "end", "finished_at": _now_iso()})
        return interrupted

    def _load(self) -> MeterReading:
        cfg = self.config
        import_backends()
        if cfg.threads:
            import torch

            self._threads_before = torch.get_num_threads()
            torch.set_num_threads(cfg.threads)
        reading, self.loaded = self._metered(
            lambda: load_model(cfg.model, cfg.device, cfg.dtype, cfg.seed, cfg.model_name)
        )
        check_context_length(self.loaded, max(cfg.inputs) + max(cfg.outputs))
        return reading

    def _start(self, load_reading: MeterReading) -> None:
        cfg = self.config
        if self.prior is None:
            self.writer.write(self._header())
        else:
            self.writer.write(
                {
                    "type": "session",
                    "n": self.session,
                    "at": _now_iso(),
                    "host": socket.gethostname(),
                }
            )
        self._startup("model load", load_reading)
        if cfg.idle_s > 0 and self.prior is None:
            self._measure_idle()
        if cfg.warmup:
            tin, tout = min(cfg.inputs), min(cfg.outputs)
            prompt = make_prompt(self.loaded, tin, cfg.batch_size, (cfg.seed, 0))
            reading, _ = self._metered(
                lambda: [
                    generate_exact(self.loaded, prompt, tout, cfg.kv_cache)
                    for _ in range(cfg.warmup)
                ]
            )
            self._startup("warm-up", reading)

    def _header(self) -> dict:
        cfg = self.config
        meters = self.meter.describe()
        prov = {
            **provenance.collect(cfg.device, meters),
            "meters": meters,
            "energy_source": self.meter.source,
            "model": self.loaded.describe(),
            "seed": cfg.seed,
            "kv_cache": cfg.kv_cache,
            "dtype": cfg.dtype,
            "batch_size": cfg.batch_size,
            "decoding": "greedy, exactly tout new tokens",
            "min_window_s": self.min_window_s,
            "format": FORMAT_VERSION,
        }
        return {
            "type": "header",
            "format": FORMAT_VERSION,
            "run_id": self.shard_path.stem,
            "config": config_record(cfg),
            "config_hash": cfg.config_hash(),
            "provenance": prov,
            "started_at": _now_iso(),
            "idle_power_w": self.idle_w,
        }

    def _measure_idle(self) -> None:
        idle_s = max(self.config.idle_s, self.min_window_s)  # no shorter than the meter resolves
        reading, _ = self._metered(lambda: time.sleep(idle_s))
        duration = max(reading.duration_s, 1e-9)
        self.idle_w = {k: v / duration for k, v in reading.energy_j.items()}
        self._startup("idle", reading)
        self.writer.write({"type": "idle", "idle_power_w": self.idle_w})

    def _metered(self, work):
        with self.meter.measure() as window:
            result = work()
        return window.reading, result

    def _startup(self, phase: str, reading: MeterReading) -> None:
        self.writer.write(
            {
                "type": "startup",
                "trial_key": f"s{self.session}-{phase}",
                "model": self.loaded.name,
                "system": self.config.system,
                "phase": phase,
                "runtime_s": reading.duration_s,
                "gpu_energy_j": reading.gpu_energy_j,
                "cpu_energy_j": reading.cpu_energy_j,
                "energy_source": self.meter.source,
                "measured_at": _now_iso(),
            }
        )

    # -- cells and trials --------------------------------------------------------------
    def _measure(self, cells: list[tuple[int, int]], done: set) -> bool:
        """Measure every unfinished cell; True if stopped early."""
        prior_trials: dict[tuple[int, int], list[dict]] = {}
        for trial in self.prior.trials if self.prior else []:
            prior_trials.setdefault((trial["input_tokens"], trial["output_tokens"]), []).append(
                trial
            )
        bar = tqdm(
            total=len(cells),
            initial=len(done),
            unit="cell",
            desc="sweep",
            disable=not self.config.show_progress,
            file=sys.stderr,
        )
        self._report(len(done), len(cells))
        try:
            for cell in cells:
                if cell in done:
                    continue
                if not self._cell(cell, prior_trials.get(cell, [])):
                    return True
                done.add(cell)
                bar.update(1)
                bar.set_postfix(trials=self.new_trials)
                self._report(len(done), len(cells))
        finally:
            bar.close()
        return False

    def _cell(self, cell: tuple[int, int], prior: list[dict]) -> bool:
        runtimes = [t["runtime_s"] for t in prior]
        index = max((t["iteration"] for t in prior), default=-1) + 1
        reps = prior[0].get("repetitions") if prior else None
        while (reason := cell_stop_reason(runtimes, self.config)) is None:
            if self.stop.requested:
                return False
            row = self._trial(cell, index, reps)
            reps = row["repetitions"]
            runtimes.append(row["runtime_s"])
            index += 1
            self._maybe_ingest()
            if self.stop.requested:
                return False
        self.writer.write(
            {
                "type": "cell",
                "input_tokens": cell[0],
                "output_tokens": cell[1],
                "n_trials": len(runtimes),
                "reason": reason,
                "ci_halfwidth_s": _finite(runtime_ci_halfwidth_s(runtimes)),
            }
        )
        return True

    def _trial(self, cell: tuple[int, int], index: int, reps: int | None) -> dict:
        cfg = self.config
        tin, tout = cell
        prompt = make_prompt(self.loaded, tin, cfg.batch_size, (cfg.seed, tin, tout, index))
        reps = reps or 1  # the cell's repetitions so far (1 for its first trial)
        reading, generated = self._window(prompt, tout, reps)
        while reading.duration_s < self.min_window_s:  # too short to meter: repeat the
            reps = math.ceil(1.2 * self.min_window_s * reps / max(reading.duration_s, 1e-6))
            reading, generated = self._window(prompt, tout, reps)  # work in one window
        row = self._row(cell, index, reps, reading.scaled(1.0 / reps), generated)
        self.writer.write({"type": "trial", **row})
        self.new_trials += 1
        return row

    def _window(self, prompt, tout: int, reps: int) -> tuple[MeterReading, int]:
        kv = self.config.kv_cache
        reading, counts = self._metered(
            lambda: [generate_exact(self.loaded, prompt, tout, kv) for _ in range(reps)]
        )
        return reading, min(counts)

    def _row(self, cell, index: int, reps: int, reading: MeterReading, generated: int) -> dict:
        cfg = self.config
        idle_total_w = None
        if self.idle_w:
            reading = _minus_idle(reading, self.idle_w)
            idle_total_w = float(sum(self.idle_w.values()))
        energies = _reading_row(reading)
        flags = list(reading.flags)  # then measure.flags, the rules imported rows meet too
        flags += [
            f
            for f in row_flags(
                reading.duration_s,
                energies["gpu_energy_j"],
                energies["gpu_energy_per_device_j"] or [],
                None,
                energies["cpu_energy_j"],
                self.n_gpus,
            )
            if f not in flags
        ]
        if generated != cell[1]:
            flags.append("output_tokens_short")
        return {
            "trial_key": f"in{cell[0]}-out{cell[1]}-t{index:03d}",
            "model": self.loaded.name,
            "system": cfg.system,
            "n_gpus": self.n_gpus,
            "batch_size": cfg.batch_size,
            "kv_cache": cfg.kv_cache,
            "dtype": cfg.dtype,
            "input_tokens": cell[0],
            "output_tokens": cell[1],
            "output_tokens_generated": generated,
            "runtime_s": reading.duration_s,
            **energies,
            "idle_power_w": idle_total_w,
            "energy_source": self.meter.source,
            "flags": flags,
            "phase": "inference",
            "iteration": index,
            "measured_at": _now_iso(),
            "repetitions": reps,
        }

    def _n_gpus(self) -> int:
        for meter in self.meter.describe()["meters"]:
            if meter.get("name") == "nvml":
                return len(meter["gpu_indices"])
        return 1 if self.config.device.startswith("cuda") else 0

    # -- the store and progress ----------------------------------------------------------
    def _report(self, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(done, total)

    def _maybe_ingest(self) -> None:
        if (
            self.config.ingest
            and time.monotonic() - self._last_ingest >= self.config.ingest_every_s
        ):
            self._ingest()

    def _ingest(self) -> Shard:
        """Add the shard's rows not yet added by this session (the whole shard the first
        time: a resumed run's earlier rows are skipped by the store); returns the shard."""
        self._last_ingest = time.monotonic()
        shard = read_shard(self.shard_path)
        if not self.config.ingest:
            return shard
        done_trials, done_startup = self._ingested
        new_rows = replace(
            shard, trials=shard.trials[done_trials:], startup=shard.startup[done_startup:]
        )
        error = ingest_or_keep(
            lambda: ingest_shard(new_rows, self.store), self.shard_path, "measure sweep", "trial"
        )
        self._store_behind = error is not None
        if error is None:
            self._ingested = (len(shard.trials), len(shard.startup))
        else:
            self.ingest_errors.append(error)
        return shard

    def _rows_in_store(self, run_id: str) -> int:
        try:
            return self.store.measurement_count(run_id)
        except StoreError:  # e.g. another process holds the store: the shard has the rows
            return 0

    def _finish(self, cells, interrupted: bool) -> SweepResult:
        shard = self._ingest()
        return SweepResult(
            run_id=shard.run_id,
            shard_path=self.shard_path,
            n_trials=len(shard.trials),
            rows_in_store=self._rows_in_store(shard.run_id),
            new_trials=self.new_trials,
            cells_done=len(shard.cells),
            cells_total=len(cells),
            interrupted=interrupted,
            energy_source=self.meter.source,
            ingest_errors=self.ingest_errors,
            store_behind=self._store_behind,
        )


def _minus_idle(reading: MeterReading, idle_w: dict[str, float]) -> MeterReading:
    """The reading less idle power x duration, per domain."""
    energy = {k: v - idle_w.get(k, 0.0) * reading.duration_s for k, v in reading.energy_j.items()}
    return MeterReading(
        reading.source, reading.duration_s, energy, reading.power_w, list(reading.flags)
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


def _reading_row(reading: MeterReading) -> dict:
    """The store's energy columns from a (per-batch) meter reading."""
    return {
        "gpu_energy_j": reading.gpu_energy_j,
        "cpu_energy_j": reading.cpu_energy_j,
        "gpu_energy_per_device_j": reading.gpu_energy_per_device_j,
    }
