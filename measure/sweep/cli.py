"""`python -m measure meters | sweep | merge`: meters here, measurement sweeps, shard merges
(sweep shards and `measure serve` shards alike)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from measure.cli import EXIT_INTERRUPTED
from measure.paths import DEFAULT_DB_PATH, DEFAULT_SHARD_DIR


def parse_grid(text: str) -> list[int]:
    """``"8,16,32"``; ``"8,16,...,2048"`` continues the pattern to the last value: doubling
    (or any whole ratio) where that reaches it, else equal steps."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if "..." in parts:
        at = parts.index("...")
        head, tail = [int(p) for p in parts[:at]], [int(p) for p in parts[at + 1 :]]
        if len(head) < 2 or len(tail) != 1:
            raise ValueError(f"{text!r}: write two values before '...' and one after")
        if head[-1] <= head[-2]:
            raise ValueError(f"{text!r}: the values before '...' must increase")
        values = _continue(head, tail[0])
        if values is None:
            raise ValueError(f"{text!r}: the sequence does not reach {tail[0]}")
    else:
        values = [int(p) for p in parts]
    if not values or min(values) < 1:
        raise ValueError(f"{text!r}: token counts must be positive integers")
    return values


def _continue(head: list[int], last: int) -> list[int] | None:
    a, b = head[-2], head[-1]
    steps = [lambda v: v + (b - a)]
    if a > 0 and b % a == 0:
        steps.insert(0, lambda v: v * (b // a))
    for step in steps:
        values = list(head)
        while values[-1] < last:
            values.append(step(values[-1]))
        if values[-1] == last:
            return values
    return None


def _grid_arg(text: str) -> list[int]:
    try:
        return parse_grid(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _indices_arg(text: str) -> list[int]:
    """GPU indices: ``"0"``, ``"0,2,3"`` (0 is the first GPU)."""
    try:
        values = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give GPU indices like 0 or 0,1,3")
    return values


def _positive_ints(text: str) -> list[int]:
    try:
        values = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole numbers >= 1, like 1,4,16")
    return sorted(set(values))


def _on_off(text: str) -> bool:
    if text.lower() in ("on", "true", "yes", "1"):
        return True
    if text.lower() in ("off", "false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected on or off, got {text!r}")


def add_parser(subparsers) -> None:
    meters = subparsers.add_parser("meters", help="which energy meters work on this machine")
    meters.set_defaults(func=cmd_meters)

    sweep = subparsers.add_parser("sweep", help="measure a model over a token grid")
    _sweep_arguments(sweep)
    sweep.set_defaults(func=cmd_sweep)

    merge = subparsers.add_parser(
        "merge", help="ingest sweep or serve shards into a store (idempotent)"
    )
    merge.add_argument("shards", nargs="+", help="shard files (.jsonl) or folders of them")
    merge.add_argument("--db", default=str(DEFAULT_DB_PATH), help="store (default %(default)s)")
    merge.set_defaults(func=cmd_merge)


def _sweep_arguments(p: argparse.ArgumentParser) -> None:
    from measure.meters import DEFAULT_WATTS_PER_CORE
    from measure.sweep.config import DEFAULT_GRID

    grid = ",".join(map(str, DEFAULT_GRID[:2])) + ",...," + str(DEFAULT_GRID[-1])
    p.add_argument(
        "--model",
        default="tiny-llama",
        help="built-in 'tiny-llama' (default), a local folder, or a hub id (online)",
    )
    p.add_argument("--model-name", help="name the rows carry (default: the id, or a path's folder)")
    p.add_argument("--system", help="system name the rows carry (default: HOST-DEVICE)")
    p.add_argument(
        "--inputs",
        type=_grid_arg,
        default=list(DEFAULT_GRID),
        help=f"input token counts (default {grid})",
    )
    p.add_argument(
        "--outputs",
        type=_grid_arg,
        default=list(DEFAULT_GRID),
        help=f"output token counts (default {grid})",
    )
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument(
        "--batch-sizes",
        type=_positive_ints,
        help="several batch sizes, e.g. 1,4,16: one run each (batched generate, exact "
        "lengths; overrides --batch-size)",
    )
    p.add_argument("--kv-cache", type=_on_off, default=True, metavar="on|off")
    p.add_argument("--dtype", default="float32", help="float32, bfloat16 or float16")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--max-trials", type=int, default=25)
    p.add_argument("--min-trials", type=int, default=3)
    p.add_argument(
        "--ci-halfwidth-s",
        type=float,
        default=0.5,
        help="stop a cell when the 95%% CI half-width of runtime is below this",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--warmup", type=int, default=2, help="warm-up generations")
    p.add_argument("--meters", default="auto", help="auto, or a comma list of nvml, rapl, estimate")
    p.add_argument(
        "--watts-per-core",
        type=float,
        default=DEFAULT_WATTS_PER_CORE,
        help="for the CPU-time estimate (default %(default)s W)",
    )
    p.add_argument(
        "--gpus",
        type=_indices_arg,
        help="NVML GPU indices to meter, e.g. 0 or 0,1 (default: all visible)",
    )
    p.add_argument(
        "--idle-s",
        type=float,
        default=0.0,
        help="measure idle power for this long (at least the meter's shortest "
        "window) first and subtract it (0: off)",
    )
    p.add_argument(
        "--min-window-s",
        type=float,
        help="shortest metered window; shorter trials repeat (default: meter's)",
    )
    p.add_argument("--db", default=str(DEFAULT_DB_PATH), help="store (default %(default)s)")
    p.add_argument("--shard-dir", help=f"where the run's shard goes (default {DEFAULT_SHARD_DIR})")
    p.add_argument("--run-id", help="name the run (and its shard) yourself")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the latest unfinished sweep with these settings",
    )
    p.add_argument(
        "--ingest-every-s",
        type=float,
        default=5.0,
        help="add finished trials to the store this often (short transactions)",
    )
    p.add_argument(
        "--no-ingest",
        action="store_true",
        help="write the shard only; ingest later with `measure merge` (clusters)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_meters(args) -> int:
    from measure.meters import probe_all

    for status in probe_all():
        state = "works" if status.available else "unavailable"
        line = f"{status.name:<9} {state:<12} {status.detail}"
        if status.fix:
            line += f"\n{'':<22} fix: {status.fix}"
        print(line)
    return 0


def cmd_sweep(args) -> int:
    from measure.sweep.config import SweepConfig

    config = SweepConfig(
        model=args.model,
        model_name=args.model_name,
        system=args.system,
        inputs=args.inputs,
        outputs=args.outputs,
        batch_size=args.batch_size,
        kv_cache=args.kv_cache,
        dtype=args.dtype,
        device=args.device,
        max_trials=args.max_trials,
        min_trials=args.min_trials,
        ci_halfwidth_s=args.ci_halfwidth_s,
        seed=args.seed,
        warmup=args.warmup,
        meters=args.meters,
        watts_per_core=args.watts_per_core,
        gpu_indices=args.gpus,
        idle_s=args.idle_s,
        min_window_s=args.min_window_s,
        db=args.db,
        shard_dir=args.shard_dir,
        run_id=args.run_id,
        resume=args.resume,
        ingest_every_s=args.ingest_every_s,
        show_progress=not args.no_progress,
        ingest=not args.no_ingest,
        threads=args.threads,
    )
    if args.batch_sizes:  # one run per batch size, each with its own shard and resume
        code = 0
        for batch in args.batch_sizes:
            run_id = f"{args.run_id}-b{batch}" if args.run_id else None
            print(f"measure sweep: batch size {batch}", file=sys.stderr)
            code = _report(args, replace(config, batch_size=batch, run_id=run_id))
            if code not in (0,):
                return code
        return code
    return _report(args, config)


def _report(args, config) -> int:
    from measure.sweep.runner import run_sweep

    result = _guarded(lambda: run_sweep(config))
    if isinstance(result, int):
        return result
    where = (
        "not ingested (--no-ingest)"
        if args.no_ingest
        else f"{result.rows_in_store} rows in {args.db}"
    )
    print(
        f"run {result.run_id}: {result.new_trials} new trials, {result.n_trials} in the shard, "
        f"{where}; {result.cells_done}/{result.cells_total} cells done; energy source "
        f"{result.energy_source}\nshard: {result.shard_path}"
    )
    if result.store_behind:
        print(
            f"measure sweep: the store was not fully updated; run `python -m measure merge "
            f"{result.shard_path} --db {args.db}`",
            file=sys.stderr,
        )
    elif result.ingest_errors:
        print(
            f"measure sweep: {len(result.ingest_errors)} store update(s) during the run failed "
            "and were retried; the last one added every trial",
            file=sys.stderr,
        )
    if result.interrupted:
        print(
            "measure sweep: interrupted; continue with the same command and --resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return 1 if result.store_behind else 0


def _guarded(work):
    """Run ``work``; user-facing errors become one line on stderr and exit code 1 or 2."""
    from measure.llm import ModelLoadError
    from measure.meters import MeterError, MeterUnavailable
    from measure.store import StoreError
    from measure.sweep.config import SweepError
    from measure.sweep.shards import ShardError

    try:
        return work()
    except (MeterUnavailable, MeterError, ModelLoadError, ShardError, StoreError) as exc:
        print(f"measure sweep: {exc}", file=sys.stderr)
        return 1
    except (SweepError, ValueError) as exc:  # ShardError is a ValueError: caught above
        print(f"measure sweep: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the disk filled up: every trial written so far is kept
        print(f"measure sweep: {exc}; rerun with --resume once fixed", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("measure sweep: interrupted before the first trial", file=sys.stderr)
        return EXIT_INTERRUPTED


def shard_paths(items: list[str]) -> list[Path]:
    paths: list[Path] = []
    for item in items:
        path = Path(item)
        paths.extend(sorted(path.glob("*.jsonl")) if path.is_dir() else [path])
    return paths


# Other kinds of shard (`measure serve`'s) are registered by their own subcommand module as
# (module, recogniser, ingester) names, loaded only when merging: merge ingests them without
# this package importing theirs (they build on the sweep's shard writer, not the reverse).
SHARD_KINDS: dict[str, tuple[str, str]] = {}


def register_shard_kind(module: str, recognise: str, ingest: str) -> None:
    SHARD_KINDS[module] = (recognise, ingest)


def _ingester(path: Path):
    from importlib import import_module

    from measure.sweep.shards import ingest_shard

    for module, (recognise, ingest) in SHARD_KINDS.items():
        loaded = import_module(module)
        if getattr(loaded, recognise)(path):
            return getattr(loaded, ingest)
    return ingest_shard


def cmd_merge(args) -> int:
    from measure.store import Store, StoreError
    from measure.sweep.shards import ShardError

    store, failures, total = Store(args.db), 0, 0
    paths = shard_paths(args.shards)
    if not paths:
        print("measure merge: no shards found in " + " ".join(args.shards), file=sys.stderr)
        return 1
    for path in paths:
        try:
            result = _ingester(path)(path, store)
        except (ShardError, StoreError) as exc:
            print(f"measure merge: {exc}", file=sys.stderr)
            failures += 1
            continue
        total += result.inserted_measurements
        print(
            f"{path}: run {result.run_id}, {result.inserted_measurements} new rows, "
            f"{result.inserted_startup} new start-up rows"
        )
    print(f"{total} new rows into {args.db} from {len(paths) - failures} of {len(paths)} shards")
    return 1 if failures else 0
