"""Running ``measure serve``: levels of load against one server, each metered over its
steady window, one ``serving`` row per level.

Per level, requests go out at a fixed concurrency or as Poisson arrivals.  The first
``warmup`` requests (in send order; at least ``concurrency``, whose first round starts all
at once) are warm-up; the last ``drain`` are the drain.  The
steady window opens as request ``warmup`` is sent and closes as request ``n - drain`` is
sent: the energy meter runs over exactly that window.  In it:

- output tokens = token events that arrived in the window (weighted so a request's events
  add up to the tokens the server's usage reports);
- ``mean_batch`` = time-average of requests in flight (from each request's start and end);
- energy per output token = window energy / output tokens in the window; throughput =
  output tokens / window seconds; request throughput = requests completed / window seconds;
- latencies (TTFT, inter-token, end-to-end percentiles) over the steady requests (those
  sent inside the window).

Energy is the meter's raw reading (idle power included); ``idle_power_w`` is measured once,
before the first level, and stored beside it.  Every finished level is fsynced to the run's
shard, then added to the store (unless ``ingest`` is off); a failure names the level and
keeps the levels already measured.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from measure.flags import NONPOSITIVE_ENERGY_FLAG
from measure.meters import (
    DEFAULT_WATTS_PER_CORE,
    CompositeMeter,
    MeterReading,
    parse_meter_spec,
)
from measure.paths import DEFAULT_SHARD_DIR
from measure.serve.client import Endpoint, RequestResult, ServeError, get_json
from measure.serve.energy import energy_scope, find_server_pid, serve_meter
from measure.serve.loadgen import (
    LevelLoad,
    LoadError,
    PromptMaker,
    read_workload,
    request_mix,
    send_level,
)
from measure.serve.shards import (
    FORMAT_VERSION,
    KIND,
    ServeShard,
    ShardWriter,
    ingest_serve_shard,
    read_serve_shard,
)
from measure.store import Store, StoreError
from measure.sweep.session import StopFlag
from measure.sweep.shards import ingest_or_keep, shard_target, slug

KNOWN_ENGINES = ("vllm", "sglang", "tgi", "text-generation-inference", "llama.cpp", "ollama")
# The settings a resumed run must share with its shard.
IDENTITY_FIELDS = (
    "url",
    "model",
    "concurrency",
    "rates",
    "requests",
    "warmup",
    "drain",
    "input_tokens",
    "output_tokens",
    "workload",
    "tokenizer",
    "seed",
    "meters",
    "gpu_indices",
    "watts_per_core",
    "engine",
    "task",
    "system",
    "ignore_eos",
)


class LevelStopFlag(StopFlag):
    """Ctrl-C (first press) stops after the level in flight; a second stops at once."""

    def _on_sigint(self, signum, frame) -> None:
        if self._requested:
            raise KeyboardInterrupt
        self._requested = True
        print(
            "\nmeasure serve: stopping after the level in flight (Ctrl-C again to stop at once)",
            file=sys.stderr,
        )


class ServeConfigError(ValueError):
    """``measure serve`` cannot start as configured; the message names the setting."""


@dataclass
class ServeConfig:
    url: str
    model: str | None = None  # the name the server knows; None: the first /v1/models lists
    concurrency: list[int] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    requests: int = 16  # per level, warm-up and drain included
    warmup: int = 2
    drain: int = 1
    input_tokens: int = 32
    output_tokens: int = 32
    workload: str | None = None
    tokenizer: str | None = None  # None: the model id, where it is a local folder
    seed: int = 0
    timeout_s: float = 120.0
    meters: str = "auto"
    gpu_indices: list[int] | None = None
    watts_per_core: float = DEFAULT_WATTS_PER_CORE
    server_pid: int | None = None
    idle_s: float = 3.0
    engine: str | None = None
    engine_note: str | None = None
    task: str = "serve"
    system: str | None = None
    model_name: str | None = None  # the name rows carry (default: the served id)
    weight_precision: str | None = None
    tensor_parallel: int | None = None
    max_num_seqs: int | None = None
    ignore_eos: bool = False  # send vLLM's ignore_eos/min_tokens for exact output lengths
    db: str | Path | None = None
    shard_dir: str | Path | None = None
    run_id: str | None = None
    resume: bool = False
    ingest: bool = True

    def validated(self) -> ServeConfig:
        if bool(self.concurrency) == bool(self.rates):
            raise ServeConfigError("give the levels as --concurrency or as --rates (one of them)")
        if any(int(c) < 1 for c in self.concurrency):
            raise ServeConfigError(f"concurrency levels must be at least 1, got {self.concurrency}")
        if any(not (r > 0 and math.isfinite(r)) for r in self.rates):
            raise ServeConfigError(f"request rates must be positive, got {self.rates}")
        if self.warmup < 0 or self.drain < 1:
            raise ServeConfigError("warmup must be >= 0 and drain >= 1 requests")
        # At fixed concurrency c a closed loop sends requests in rounds of up to c at once
        # (each round as the one before completes), so a window that opens at one request's
        # send and closes fewer than c sends later can close in the same instant: at least
        # c sends must lie between its edges.
        warmup = max([self.warmup, *self.concurrency])
        steady = max([1, *self.concurrency])
        if self.requests < warmup + steady + self.drain:
            raise ServeConfigError(
                f"--requests {self.requests} leaves too few steady requests after {warmup} "
                f"warm-up (at least the largest concurrency: its first round starts at once) "
                f"and {self.drain} drain: the window needs {steady} request starts (the largest "
                f"concurrency) to span a round; send at least {warmup + steady + self.drain}"
            )
        if self.input_tokens < 1 or self.output_tokens < 1:
            raise ServeConfigError("input and output token counts must be at least 1")
        if not self.timeout_s > 0 or self.idle_s < 0:
            raise ServeConfigError("timeout must be positive and idle seconds not negative")
        if not (math.isfinite(self.watts_per_core) and self.watts_per_core > 0):
            raise ServeConfigError(
                f"--watts-per-core must be a finite number > 0, not {self.watts_per_core}"
            )
        try:  # the meters' own parser: one list of meter names
            parse_meter_spec(self.meters)
        except ValueError as exc:
            raise ServeConfigError(f"--meters: {exc}") from None
        if self.server_pid is not None and self.server_pid < 1:
            raise ServeConfigError(f"--server-pid must be a process id >= 1, not {self.server_pid}")
        return replace(
            self,
            concurrency=sorted({int(c) for c in self.concurrency}),
            rates=sorted({float(r) for r in self.rates}),
        )

    @property
    def loads(self) -> list[LevelLoad]:
        return [LevelLoad(concurrency=c) for c in self.concurrency] + [
            LevelLoad(rate=r) for r in self.rates
        ]

    def config_hash(self) -> str:
        identity = {name: getattr(self, name) for name in IDENTITY_FIELDS}
        text = json.dumps(identity, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class ServeResult:
    run_id: str
    shard_path: Path
    levels_done: int
    levels_total: int
    new_levels: int
    rows_in_store: int
    interrupted: bool
    energy_source: str
    store_behind: bool = False
    rows: list[dict] = field(default_factory=list)


class LevelFailed(ServeError):
    """A level could not be measured; the levels before it are kept."""


def run_serve(config: ServeConfig, should_stop=None) -> ServeResult:
    """Measure every level the run's shard lacks; see the module docstring."""
    config = config.validated()
    endpoint = Endpoint.parse(config.url)
    shard_dir = Path(config.shard_dir) if config.shard_dir else DEFAULT_SHARD_DIR
    try:
        shard_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ServeConfigError(f"cannot create the shard folder {shard_dir}: {exc}") from None
    # local settings first: a bad workload file or server process is named before the
    # server is contacted
    workload = read_workload(config.workload) if config.workload else None
    if config.server_pid is not None and not _process_exists(config.server_pid):
        raise ServeConfigError(f"--server-pid {config.server_pid}: no such process on this host")
    models, headers = get_json(endpoint, "/v1/models", timeout_s=min(config.timeout_s, 30.0))
    served = _served_ids(models, endpoint)
    model = config.model or served[0]
    if config.model and config.model not in served:
        raise ServeConfigError(
            f"{endpoint.where('/v1/models')} lists {served}, not the model {config.model!r}"
        )
    shard_path, prior = _shard_target(config, shard_dir, config.model_name or model)
    tokenizer = config.tokenizer or (model if Path(model).is_dir() else None)
    if tokenizer is None:
        raise ServeConfigError(
            f"no tokenizer for {model!r}: pass --tokenizer with the model's local folder"
        )
    maker = PromptMaker(tokenizer, config.seed)
    server_pid = config.server_pid or find_server_pid(endpoint)
    meter = serve_meter(
        config.meters,
        gpu_indices=config.gpu_indices,
        server_pid=server_pid,
        watts_per_core=config.watts_per_core,
    )
    try:
        session = ServeSession(
            config, endpoint, meter, maker, workload, shard_path, prior, model, models, headers
        )
        with LevelStopFlag(should_stop) as stop:
            return session.run(stop)
    finally:
        meter.close()


