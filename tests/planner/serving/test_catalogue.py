"""Serving arms from a DataFrame of serving rows and from a real store."""

from __future__ import annotations

import pandas as pd
import pytest

from measure.store import RunRecord, Store
from planner.serving.catalogue import (
    IDLE_NOTE,
    ONE_POINT_NOTE,
    PREFILL_NOTE,
    ServingArm,
    serving_arms,
)
from planner.serving.setups import SETUP_COLUMNS, ServingSetup
from tests.planner.serving.test_operating import read_mlenergy_tasks, synthetic_rows


def _setup_rows(model="org/llm-8b", system="H100", n_gpus=1, task="chat", batches=(8, 64, 256)):
    rows = synthetic_rows(batches=batches)
    rows["model"], rows["system"], rows["n_gpus"] = model, system, n_gpus
    rows["weight_precision"], rows["task"], rows["engine"] = "bfloat16", task, "vllm"
    rows["energy_source"], rows["energy_scope"] = "nvml", "gpu"
    rows["mean_input_tokens"] = 500.0
    return rows


def test_one_arm_per_shared_setup_with_caveats(shared_reference_dir):
    directory = shared_reference_dir.parent / "mlenergy-v3"
    if not (directory / "tasks").is_dir():
        pytest.skip(f"ML.ENERGY reference files absent ({directory})")
    rows = read_mlenergy_tasks(directory)
    chat = rows[rows["task"] == "lm-arena-chat"]
    arms = serving_arms(rows, tasks=["lm-arena-chat"])
    keys = chat.groupby(["model", "system", "n_gpus", "weight_precision"])
    assert len(arms) == keys.ngroups
    assert len({a.setup for a in arms}) == len(arms)
    assert sum(len(a.model.batches_) for a in arms) == len(chat) - 2  # two repeated batches
    for arm in arms:
        assert isinstance(arm, ServingArm) and arm.setup.task == "lm-arena-chat"
        assert arm.source.startswith("imported: ML.ENERGY Leaderboard v3")
        assert arm.energy_scope == "gpu"
        assert "GPU energy only (no CPU, memory or network)" in arm.caveats
        assert PREFILL_NOTE in arm.caveats and IDLE_NOTE in arm.caveats
        assert arm.n_points == len(arm.model.batches_) >= 2
    b200 = serving_arms(rows, systems=["B200"], tasks=["gpqa"])
    assert b200 and all(a.setup.system == "B200" and a.setup.task == "gpqa" for a in b200)


def test_arms_from_a_dataframe():
    rows = pd.concat(
        [
            _setup_rows(),
            _setup_rows(system="B200"),
            _setup_rows(model="org/llm-70b", n_gpus=4, batches=(16,)),
        ],
        ignore_index=True,
    )
    arms = serving_arms(rows)
    assert [a.setup for a in arms] == sorted(a.setup for a in arms)
    assert [(a.setup.model, a.setup.system, a.n_points) for a in arms] == [
        ("org/llm-70b", "H100", 1),
        ("org/llm-8b", "B200", 3),
        ("org/llm-8b", "H100", 3),
    ]
    single = arms[0]
    assert ONE_POINT_NOTE in single.caveats
    assert single.setup.label == "org/llm-70b @ H100 x4 (bfloat16, chat)"
    for arm in arms:
        assert PREFILL_NOTE not in arm.caveats  # these rows have input lengths
        assert arm.source == "measured: nvml (vllm)"
    assert serving_arms(rows, systems=["A100"]) == []
    with pytest.raises(TypeError, match="Store or a DataFrame"):
        serving_arms([1, 2])


def test_flagged_rows_stay_out_of_a_dataframe():
    rows = _setup_rows(batches=(8, 64, 256, 1024))
    rows["flags"] = [[], [], [], ["implausible_gpu_power"]]
    (arm,) = serving_arms(rows)
    assert arm.n_points == 3 and arm.model.max_batch_ == 256.0


def test_arms_from_a_store(store_path):
    rows = _setup_rows(batches=(8, 32, 128, 512)).drop(columns="mean_input_tokens")
    rows["row_key"] = [f"level-{i}" for i in range(len(rows))]
    rows["flags"] = [[], [], [], ["implausible_gpu_power"]]
    store = Store(store_path)
    store.write_serving(RunRecord("serve-1", "serve", "test rows"), rows)
    (arm,) = serving_arms(store)
    assert arm.setup == ServingSetup("org/llm-8b", "H100", 1, "bfloat16", "chat", "vllm")
    assert tuple(vars(arm.setup)) == SETUP_COLUMNS
    assert arm.n_points == 3  # the flagged row stays out
    assert PREFILL_NOTE in arm.caveats  # no input lengths stored
    assert arm.model.cv_["energy_per_token_j"]["n"] == 3


def test_without_held_out_errors_the_predictions_are_the_same():
    rows = _setup_rows(batches=(8, 16, 64, 256, 512))
    (full,) = serving_arms(rows)
    (fast,) = serving_arms(rows, cv=False)
    assert full.model.cv_["energy_per_token_j"]["n"] > 0
    assert fast.model.cv_["energy_per_token_j"]["n"] == 0
    for batch in (4.0, 32.0, 300.0, 1024.0):
        assert fast.model.predict(batch) == full.model.predict(batch)
