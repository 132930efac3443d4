"""Sweeps of the built-in tiny model on this CPU, in process (a few seconds in all)."""

from __future__ import annotations

import json
import math
import time
from unittest import mock

import pyRAPL
import pytest

from measure.meters import rapl
from measure.store import Store
from measure.sweep import (
    SweepConfig,
    SweepError,
    cell_stop_reason,
    grid_order,
    run_sweep,
    runtime_ci_halfwidth_s,
)
from measure.sweep.shards import read_shard


def config(tmp_path, **overrides) -> SweepConfig:
    base = dict(
        system="test-cpu",
        inputs=[8, 32],
        outputs=[4, 12],
        max_trials=2,
        min_trials=2,
        ci_halfwidth_s=10.0,
        db=tmp_path / "store.duckdb",
        shard_dir=tmp_path / "shards",
        warmup=1,
        show_progress=False,
        ingest_every_s=0.0,
    )
    base.update(overrides)
    return SweepConfig(**base)


def test_tiny_sweep_lands_rows_with_provenance_and_exact_tokens(tmp_path):
    calls = []
    cfg = config(tmp_path, batch_size=2, seed=7)
    result = run_sweep(cfg, progress=lambda done, total: calls.append((done, total)))
    assert not result.interrupted and result.cells_done == result.cells_total == 4
    assert result.n_trials == result.rows_in_store == result.new_trials == 8
    assert calls[0] == (0, 4) and calls[-1] == (4, 4)

    rows = Store(cfg.db).measurements()
    assert len(rows) == 8 and rows.trial_key.is_unique
    assert (rows.output_tokens_generated == rows.output_tokens).all()  # exactly tout
    assert sorted(set(zip(rows.input_tokens, rows.output_tokens))) == [
        (8, 4),
        (8, 12),
        (32, 4),
        (32, 12),
    ]
    assert set(rows.model) == {"tiny-llama"} and set(rows.system) == {"test-cpu"}
    assert set(rows.energy_source) == {"estimated"}  # labelled, never passed off as measured
    assert set(rows.batch_size) == {2} and set(rows.n_gpus) == {0}
    assert set(rows.kv_cache) == {True} and set(rows.dtype) == {"float32"}
    assert (rows.cpu_energy_j > 0).all() and rows.gpu_energy_j.isna().all()
    assert (rows.runtime_s > 0).all() and set(rows.phase) == {"inference"}
    assert all(len(f) == 0 for f in rows["flags"])

    run = Store(cfg.db).runs().iloc[0]
    prov = json.loads(run.provenance)
    assert run.kind == "sweep" and run.system == "test-cpu" and run.finished_at is not None
    assert prov["host"] == run.host and prov["cpu_name"] and prov["gpu_count"] == 0
    assert prov["libraries"]["torch"] and prov["libraries"]["transformers"]
    assert prov["seed"] == 7 and prov["kv_cache"] is True and prov["dtype"] == "float32"
    assert prov["energy_source"] == "estimated"
    assert prov["meters"]["meters"][0]["watts_per_core"] == cfg.watts_per_core
    phases = set(Store(cfg.db).startup_phases().phase)
    assert phases == {"model load", "warm-up"}

    # cells were visited in the seeded random order
    shard = read_shard(result.shard_path)
    visited = list(dict.fromkeys((t["input_tokens"], t["output_tokens"]) for t in shard.trials))
    assert visited == grid_order(cfg.validated())


@pytest.fixture
def constant_power_rapl(tmp_path, monkeypatch):
    """RAPL through pyRAPL (autospecced fake Sensor) for a package drawing a constant 25 W."""
    zone = tmp_path / "powercap" / "intel-rapl:0"
    zone.mkdir(parents=True)
    (zone / "name").write_text("package-0\n")
    (zone / "max_energy_range_uj").write_text("262143328850\n")
    monkeypatch.setattr(rapl, "POWERCAP_ROOT", zone.parent)
    origin = time.perf_counter()
    with mock.patch.object(pyRAPL, "Sensor", autospec=True) as sensor_cls:
        sensor_cls.return_value.energy.side_effect = lambda: [
            25e6 * (time.perf_counter() - origin),
            -1,
        ]  # uJ; no DRAM domain
        yield 25.0


def test_short_trials_repeat_inside_one_window_and_idle_is_subtracted(
    tmp_path, constant_power_rapl
):
    cfg = config(
        tmp_path,
        inputs=[8],
        outputs=[4],
        kv_cache=False,
        min_window_s=0.5,
        idle_s=0.2,
        max_trials=2,
        min_trials=2,
        threads=1,
        meters="rapl",
    )
    result = run_sweep(cfg)  # one generation: ~10 ms << 0.5 s
    shard = read_shard(result.shard_path)
    assert result.energy_source == "rapl" and len(shard.trials) == 2
    for trial in shard.trials:  # every metered window was long enough
        assert trial["repetitions"] > 1
        assert trial["repetitions"] * trial["runtime_s"] >= cfg.min_window_s
    rows = Store(cfg.db).measurements()
    assert (rows.runtime_s < 0.5).all()  # per generation, not per window
    assert shard.header["provenance"]["torch_threads"] == 1
    assert set(rows.kv_cache) == {False} and (rows.output_tokens_generated == 4).all()
    assert set(rows.energy_source) == {"rapl"}
    # idle: 25 W measured, stored, and subtracted (a constant 25 W nets ~0 J per generation).
    # The fake's energy follows the wall clock between counter reads, and the meter times its
    # window beside those reads: a process preempted between the two on a loaded machine adds
    # that delay to one side only (a fresh CI machine read 27 W over the 0.5 s window), hence 10%
    assert rows.idle_power_w.to_numpy() == pytest.approx([25.0, 25.0], rel=0.1)
    assert shard.header["idle_power_w"]["cpu:package-0"] == pytest.approx(25.0, rel=0.1)
    assert (rows.cpu_energy_j.abs() < 0.1 * 25.0 * rows.runtime_s).all()
    idle = Store(cfg.db).startup_phases().set_index("phase").loc["idle"]
    assert idle.cpu_energy_j == pytest.approx(25.0 * idle.runtime_s, rel=0.1)  # raw
    assert idle.runtime_s >= cfg.min_window_s  # idle_s 0.2 s is below what the meter resolves