def _served_ids(models: dict, endpoint: Endpoint) -> list[str]:
    data = models.get("data") if isinstance(models, dict) else None
    ids = [m.get("id") for m in data or [] if isinstance(m, dict) and m.get("id")]
    if not ids:
        raise ServeError(f"{endpoint.where('/v1/models')}: the server lists no model")
    return ids


def detect_engine(models: dict, headers: dict) -> str:
    """The engine as the server tells it (``owned_by`` of /v1/models, the Server header)."""
    for m in models.get("data") or []:
        owner = str(m.get("owned_by", "")).lower() if isinstance(m, dict) else ""
        if owner in KNOWN_ENGINES:
            return owner
    server = headers.get("server", "").lower()
    for engine in KNOWN_ENGINES:
        if engine in server:
            return engine
    return "unknown"


def _shard_target(
    config: ServeConfig, shard_dir: Path, model: str
) -> tuple[Path, ServeShard | None]:
    digest = config.config_hash()
    target = shard_target(
        shard_dir,
        config.run_id,
        digest,
        config.resume,
        read_serve_shard,
        error=ServeConfigError,
        tool="measure serve",
        kind=KIND,
    )
    if target is not None:
        return target
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    run_id = f"serve-{slug(Path(model).name)}-{digest[:8]}-{stamp}-{os.urandom(2).hex()}"
    return shard_dir / f"{run_id}.jsonl", None


