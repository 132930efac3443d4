"""`python -m measure serve --url URL --concurrency 1,2,4`: meter an OpenAI-compatible
server under load, one ``serving`` row per level (see :mod:`measure.serve.runner`)."""

from __future__ import annotations

import argparse
import sys

from measure.cli import EXIT_INTERRUPTED
from measure.paths import DEFAULT_DB_PATH, DEFAULT_SHARD_DIR


def _ints(text: str) -> list[int]:
    try:
        values = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole numbers >= 1, e.g. 1,2,4")
    return values


def _floats(text: str) -> list[float]:
    try:
        values = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        values = []
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give positive rates, e.g. 0.5,1,2")
    return values


def add_parser(subparsers) -> None:
    from measure.meters import DEFAULT_WATTS_PER_CORE
    from measure.sweep.cli import register_shard_kind

    # `measure merge` ingests serve shards too
    register_shard_kind("measure.serve.shards", "is_serve_shard", "ingest_serve_shard")

    p = subparsers.add_parser(
        "serve",
        help="meter an OpenAI-compatible server under load (one serving row per level)",
        description=__doc__,
    )
    p.add_argument("--url", required=True, help="the server, e.g. http://127.0.0.1:8000")
    p.add_argument("--model", help="model id the server knows (default: the first it lists)")
    p.add_argument("--model-name", help="name the rows carry (default: the served id)")
    levels = p.add_mutually_exclusive_group(required=True)
    levels.add_argument("--concurrency", type=_ints, help="requests kept in flight, e.g. 1,2,4")
    levels.add_argument("--rates", type=_floats, help="Poisson arrival rates (req/s), e.g. 1,2")
    p.add_argument("--requests", type=int, default=16, help="per level (default %(default)s)")
    p.add_argument("--warmup", type=int, default=2, help="warm-up requests per level")
    p.add_argument("--drain", type=int, default=1, help="last requests left out of the window")
    p.add_argument("--input-tokens", type=int, default=32, help="prompt length (tokens)")
    p.add_argument("--output-tokens", type=int, default=32, help="max_tokens per request")
    p.add_argument("--workload", help="CSV/JSONL of input_tokens,output_tokens to draw from")
    p.add_argument("--tokenizer", help="tokenizer folder (default: the model id, if a folder)")
    p.add_argument("--ignore-eos", action="store_true", help="send vLLM's ignore_eos/min_tokens")
    p.add_argument("--timeout-s", type=float, default=120.0, help="per wait on the server")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--meters", default="auto", help="auto, or a comma list of nvml, rapl, estimate")
    p.add_argument("--gpus", help="NVML GPU indices of the server, e.g. 0 or 0,1")
    p.add_argument("--server-pid", type=int, help="server process for the CPU-time estimate")
    p.add_argument(
        "--watts-per-core", type=float, default=DEFAULT_WATTS_PER_CORE, help="for the estimate"
    )
    p.add_argument("--idle-s", type=float, default=3.0, help="idle power before the first level")
    p.add_argument("--engine", help="engine label (default: what the server says, else unknown)")
    p.add_argument("--engine-note", help="free text kept in the run's provenance")
    p.add_argument("--task", default="serve", help="task label of the rows")
    p.add_argument("--system", help="system label (default: the GPU kind, or HOST-cpu)")
    p.add_argument("--weight-precision", help="default: the model folder's dtype")
    p.add_argument("--tensor-parallel", type=int)
    p.add_argument("--max-num-seqs", type=int, help="the engine's batch limit, if set")
    p.add_argument("--db", default=str(DEFAULT_DB_PATH), help="store (default %(default)s)")
    p.add_argument("--shard-dir", help=f"default {DEFAULT_SHARD_DIR}")
    p.add_argument("--run-id", help="name the run (and its shard)")
    p.add_argument("--resume", action="store_true", help="continue the run with these settings")
    p.add_argument("--no-ingest", action="store_true", help="shard only; `measure merge` later")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args) -> int:
    from measure.meters import MeterError, MeterUnavailable
    from measure.serve.client import ServeError
    from measure.serve.loadgen import LoadError
    from measure.serve.runner import LevelFailed, ServeConfig, ServeConfigError, run_serve
    from measure.store import StoreError
    from measure.sweep.cli import _indices_arg
    from measure.sweep.shards import ShardError

    try:
        gpus = _indices_arg(args.gpus) if args.gpus else None
        config = ServeConfig(
            url=args.url,
            model=args.model,
            model_name=args.model_name,
            concurrency=args.concurrency or [],
            rates=args.rates or [],
            requests=args.requests,
            warmup=args.warmup,
            drain=args.drain,
            input_tokens=args.input_tokens,
            output_tokens=args.output_tokens,
            workload=args.workload,
            tokenizer=args.tokenizer,
            ignore_eos=args.ignore_eos,
            timeout_s=args.timeout_s,
            seed=args.seed,
            meters=args.meters,
            gpu_indices=gpus,
            server_pid=args.server_pid,
            watts_per_core=args.watts_per_core,
            idle_s=args.idle_s,
            engine=args.engine,
            engine_note=args.engine_note,
            task=args.task,
            system=args.system,
            weight_precision=args.weight_precision,
            tensor_parallel=args.tensor_parallel,
            max_num_seqs=args.max_num_seqs,
            db=args.db,
            shard_dir=args.shard_dir,
            run_id=args.run_id,
            resume=args.resume,
            ingest=not args.no_ingest,
        )
        result = run_serve(config)
    except (ServeConfigError, LoadError, argparse.ArgumentTypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except LevelFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ServeError, MeterUnavailable, MeterError, ShardError, StoreError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted (the levels finished so far are in the shard)", file=sys.stderr)
        return EXIT_INTERRUPTED
    where = (
        "not ingested (--no-ingest)"
        if args.no_ingest
        else f"{result.rows_in_store} rows in {args.db}"
    )
    print(
        f"run {result.run_id}: {result.new_levels} new level(s), {result.levels_done}/"
        f"{result.levels_total} done, {where}; energy source {result.energy_source}\n"
        f"shard: {result.shard_path}"
    )
    if result.interrupted:
        print(
            "measure serve: interrupted; continue with the same command and --resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    if result.store_behind:
        print(
            f"measure serve: the store was not updated; run `python -m measure merge "
            f"{result.shard_path} --db {args.db}`",
            file=sys.stderr,
        )
        return 1
    return 0
