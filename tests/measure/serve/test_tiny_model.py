"""`measure tiny-model`: the built-in tiny Llama as a folder a server (or a sweep) loads."""

from __future__ import annotations

import torch

from measure.__main__ import main
from measure.llm import TINY_CONFIG, build_tiny_llama, load_model


def test_tiny_model_folder_loads_and_never_stops_early(tmp_path, capsys):
    out = tmp_path / "tiny"
    assert main(["tiny-model", "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    loaded = load_model(str(out))
    # the same weights as the built-in model, but for the end token's zeroed output row
    built = build_tiny_llama(0)
    eos = TINY_CONFIG["eos_token_id"]
    same = torch.equal(loaded.model.model.embed_tokens.weight, built.model.embed_tokens.weight)
    assert same and not loaded.model.lm_head.weight[eos].any()
    # greedy decoding without min_new_tokens still gives every token asked for
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(out), local_files_only=True)
    ids = tokenizer("w5 w900 w17", return_tensors="pt")["input_ids"]
    assert ids.tolist() == [[5, 900, 17]]
    with torch.inference_mode():
        generated = loaded.model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=64, do_sample=False
        )
    assert generated.shape[1] - ids.shape[1] == 64
    assert eos not in generated[0, ids.shape[1] :].tolist()


def test_tiny_model_unwritable_folder_is_one_clear_error(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["tiny-model", "--out", str(blocker / "sub")]) == 1
    assert capsys.readouterr().err.startswith("error: cannot write the tiny model to")