class ServeSession:
    """One process's part of a run (a resumed run has several)."""

    def __init__(
        self,
        config: ServeConfig,
        endpoint: Endpoint,
        meter: CompositeMeter,
        maker: PromptMaker,
        workload,
        shard_path: Path,
        prior: ServeShard | None,
        model: str,
        models: dict,
        headers: dict,
    ):
        self.config, self.endpoint, self.meter, self.maker = config, endpoint, meter, maker
        self.workload, self.shard_path, self.prior = workload, shard_path, prior
        self.model, self.models, self.headers = model, models, headers
        self.engine = config.engine or detect_engine(models, headers)
        self.scope = energy_scope(meter)
        self.store = Store(config.db)
        self.idle_power_w = prior.idle_power_w if prior else None
        self.idle_measured = bool(prior and prior.idle)
        self.n_gpus, self.system = self._system()
        self.store_behind = False
        self.new_rows: list[dict] = []

    def _system(self) -> tuple[int, str]:
        for m in self.meter.describe()["meters"]:
            if m.get("name") == "nvml":
                # "NVIDIA H100 80GB HBM3" -> "H100", "NVIDIA A100-SXM4-80GB" -> "A100": the
                # store names systems by GPU kind
                names = m.get("gpu_names") or ["GPU"]
                words = str(names[0]).replace("NVIDIA", "").split() or ["GPU"]
                kind = words[0].split("-")[0]
                return len(m["gpu_indices"]), self.config.system or kind
        return 0, self.config.system or f"{socket.gethostname()}-cpu"

    # -- the run -----------------------------------------------------------------------
    def run(self, stop: StopFlag) -> ServeResult:
        loads = self.config.loads
        done = self.prior.done_keys if self.prior else set()
        interrupted = False
        if not (self.prior and self.prior.complete):
            with ShardWriter(self.shard_path) as writer:
                if self.prior is None:
                    writer.write(self._header())
                else:
                    writer.write({"type": "session", "at": _now(), "host": socket.gethostname()})
                if not self.idle_measured and self.config.idle_s > 0:
                    self._measure_idle(writer)
                for index, load in enumerate(loads):
                    if load.key in done:
                        continue
                    if stop.requested:
                        interrupted = True
                        break
                    try:
                        row = self._level(index, load)
                    except (ServeError, LoadError) as exc:
                        self._ingest()
                        kept = len(done)
                        raise LevelFailed(
                            f"level {load.label} failed: {exc}; {kept} level(s) measured "
                            f"before it are kept in {self.shard_path}"
                            + ("" if not self.config.ingest else " and the store")
                        ) from None
                    writer.write({"type": "level", "row": row})
                    done.add(load.key)
                    self.new_rows.append(row)
                    self._ingest()
                    print(f"measure serve: {_summary(row)}", file=sys.stderr)
                    if stop.requested and len(done) < len(loads):
                        interrupted = True
                        break
                if not interrupted and len(done) == len(loads):
                    writer.write({"type": "end", "finished_at": _now()})
        shard = self._ingest()
        return ServeResult(
            run_id=shard.run_id,
            shard_path=self.shard_path,
            levels_done=len(shard.levels),
            levels_total=len(loads),
            new_levels=len(self.new_rows),
            rows_in_store=self._rows_in_store(shard.run_id),
            interrupted=interrupted,
            energy_source=self.meter.source,
            store_behind=self.store_behind,
            rows=self.new_rows,
        )

    def _header(self) -> dict:
        cfg = self.config
        record = asdict(cfg)
        record["db"] = str(record["db"]) if record["db"] else None
        record["shard_dir"] = str(record["shard_dir"]) if record["shard_dir"] else None
        provenance = {
            "server_url": self.endpoint.url,
            "v1_models": self.models,
            "server_header": self.headers.get("server"),
            "server_version": _version(self.models, self.headers),
            "engine": self.engine,
            "engine_note": cfg.engine_note,
            "client_host": socket.gethostname(),
            "meters": self.meter.describe(),
            "energy_source": self.meter.source,
            "energy_scope": self.scope,
            "energy_note": (
                "raw window energy, idle power included (idle_power_w beside it: GPU "
                "channels only, NULL without NVML)"
            ),
            "tokenizer": self.maker.describe(),
            "levels": [load.label for load in cfg.loads],
            "requests_per_level": cfg.requests,
            "warmup_requests": cfg.warmup,
            "drain_requests": cfg.drain,
            "workload": cfg.workload,
            "format": FORMAT_VERSION,
        }
        return {
            "type": "header",
            "kind": KIND,
            "format": FORMAT_VERSION,
            "run_id": self.shard_path.stem,
            "system": self.system,
            "config": record,
            "config_hash": cfg.config_hash(),
            "provenance": provenance,
            "started_at": _now(),
        }

    def _measure_idle(self, writer: ShardWriter) -> None:
        idle_s = max(self.config.idle_s, self.meter.min_window_s)
        with self.meter.measure() as window:
            time.sleep(idle_s)
        reading = window.reading
        seconds = max(reading.duration_s, 1e-9)
        gpu_j = reading.gpu_energy_j
        # The rows' idle_power_w is what Store.idle_power() reads as the instance's GPU idle
        # power (divided by its GPUs), so it holds the GPU channels only, and only where
        # NVML measured them.  The meter's whole figure (CPU by RAPL or the CPU-time
        # estimate included) stays in the shard's idle record, hence the run's provenance;
        # with no GPU channel the rows' idle_power_w is left NULL.
        self.idle_power_w = gpu_j / seconds if gpu_j is not None else None
        self.idle_measured = True
        writer.write(
            {
                "type": "idle",
                "idle_power_w": self.idle_power_w,
                "total_power_w": _total_j(reading) / seconds,
                "energy_source": self.meter.source,
                "energy_scope": self.scope,
                "window_s": reading.duration_s,
            }
        )

    # -- one level -----------------------------------------------------------------------
    def _level(self, index: int, load: LevelLoad) -> dict:
        cfg = self.config
        specs = request_mix(
            self.maker,
            cfg.requests,
            cfg.input_tokens,
            cfg.output_tokens,
            self.workload,
            seed=cfg.seed * 1000 + index,
        )
        body = {"model": self.model, "temperature": 0}
        if cfg.ignore_eos:
            body["ignore_eos"] = True
        # the first `concurrency` requests start together: warm-up however many were asked
        first, last = max(cfg.warmup, load.concurrency or 0), cfg.requests - cfg.drain
        edges: dict[str, float] = {}
        readings: list[MeterReading] = []

        def on_start(i: int) -> None:  # called under the load generator's lock
            if i == first:
                self.meter.start()
                edges["t0"] = time.perf_counter()
            elif i == last:
                edges["t1"] = time.perf_counter()
                readings.append(self.meter.stop())

        try:
            results = send_level(
                self.endpoint, load, specs, body, cfg.timeout_s, cfg.seed + index, on_start
            )
        finally:
            if "t0" in edges and "t1" not in edges:  # failed mid-window: close the meter
                self.meter.stop()
        return self._row(load, results, edges["t0"], edges["t1"], readings[0], first, last)

    def _row(
        self,
        load: LevelLoad,
        results: list[RequestResult],
        t0: float,
        t1: float,
        reading: MeterReading,
        first: int,
        last: int,
    ) -> dict:
        window_s = max(t1 - t0, 1e-9)
        tokens = sum(_tokens_in(r, t0, t1) for r in results)
        if tokens <= 0:
            raise ServeError(
                f"no output token arrived in the steady window ({window_s:.3f} s); send more "
                "requests per level (--requests) or longer outputs"
            )
        steady = results[first:last]
        completed = sum(1 for r in results if t0 <= r.end_s <= t1)
        # the meter's reading as it is: a non-positive one (a counter that did not move or
        # wrapped) is flagged, which keeps the row out of fits, rather than written as 0 J
        energy_j = _total_j(reading)
        flags = list(reading.flags)
        if not energy_j > 0:
            flags.append(NONPOSITIVE_ENERGY_FLAG)
        if window_s < self.meter.min_window_s:
            flags.append("window_below_meter_resolution")
        if any(r.generated_tokens < r.requested_output_tokens for r in steady):
            flags.append("output_tokens_short")
        itl_ms = [1000 * x for r in steady for x in r.itl_s]
        ttft_ms = [1000 * r.ttft_s for r in steady if r.ttft_s is not None]
        e2e_ms = [1000 * r.e2e_s for r in steady]
        cfg = self.config
        return {
            "row_key": load.key,
            "model": cfg.model_name or self.model,
            "system": self.system,
            "n_gpus": self.n_gpus,
            "tensor_parallel": cfg.tensor_parallel,
            "expert_parallel": None,
            "data_parallel": None,
            "weight_precision": cfg.weight_precision or _precision(self.model, cfg.tokenizer),
            "engine": self.engine,
            "task": cfg.task,
            "max_num_seqs": cfg.max_num_seqs,
            "concurrency": load.concurrency,
            "request_rate": load.rate,
            "mean_batch": _mean_in_flight(results, t0, t1),
            "n_requests": completed,
            "mean_input_tokens": float(np.mean([r.input_tokens for r in steady])),
            "mean_output_tokens": float(np.mean([r.generated_tokens for r in steady])),
            "window_s": window_s,
            "energy_j": energy_j,
            "energy_per_output_token_j": energy_j / tokens,
            "energy_per_request_j": energy_j / completed if completed else None,
            "mean_power_w": energy_j / window_s,
            "idle_power_w": self.idle_power_w,
            "output_throughput_tps": tokens / window_s,
            "request_throughput_rps": completed / window_s,
            **_percentiles("itl_ms", itl_ms, (50, 90, 95, 99)),
            **_percentiles("ttft_ms", ttft_ms, (50, 90, 99)),
            **_percentiles("e2e_ms", e2e_ms, (50, 90)),
            "energy_source": self.meter.source,
            "energy_scope": self.scope,
            "flags": flags,
            "measured_at": _now(),
        }

    # -- the store -----------------------------------------------------------------------
    def _ingest(self) -> ServeShard:
        shard = read_serve_shard(self.shard_path)
        if not self.config.ingest or not shard.levels:
            return shard
        error = ingest_or_keep(
            lambda: ingest_serve_shard(shard, self.store), self.shard_path, "measure serve", "level"
        )
        self.store_behind = error is not None
        return shard

    def _rows_in_store(self, run_id: str) -> int:
        if not self.config.ingest:
            return 0
        try:
            frame = self.store.serving()
        except StoreError:
            return 0
        return int((frame["run_id"] == run_id).sum())


