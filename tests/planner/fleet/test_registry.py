"""The LLM registry: one identity per LLM under every name a source uses, and only facts
a public source gives."""

from __future__ import annotations

import json

import pytest

from planner.fleet.registry import ACCURACY_CITATION, LLMS, canonical_llm, lookup, normalise
from planner.fleet.spec import (
    ACCURACY_ALIASES,
    DEFAULT_ACCURACY,
    DEFAULT_DEVICES_PER_INSTANCE,
    PAPER_ACCURACY,
)


@pytest.mark.parametrize(
    "names, canonical",
    [
        (
            ("Mistral (7B)", "Mistral-7B-v0.1", "mistralai/Mistral-7B-v0.1", "mistral 7b"),
            "Mistral (7B)",
        ),
        (("Llama-2 (7B)", "Llama-2-7b-chat-hf", "meta-llama/Llama-2-7b-chat-hf"), "Llama-2 (7B)"),
        (("Falcon (7B)", "falcon-7b", "tiiuae/falcon-7b"), "Falcon (7B)"),
        (("Mixtral (8x7B)", "Mixtral-8x7B-v0.1"), "Mixtral (8x7B)"),
        (
            ("meta-llama/Llama-3.1-8B-Instruct", "Llama 3.1 8B Instruct"),
            "meta-llama/Llama-3.1-8B-Instruct",
        ),
        (("Qwen/Qwen3-8B", "Qwen3-8B"), "Qwen/Qwen3-8B"),
    ],
)
def test_every_spelling_is_one_llm(names, canonical):
    assert {canonical_llm(n) for n in names} == {canonical}


def test_unknown_names_are_their_own_llm_and_sizes_stay_apart():
    assert canonical_llm("my-finetune") == "my-finetune" and lookup("my-finetune") is None
    assert canonical_llm("Llama-2-13b-chat-hf") != canonical_llm("Llama-2-7b-chat-hf")
    assert canonical_llm("Falcon (40B)") != canonical_llm("falcon-7b")


def test_no_name_belongs_to_two_llms():
    seen = {}
    for info in LLMS:
        for name in info.names:
            assert seen.setdefault(normalise(name), info.name) == info.name, name


def test_the_papers_store_and_catalogue_names_resolve(shared_reference_dir):
    import csv

    names = set()
    for file in ("swing-a100-grid.csv", "systems-sweeps.csv"):
        with open(shared_reference_dir / file, newline="", encoding="utf-8") as fh:
            names |= {row["Model"] for row in csv.DictReader(fh) if row.get("Model")}
    assert names and all(lookup(n) is not None for n in names), names
    assert {canonical_llm(n) for n in names} <= set(DEFAULT_ACCURACY)


def test_ml_energy_names_resolve_to_what_its_index_says(shared_reference_dir):
    index = shared_reference_dir.parent / "mlenergy-v3" / "index.json"
    if not index.exists():
        pytest.skip("ML.ENERGY reference data absent")
    models = json.loads(index.read_text())["models"]
    known = [info for info in LLMS if info.name in models]
    assert len(known) >= 5
    for info in known:
        assert info.params_b == models[info.name]["total_params_billions"]
        assert lookup(models[info.name]["nickname"]) is info


def test_facts_carry_their_source_and_no_score_is_invented():
    scored = {i.name: i.accuracy for i in LLMS if i.accuracy is not None}
    assert scored == DEFAULT_ACCURACY
    assert (
        PAPER_ACCURACY
        == {n: a for n, a in scored.items() if lookup(n).accuracy_source == ACCURACY_CITATION}
        == {
            "Falcon (7B)": 44.17,
            "Falcon (40B)": 58.07,
            "Llama-2 (7B)": 50.97,
            "Llama-2 (13B)": 55.69,
            "Llama-2 (70B)": 64.52,
            "Mistral (7B)": 60.97,
            "Mixtral (8x7B)": 68.47,
        }
    )
    for info in LLMS:
        assert (info.accuracy is None) == (info.accuracy_source is None)
        assert (info.context_tokens is None) == (info.context_source is None)
        assert (info.devices_per_instance is None) == (info.devices_source is None)
    context = {n: lookup(n).context_tokens for n in ("falcon-7b", "falcon-40b", "Llama-2 (70B)")}
    assert context == {"falcon-7b": 2048, "falcon-40b": 2048, "Llama-2 (70B)": 4096}
    assert lookup("Mistral-7B-v0.1").context_tokens == 32768
    assert "sliding window of 4096" in lookup("Mistral-7B-v0.1").context_source
    assert lookup("Mixtral-8x7B-v0.1").context_tokens == 32768
    assert DEFAULT_DEVICES_PER_INSTANCE["Llama-2 (70B)"] == 4
    assert ACCURACY_ALIASES["Mistral-7B-v0.1"] == "Mistral (7B)" and len(ACCURACY_ALIASES) == 7


def test_the_built_in_tiny_model_has_its_config_context_and_no_score():
    from measure.llm import TINY_CONFIG

    tiny = lookup("tiny-llama")
    assert tiny.context_tokens == TINY_CONFIG["max_position_embeddings"]
    assert tiny.accuracy is None