def test_stop_after_trial_in_flight_then_resume_without_duplicates(tmp_path):
    cfg = config(tmp_path, max_trials=3, min_trials=3)
    asked = []

    def stop_after_four() -> bool:
        asked.append(1)
        return len(read_shard_trials(tmp_path)) >= 4

    first = run_sweep(cfg, should_stop=stop_after_four)
    assert first.interrupted and first.n_trials == 4 and first.rows_in_store == 4
    assert not read_shard(first.shard_path).complete

    second = run_sweep(config(tmp_path, max_trials=3, min_trials=3, resume=True))
    assert second.shard_path == first.shard_path and second.run_id == first.run_id
    assert not second.interrupted and second.new_trials == 12 - 4
    rows = Store(cfg.db).measurements()
    assert len(rows) == 12 and rows.trial_key.is_unique
    assert rows.groupby(["input_tokens", "output_tokens"]).size().eq(3).all()
    shard = read_shard(first.shard_path)
    assert shard.complete and shard.sessions == 2
    assert len(Store(cfg.db).runs()) == 1

    third = run_sweep(config(tmp_path, max_trials=3, min_trials=3, resume=True))
    assert third.new_trials == 0 and third.rows_in_store == 12  # nothing left to do


def read_shard_trials(tmp_path):
    paths = list((tmp_path / "shards").glob("*.jsonl"))
    return read_shard(paths[0]).trials if paths else []


def test_named_runs_refuse_overwrite_and_changed_settings(tmp_path):
    cfg = config(tmp_path, inputs=[8], outputs=[4], run_id="my run")
    result = run_sweep(cfg)
    assert result.run_id == "my_run" and result.shard_path.name == "my_run.jsonl"
    with pytest.raises(SweepError, match="exists already"):
        run_sweep(cfg)
    with pytest.raises(SweepError, match="another configuration"):
        run_sweep(config(tmp_path, inputs=[8], outputs=[4, 8], run_id="my run", resume=True))


@pytest.mark.parametrize(
    "overrides, problem",
    [
        ({"inputs": []}, "inputs must be positive"),
        ({"outputs": [0, 8]}, "outputs must be positive"),
        ({"max_trials": 0}, "max_trials must be at least 1"),
        ({"ci_halfwidth_s": 0}, "ci_halfwidth_s must be positive"),
        ({"dtype": "int3"}, "unknown dtype"),
    ],
)
def test_config_errors_name_the_setting(tmp_path, overrides, problem):
    with pytest.raises(SweepError, match=problem):
        config(tmp_path, **overrides).validated()


def test_confidence_interval_stopping_rule():
    assert math.isinf(runtime_ci_halfwidth_s([1.0]))
    # n = 3, sd = 0.1: t(0.975, 2) = 4.303 -> 4.303 * 0.1 / sqrt(3)
    assert runtime_ci_halfwidth_s([0.9, 1.0, 1.1]) == pytest.approx(0.24841, rel=1e-4)
    cfg = SweepConfig(max_trials=5, min_trials=3, ci_halfwidth_s=0.3).validated()
    assert cell_stop_reason([0.9, 1.0], cfg) is None  # below min_trials
    assert cell_stop_reason([0.9, 1.0, 1.1], cfg) == "ci"
    assert cell_stop_reason([0.1, 1.0, 2.0], cfg) is None
    assert cell_stop_reason([0.1, 1.0, 2.0, 0.1, 2.0], cfg) == "max_trials"


def test_grid_order_is_seeded():
    a = grid_order(SweepConfig(inputs=[8, 16, 32], outputs=[8, 16, 32], seed=1).validated())
    b = grid_order(SweepConfig(inputs=[8, 16, 32], outputs=[8, 16, 32], seed=1).validated())
    c = grid_order(SweepConfig(inputs=[8, 16, 32], outputs=[8, 16, 32], seed=2).validated())
    assert a == b and a != c and sorted(a) == sorted(c) and len(a) == 9


def test_a_run_killed_before_its_header_was_written_starts_afresh(tmp_path):
    shard_dir = tmp_path / "shards"
    shard_dir.mkdir()
    (shard_dir / "early.jsonl").write_text('{"type": "header", "run_id": "ea')  # torn
    result = run_sweep(config(tmp_path, inputs=[8], outputs=[4], run_id="early", resume=True))
    shard = read_shard(result.shard_path)
    assert shard.run_id == "early" and shard.complete and len(shard.trials) == 2


def test_threads_setting_is_restored_after_the_run(tmp_path):
    import torch

    before = torch.get_num_threads()
    run_sweep(config(tmp_path, inputs=[8], outputs=[4], max_trials=1, threads=1))
    assert torch.get_num_threads() == before


def test_sweep_rows_get_the_importers_plausibility_flags(tmp_path):
    """A reading no CPU can draw (here an estimate at 20 kW per core) is flagged as an
    imported row would be, so fits leave it out by default."""
    cfg = config(tmp_path, inputs=[8], outputs=[4], watts_per_core=20_000.0)
    result = run_sweep(cfg)
    rows = Store(cfg.db).measurements(include_flagged=True)
    assert result.rows_in_store == len(rows) == 2
    assert all("implausible_cpu_power" in list(f) for f in rows["flags"])
