"""Idle power: documented defaults with their sources, stand-ins named, measured first."""

from __future__ import annotations

import pandas as pd
import pytest

from measure.importers.mlenergy import CITATION
from measure.store import RunRecord, Store
from planner.serving.idle import (
    DEFAULT_IDLE_POWER_W,
    NEAREST_DOCUMENTED_KIND,
    TDP_W,
    IdlePowerError,
    gpu_kind,
    idle_power,
    idle_power_w,
)


def test_every_default_is_sourced_and_physical():
    assert DEFAULT_IDLE_POWER_W, "at least one documented figure"
    for kind, (power_w, source) in DEFAULT_IDLE_POWER_W.items():
        assert 0 < power_w < 1000, kind
        assert source.startswith("documented: ") and len(source) > 40, kind
    assert set(NEAREST_DOCUMENTED_KIND.values()) <= set(DEFAULT_IDLE_POWER_W)


def test_h100_default_is_the_reference_notes_range_cited_as_a_note():
    power, source = idle_power_w("H100")
    assert 70 <= power <= 120
    assert "70-120 W" in source and "mlenergy-v3/README.md" in source
    # the sentence is the project's notes, not ML.ENERGY's: the source says so, and names
    # the data it sits beside by the importer's one citation
    assert "not a measurement" in source and CITATION in source
    found = idle_power("NVIDIA H100 80GB HBM3")
    assert (found.kind, found.warning) == ("documented", None)


def test_undocumented_kind_uses_the_nearest_with_a_warning_naming_both():
    found = idle_power("H200")
    assert found.kind == "nearest"
    assert found.power_w == DEFAULT_IDLE_POWER_W["H100"][0]
    assert "H200" in found.warning and "H100" in found.warning
    assert "--idle-power-w" in found.warning


def test_no_stand_in_where_it_could_exceed_the_kinds_power():
    stand_in = DEFAULT_IDLE_POWER_W["H100"][0]
    for kind in NEAREST_DOCUMENTED_KIND:
        # a borrowed figure is never a larger share of a kind's TDP than of the H100's
        assert TDP_W[kind] >= TDP_W["H100"] > stand_in, kind
    assert "L4" not in NEAREST_DOCUMENTED_KIND and "A10" not in NEAREST_DOCUMENTED_KIND
    with pytest.raises(IdlePowerError, match=r"L4.*TDP, 72 W.*--idle-power-w"):
        idle_power("NVIDIA L4")
    with pytest.raises(IdlePowerError, match=r"A10\b.*150 W"):
        idle_power("NVIDIA A10")
    with pytest.raises(IdlePowerError, match="argonne-swing.*not recognised"):
        idle_power("argonne-swing")
    # the caller's figure is always taken, if it is a finite number of watts
    assert idle_power("NVIDIA L4", override_w=16.0).power_w == 16.0
    for bad in (float("inf"), float("nan"), -1.0):
        with pytest.raises(IdlePowerError, match="finite number of watts"):
            idle_power("H100", override_w=bad)


def test_gpu_kind_reads_the_longest_name():
    assert gpu_kind("NVIDIA GH200 480GB") == "GH200"
    assert gpu_kind("h200") == "H200"
    assert gpu_kind("A100-SXM4-40GB") == "A100"
    assert gpu_kind("M1-Pro") is None


def _serving_row(system: str, n_gpus: int, idle_w: float | None) -> dict:
    return {
        "row_key": f"{system}-{n_gpus}",
        "model": "Qwen/Qwen3-8B",
        "system": system,
        "n_gpus": n_gpus,
        "task": "lm-arena-chat",
        "weight_precision": "bfloat16",
        "engine": "vllm",
        "mean_batch": 8.0,
        "energy_per_output_token_j": 0.4,
        "output_throughput_tps": 900.0,
        "idle_power_w": idle_w,
        "energy_source": "nvml",
        "energy_scope": "gpu",
    }


def test_measured_idle_in_the_store_comes_first(store_path):
    store = Store(store_path)
    rows = pd.DataFrame([_serving_row("H100", 2, 300.0), _serving_row("B200", 1, None)])
    store.write_serving(RunRecord("serve-1", "serve", "test rows"), rows)
    found = idle_power("H100", store)
    assert found.kind == "measured"
    assert found.power_w == pytest.approx(150.0)  # 300 W per instance of 2 GPUs
    assert "nvml" in found.source and found.warning is None
    assert idle_power_w("H100", store)[0] == pytest.approx(150.0)
    # a system without a measured figure falls back; the caller's figure beats the store's
    assert idle_power("B200", store).kind == "nearest"
    assert idle_power("H100", store, override_w=42.0).power_w == 42.0
    with pytest.raises(ValueError, match="watts"):
        idle_power("H100", override_w=-1.0)


def test_missing_store_means_no_measurement(tmp_path):
    assert idle_power("H100", Store(tmp_path / "absent.duckdb")).kind == "documented"
