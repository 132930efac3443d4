"""Accuracy scores in the registry: each one cited (benchmark, setting, URL), in percent, and
none invented for an LLM whose developer reports none."""

from __future__ import annotations

import json
import re

import pytest

from planner.fleet.registry import ACCURACY_CITATION, LLMS, MLENERGY_CITATION, lookup

URL = re.compile(r"https?://\S+")
BENCHMARKS = ("GPQA Diamond", "GPQA-Diamond", "Open LLM Leaderboard")

# The figures as read in the sources named in registry.py; a change must be deliberate.
MLENERGY_GPQA_DIAMOND = {
    "meta-llama/Llama-3.1-8B-Instruct": 31.8,
    "meta-llama/Llama-3.1-70B-Instruct": 48.0,
    "meta-llama/Llama-3.1-405B-Instruct": 49.0,
    "meta-llama/Llama-3.3-70B-Instruct": 50.5,
    "Qwen/Qwen3-8B": 62.0,
    "Qwen/Qwen3-14B": 64.0,
    "Qwen/Qwen3-32B": 68.4,
}


def _scored():
    return [info for info in LLMS if info.accuracy is not None]


def test_every_score_is_a_percentage_with_a_source_naming_its_benchmark():
    scored = _scored()
    assert len(scored) >= 14
    for info in scored:
        assert 0 < info.accuracy <= 100, info.name
        assert info.accuracy_source, info.name
        assert any(b in info.accuracy_source for b in BENCHMARKS), info.accuracy_source


def test_every_mlenergy_score_names_gpqa_diamond_its_setting_and_a_url():
    mlenergy = [info for info in _scored() if info.params_source == MLENERGY_CITATION]
    assert {info.name: info.accuracy for info in mlenergy} == MLENERGY_GPQA_DIAMOND
    for info in mlenergy:
        source = info.accuracy_source
        assert "GPQA Diamond" in source or "GPQA-Diamond" in source, source
        assert URL.search(source), source
        assert "shot" in source or "thinking" in source, source  # the setting, not just a name


def test_only_the_papers_scores_cite_the_paper_and_every_other_score_has_a_url():
    for info in _scored():
        if info.accuracy_source == ACCURACY_CITATION:
            # The paper's Open LLM Leaderboard averages, cited by its thesis table.
            assert info.params_source != MLENERGY_CITATION, info.name
        else:
            assert URL.search(info.accuracy_source), info.name


def test_hybrid_models_say_which_mode_their_score_is_for():
    for name in ("Qwen/Qwen3-8B", "Qwen 3 14B", "Qwen3-32B"):
        source = lookup(name).accuracy_source
        assert "thinking mode (non-thinking mode:" in source, source
        assert "2505.09388" in source


@pytest.mark.parametrize("name", ["Llama 3.1 8B Instruct", "meta-llama/Llama-3.3-70B-Instruct"])
def test_scores_are_found_under_every_name_of_the_llm(name):
    assert lookup(name).accuracy == MLENERGY_GPQA_DIAMOND[lookup(name).name]


def test_no_score_for_an_llm_without_one():
    assert lookup("tiny-llama").accuracy is None
    assert lookup("tiny-llama").accuracy_source is None


def test_scored_mlenergy_llms_are_those_the_leaderboard_lists(shared_reference_dir):
    index = shared_reference_dir.parent / "mlenergy-v3" / "index.json"
    if not index.exists():
        pytest.skip("ML.ENERGY reference data absent")
    models = json.loads(index.read_text())["models"]
    assert set(MLENERGY_GPQA_DIAMOND) <= set(models)