def _tokens_in(result: RequestResult, t0: float, t1: float) -> float:
    times = result.token_times_s
    if not times:
        return 0.0
    weight = result.generated_tokens / len(times)  # events carrying several tokens
    return weight * sum(1 for t in times if t0 <= t <= t1)


def _mean_in_flight(results: list[RequestResult], t0: float, t1: float) -> float:
    """Time-average of requests in flight over [t0, t1]."""
    busy = sum(max(0.0, min(r.end_s, t1) - max(r.start_s, t0)) for r in results)
    return busy / max(t1 - t0, 1e-9)


def _percentiles(prefix: str, values: list[float], qs: tuple[int, ...]) -> dict:
    if not values:
        return {f"{prefix}_p{q}": None for q in qs}
    array = np.asarray(values, dtype=float)
    return {f"{prefix}_p{q}": float(np.percentile(array, q)) for q in qs}


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: a permission check only, nothing is sent
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    except OverflowError:
        return False
    return True


def _total_j(reading: MeterReading) -> float:
    return float(sum(reading.energy_j.values()))


def _precision(model: str, tokenizer: str | None) -> str | None:
    for folder in (model, tokenizer):
        config = Path(folder or "") / "config.json"
        if folder and config.is_file():
            try:
                data = json.loads(config.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            dtype = data.get("dtype") or data.get("torch_dtype")
            if dtype:
                return str(dtype)
    return None


def _version(models: dict, headers: dict) -> str | None:
    for key in ("version", "engine_version"):
        if isinstance(models, dict) and models.get(key):
            return str(models[key])
    return headers.get("x-engine-version") or headers.get("server")


def _summary(row: dict) -> str:
    level = (
        f"concurrency {row['concurrency']}"
        if row["concurrency"]
        else f"rate {row['request_rate']:g}"
    )
    return (
        f"{level}: batch {row['mean_batch']:.2f}, {row['output_throughput_tps']:.1f} tok/s, "
        f"{row['energy_per_output_token_j']:.4g} J/token ({row['energy_source']}, "
        f"{row['energy_scope']}), ITL p50 {row['itl_ms_p50'] or float('nan'):.1f} ms"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()
