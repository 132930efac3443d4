"""The committed serving catalogue (data/serving_catalogue.json): built from the shared
ML.ENERGY task files point for point, its stored held-out errors those the model gives,
read back into fitted serving arms with their citation and licence, and bad files named."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from measure.paths import PROJECT_ROOT
from planner.serving.embedded import (
    CITATION,
    DEFAULT_SERVING_CATALOGUE_PATH,
    LICENCE,
    ServingCatalogueError,
    _setup_key,
    build_embedded,
    dumps,
    load_embedded_serving,
    read_embedded,
)
from planner.serving.operating import OperatingPointModel
from planner.serving.setups import group_setups

SCRIPT = PROJECT_ROOT / "scripts" / "build_serving_catalogue.py"


@pytest.fixture(scope="module")
def mlenergy_dir(shared_reference_dir):
    path = shared_reference_dir.parent / "mlenergy-v3"
    if not (path / "tasks" / "lm-arena-chat.json").exists():
        pytest.skip(f"ML.ENERGY reference files absent ({path})")
    return path


def test_the_committed_points_are_the_shared_files_points(mlenergy_dir):
    committed = json.loads(DEFAULT_SERVING_CATALOGUE_PATH.read_text())
    rebuilt = build_embedded(mlenergy_dir, cv=False)
    strip = [{k: v for k, v in s.items() if k != "cv"} for s in committed["setups"]]
    assert strip == rebuilt["setups"]
    n = sum(len(s["points"]) for s in rebuilt["setups"])
    tasks = json.loads((mlenergy_dir / "tasks" / "lm-arena-chat.json").read_text())
    assert n >= len(tasks["configurations"])  # every configuration of every task
    assert committed["citation"] == CITATION and committed["licence"] == LICENCE == "Apache-2.0"


def test_stored_held_out_errors_are_the_models_own():
    catalogue = read_embedded()
    rows = catalogue.rows[catalogue.rows["model"] == "Qwen/Qwen3-8B"]
    setup, setup_rows = next(iter(group_setups(rows).items()))
    fresh = OperatingPointModel(cv=True).fit(setup_rows).cv_
    stored = catalogue.cv[_setup_key(setup)]
    for target, figures in fresh.items():
        assert stored[target]["n"] == figures["n"]
        assert stored[target]["median_ape"] == pytest.approx(figures["median_ape"], abs=1e-3)


def test_arms_load_fitted_with_their_source_and_caveats():
    arms = load_embedded_serving(tasks=["sourcegraph-fim"])
    assert {a.setup.task for a in arms} == {"sourcegraph-fim"} and len(arms) == 6
    for arm in arms:
        assert arm.source.startswith("imported: ML.ENERGY")
        assert arm.energy_scope == "gpu"
        assert any("prefill" in c for c in arm.caveats)
        assert arm.model.cv_ and arm.n_points == len(arm.model.batches_)
        top = arm.model.predict(arm.model.max_batch_)
        assert top.energy_per_token_j > 0 and top.throughput_tps > 0


def test_embedded_arms_carry_the_words_serving_arms_gives_the_same_rows():
    from planner.serving.catalogue import serving_arms

    catalogue = read_embedded()
    rows = catalogue.rows[catalogue.rows["model"] == "Qwen/Qwen3-8B"]
    embedded = {a.setup: a for a in load_embedded_serving() if a.setup.model == "Qwen/Qwen3-8B"}
    fitted = serving_arms(rows)
    assert fitted and set(embedded) == {a.setup for a in fitted}
    for arm in fitted:
        other = embedded[arm.setup]
        assert (other.source, other.energy_scope, other.caveats, other.n_points) == (
            arm.source,
            arm.energy_scope,
            arm.caveats,
            arm.n_points,
        )
        assert other.model.batches_ == pytest.approx(arm.model.batches_)


def test_a_bad_file_is_named(tmp_path):
    bad = tmp_path / "serving.json"
    bad.write_text("{not json")
    with pytest.raises(ServingCatalogueError, match="serving.json unreadable"):
        read_embedded(bad)
    content = json.loads(DEFAULT_SERVING_CATALOGUE_PATH.read_text())
    content["setups"][0]["points"][0] = [1.0]
    bad.write_text(dumps(content))
    with pytest.raises(ServingCatalogueError, match="setup 0 point 0 has 1 figures"):
        read_embedded(bad)


def test_the_build_script_names_a_missing_source_in_one_line(tmp_path):
    missing = subprocess.run(
        [sys.executable, str(SCRIPT), "--source", str(tmp_path), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 1 and missing.stderr.startswith("error: ")
    assert "lm-arena-chat.json not found" in missing.stderr
    assert not (tmp_path / "o").exists()
