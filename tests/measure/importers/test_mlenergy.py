"""Import of ML.ENERGY Leaderboard v3 JSON files into the ``serving`` table: hand-written
files here, the published ones from ../shared/reference/mlenergy-v3 where present."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from measure.__main__ import main
from measure.flags import DUPLICATE_FLAG
from measure.importers import MalformedFileError, import_mlenergy_file, is_json
from measure.importers.mlenergy import CITATION
from measure.paths import PROJECT_ROOT
from measure.store import Store

TASKS = ("lm-arena-chat", "gpqa", "sourcegraph-fim")
# Configurations per task, as the reference README states them.
README_COUNTS = {"lm-arena-chat": 328, "gpqa": 187, "sourcegraph-fim": 50}


def _config(**overrides) -> dict:
    """One task-file configuration (figures of Qwen3-8B on one H100, rounded)."""
    config = {
        "model_id": "Qwen/Qwen3-8B",
        "gpu_model": "H100",
        "num_gpus": 1,
        "tensor_parallel": 1,
        "expert_parallel": 1,
        "data_parallel": 1,
        "weight_precision": "bfloat16",
        "max_num_seqs": 8,
        "avg_batch_size": 7.9,
        "avg_output_len": 600.0,
        "energy_per_token_joules": 0.444,
        "energy_per_request_joules": 0.444 * 600.0,
        "avg_power_watts": 400.0,
        "output_throughput_tokens_per_sec": 900.0,
        "median_itl_ms": 8.2,
        "p90_itl_ms": 9.0,
        "p95_itl_ms": 10.0,
        "p99_itl_ms": 15.0,
        "nickname": "Qwen 3 8B",
        "total_params_billions": 8.2,
    }
    config.update(overrides)
    return config


def _task_file(path: Path, configs: list[dict], task: str = "lm-arena-chat") -> Path:
    path.write_text(json.dumps({"task": task, "task_display_name": "x", "configurations": configs}))
    return path


def _models_file(path: Path, configs: list[dict], task: str = "lm-arena-chat") -> Path:
    """The models/ shape of the same configurations: model, task and precision at the top,
    parallel degrees in a ``parallelization`` object."""
    moved = []
    for config in configs:
        config = dict(config)
        for key in ("model_id", "weight_precision", "nickname", "total_params_billions"):
            config.pop(key, None)
        config["parallelization"] = {
            k: config.pop(k) for k in ("tensor_parallel", "expert_parallel", "data_parallel")
        }
        config["parallelization"]["notes"] = ""
        config["output_length_distribution"] = {"bins": [1.0, 2.0], "counts": [3]}
        moved.append(config)
    document = {
        "model_id": configs[0]["model_id"],
        "task": task,
        "weight_precision": configs[0]["weight_precision"],
        "architecture": "Dense Transformer",
        "configurations": moved,
    }
    path.write_text(json.dumps(document))
    return path


def _store_is_empty(store: Store) -> bool:
    return store.serving().empty and store.runs().empty


# -- hand-written files (no ../shared needed) ----------------------------------------------
def test_task_file_maps_each_configuration_to_one_serving_row(tmp_path, store_path):
    configs = [_config(), _config(gpu_model="B200", max_num_seqs=64, avg_batch_size=60.0)]
    path = _task_file(tmp_path / "chat.json", configs)
    store = Store(store_path)
    summary = import_mlenergy_file(path, store)
    assert (summary.n_rows, summary.n_added, summary.already_present) == (2, 2, False)
    assert summary.rows_per_task_system == {"lm-arena-chat": {"B200": 1, "H100": 1}}
    rows = store.serving().set_index("row_key")
    row = rows.loc["configurations[0]"]
    assert (row["model"], row["system"], row["task"], row["engine"]) == (
        "Qwen/Qwen3-8B",
        "H100",
        "lm-arena-chat",
        "vllm",
    )
    assert (row["n_gpus"], row["tensor_parallel"], row["max_num_seqs"]) == (1, 1, 8)
    assert row["mean_batch"] == 7.9 and row["mean_output_tokens"] == 600.0
    assert row["energy_per_output_token_j"] == 0.444
    assert row["request_throughput_rps"] == pytest.approx(900.0 / 600.0)
    assert (row["itl_ms_p50"], row["itl_ms_p90"], row["itl_ms_p99"]) == (8.2, 9.0, 15.0)
    assert (row["energy_source"], row["energy_scope"]) == ("imported", "gpu")
    assert row["source_file"] == str(path) and row["source_position"] == "configurations[0]"
    assert list(row["flags"]) == []
    runs = store.runs()
    assert list(runs["kind"]) == ["serving-import"]
    provenance = json.loads(runs["provenance"].iloc[0])
    assert provenance["citation"] == CITATION and provenance["task"] == "lm-arena-chat"
    assert provenance["sha256"] == runs["source_sha256"].iloc[0]
    assert provenance["format"] == "ML.ENERGY Leaderboard v3 task file"
    # the same bytes again add nothing
    again = import_mlenergy_file(path, store)
    assert again.already_present and again.n_added == 0 and again.n_rows == 2
    assert len(store.serving()) == 2 and len(store.runs()) == 1


def test_one_citation_text_everywhere_the_mlenergy_figures_are_named(tmp_path, store_path):
    from measure.importers.cli import format_serving_summary
    from planner.fleet.registry import MLENERGY_CITATION
    from planner.serving import embedded

    summary = import_mlenergy_file(
        _task_file(tmp_path / "chat.json", [_config()]), Store(store_path)
    )
    # the import summary names the full citation, not a short form
    assert f"energy: imported, GPU only ({CITATION})" in format_serving_summary(summary)
    # the embedded catalogue and the registry use the importer's text, not a copy of it
    assert embedded.CITATION is CITATION
    assert MLENERGY_CITATION == f"index.json of {CITATION}"


def test_models_file_after_its_task_file_is_kept_but_flagged_duplicate(tmp_path, store_path):
    configs = [_config(max_num_seqs=n, energy_per_token_joules=4 / n) for n in (8, 16, 32)]
    for config in configs:
        config["energy_per_request_joules"] = config["energy_per_token_joules"] * 600.0
    store = Store(store_path)
    import_mlenergy_file(_task_file(tmp_path / "task.json", configs), store)
    # a models file with one configuration the task file does not have
    extra = _config(max_num_seqs=64, energy_per_token_joules=0.1, energy_per_request_joules=60)
    models = _models_file(tmp_path / "model.json", [*configs, extra])
    summary = import_mlenergy_file(models, store)
    assert summary.flag_counts == {DUPLICATE_FLAG: 3} and summary.n_added == 4
    assert summary.notes and "3 of 4" in summary.notes[0]
    rows = store.serving()
    mine = rows[rows["source_file"] == str(models)]
    # a models file's configurations take model, task and precision from the top level,
    # parallel degrees from their parallelization object
    assert set(mine["model"]) == {"Qwen/Qwen3-8B"} and set(mine["task"]) == {"lm-arena-chat"}
    assert set(mine["weight_precision"]) == {"bfloat16"}
    assert set(mine["tensor_parallel"]) == {1} and set(mine["data_parallel"]) == {1}
    clean = store.serving(include_flagged=False)
    assert len(store.serving()) == 7 and len(clean) == 4
    assert sorted(clean["max_num_seqs"]) == [8, 16, 32, 64]


def test_suspect_configurations_are_kept_and_flagged(tmp_path, store_path):
    configs = [
        _config(avg_batch_size=8.5),  # above max_num_seqs 8 by more than 5%
        _config(max_num_seqs=16, energy_per_request_joules=0.444 * 600.0 * 1.2),
        _config(max_num_seqs=32, p90_itl_ms=7.0),  # p90 below the median 8.2
        _config(max_num_seqs=64, avg_batch_size=8.3),  # 8.3 <= 8 x 1.05: fine
    ]
    store = Store(store_path)
    summary = import_mlenergy_file(_task_file(tmp_path / "odd.json", configs), store)
    flags = {r.row_key: list(r.flags) for r in store.serving().itertuples()}
    assert flags == {
        "configurations[0]": ["batch_above_limit"],
        "configurations[1]": ["energy_mismatch"],
        "configurations[2]": ["itl_p90_below_median"],
        "configurations[3]": [],
    }
    assert summary.flag_counts == {
        "batch_above_limit": 1,
        "energy_mismatch": 1,
        "itl_p90_below_median": 1,
    }
    assert list(store.serving(include_flagged=False)["row_key"]) == ["configurations[3]"]


def _replace(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


REFUSALS = {
    "bad_syntax": (
        lambda t: _replace(t, '"task": "lm-arena-chat",', '"task": "lm-arena-chat"'),
        "not valid JSON",
    ),
    "missing_field": (
        lambda t: json.dumps(
            {
                "task": "gpqa",
                "configurations": [
                    *[_config(max_num_seqs=n) for n in (1, 2, 4)],
                    {k: v for k, v in _config().items() if k != "energy_per_token_joules"},
                ],
            }
        ),
        "configurations[3]: missing field 'energy_per_token_joules'",
    ),
    "negative_energy": (
        lambda t: json.dumps({"task": "gpqa", "configurations": [_config(avg_power_watts=-5)]}),
        "configurations[0]: avg_power_watts must be zero or more",
    ),
    "nan_token": (
        lambda t: _replace(t, '"p99_itl_ms": 15.0', '"p99_itl_ms": NaN'),
        "not valid JSON: NaN",
    ),
    "text_number": (
        lambda t: _replace(t, '"avg_batch_size": 7.9', '"avg_batch_size": "7.9"'),
        "configurations[0]: avg_batch_size is not a number",
    ),
    "zero_gpus": (
        lambda t: _replace(t, '"num_gpus": 1', '"num_gpus": 0'),
        "configurations[0]: num_gpus must be positive",
    ),
    "fractional_gpus": (
        lambda t: _replace(t, '"num_gpus": 1', '"num_gpus": 1.5'),
        "configurations[0]: num_gpus must be a whole number",
    ),
    "zero_throughput": (
        lambda t: _replace(
            t, '"output_throughput_tokens_per_sec": 900.0', '"output_throughput_tokens_per_sec": 0'
        ),
        "output_throughput_tokens_per_sec must be positive",
    ),
    "array": (lambda t: "[1, 2]", "nor an ML.ENERGY Leaderboard v3 file"),
    "other_object": (lambda t: '{"models": {}}', "found an object with keys models"),
    "no_configurations": (
        lambda t: '{"task": "gpqa", "configurations": []}',
        "'configurations' is empty",
    ),
    "not_utf8": (lambda t: t.replace("Qwen 3 8B", "Qwen \udcff 8B"), "not UTF-8"),
}


@pytest.mark.parametrize("variant", sorted(REFUSALS))
def test_malformed_files_are_refused_naming_file_and_position(tmp_path, store_path, variant):
    edit, expected = REFUSALS[variant]
    text = json.dumps({"task": "lm-arena-chat", "configurations": [_config()]}, indent=1)
    path = tmp_path / f"{variant}.json"
    path.write_bytes(edit(text).encode("utf-8", "surrogateescape"))
    store = Store(store_path)
    with pytest.raises(MalformedFileError) as caught:
        import_mlenergy_file(path, store)
    assert str(caught.value).startswith(str(path))
    assert expected in str(caught.value)
    assert _store_is_empty(store)


def test_bad_syntax_names_line_and_column(tmp_path, store_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n "task": "gpqa",\n "configurations": [\n  {"model_id": }\n ]\n}\n')
    with pytest.raises(MalformedFileError) as caught:
        import_mlenergy_file(path, Store(store_path))
    assert caught.value.line == 4 and "(line 4, column 16)" in str(caught.value)


def test_json_is_told_from_csv_by_content(tmp_path):
    (tmp_path / "a.csv").write_text("Model,Phase\nx,inference\n")
    (tmp_path / "a.txt").write_bytes(b"\xef\xbb\xbf  \n{}")
    assert not is_json(tmp_path / "a.csv")
    assert is_json(tmp_path / "a.txt")  # a name says nothing; a byte-order mark is skipped
    assert not is_json(tmp_path / "missing.json")  # left to the importer to word the error


def test_cli_refuses_csv_options_for_a_json_file(tmp_path, store_path, capsys):
    path = _task_file(tmp_path / "t.json", [_config()])
    code = main(["import", str(path), "--db", str(store_path), "--dtype", "bfloat16"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: --kv-cache, --dtype") and "Traceback" not in err
    code = main(["import", str(path), "--db", str(store_path), "--system", "B200"])
    assert code == 1
    assert "configurations[0]: --system 'B200' differs" in capsys.readouterr().err
    assert _store_is_empty(Store(store_path))


# -- the published files (../shared/reference/mlenergy-v3) ---------------------------------
@pytest.fixture(scope="module")
def mlenergy_dir(shared_reference_dir) -> Path:
    folder = shared_reference_dir.parent / "mlenergy-v3"
    if not all((folder / "tasks" / f"{task}.json").exists() for task in TASKS):
        pytest.skip(f"ML.ENERGY reference files absent ({folder})")
    return folder


def _expected_counts(files) -> Counter:
    """(task, GPU kind) -> configurations, read straight from the JSON files."""
    counts: Counter = Counter()
    for path in files:
        document = json.loads(Path(path).read_text())
        for config in document["configurations"]:
            counts[config.get("task", document["task"]), config["gpu_model"]] += 1
    return counts


@pytest.fixture(scope="module")
def task_store(mlenergy_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("mlenergy") / "serving.duckdb"
    files = [str(mlenergy_dir / "tasks" / f"{task}.json") for task in TASKS]
    return Store(path), files


def test_task_files_import_one_row_per_configuration(task_store, capsys):
    store, files = task_store
    code = main(["import", *files, "--db", str(store.path), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["failed"] == []
    rows = store.serving()
    counted = Counter(zip(rows["task"], rows["system"], strict=True))
    expected = _expected_counts(files)
    assert counted == expected
    assert {t: sum(n for (task, _), n in counted.items() if task == t) for t in TASKS} == (
        README_COUNTS
    )
    per_file = {s["tasks"][0]: s["rows_per_task_system"] for s in out["imported"]}
    assert per_file == {
        task: {task: {system: n for (t, system), n in expected.items() if t == task}}
        for task in TASKS
    }
    assert rows["flags"].map(len).sum() == 0  # the published rows pass every check
    assert set(rows["energy_scope"]) == {"gpu"} and rows["mean_input_tokens"].isna().all()
    # re-importing the same bytes adds nothing
    code = main(["import", *files, "--db", str(store.path), "--json"])
    again = json.loads(capsys.readouterr().out)
    assert code == 0 and all(s["already_present"] for s in again["imported"])
    assert len(store.serving()) == sum(README_COUNTS.values()) and len(store.runs()) == 3


def test_models_files_after_task_files_are_all_flagged_duplicate(task_store, mlenergy_dir):
    store, files = task_store
    if store.serving().empty:
        main(["import", *files, "--db", str(store.path)])
    models = sorted((mlenergy_dir / "models").glob("*.json"))
    for path in models:
        summary = import_mlenergy_file(path, store)
        assert summary.flag_counts == {DUPLICATE_FLAG: summary.n_rows}, path.name
    rows = store.serving()
    n_models_rows = sum(len(json.loads(p.read_text())["configurations"]) for p in models)
    assert len(rows) == sum(README_COUNTS.values()) + n_models_rows
    clean = store.serving(include_flagged=False)
    assert len(clean) == sum(README_COUNTS.values())
    assert set(clean["source_file"]) == set(files)


def test_cli_lands_good_files_and_refuses_malformed_ones(mlenergy_dir, tmp_path):
    good = mlenergy_dir / "tasks" / "sourcegraph-fim.json"
    document = json.loads(good.read_text())
    bad_syntax = tmp_path / "bad_syntax.json"
    bad_syntax.write_text(good.read_text().replace('"configurations":', '"configurations"', 1))
    missing = json.loads(json.dumps(document))
    del missing["configurations"][3]["energy_per_token_joules"]
    (tmp_path / "missing.json").write_text(json.dumps(missing))
    negative = json.loads(json.dumps(document))
    negative["configurations"][7]["energy_per_request_joules"] = -1.0
    (tmp_path / "negative.json").write_text(json.dumps(negative))
    db = tmp_path / "cli.duckdb"
    bad = [str(tmp_path / n) for n in ("bad_syntax.json", "missing.json", "negative.json")]
    done = subprocess.run(
        [sys.executable, "-m", "measure", "import", *bad, str(good), "--db", str(db)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 3 and "Traceback" not in done.stderr
    assert errors[0].startswith(f"error: {bad[0]}: line ") and "not valid JSON" in errors[0]
    assert f"{bad[1]}: configurations[3]: missing field 'energy_per_token_joules'" in errors[1]
    assert f"{bad[2]}: configurations[7]: energy_per_request_joules must be" in errors[2]
    assert f"{good}: 50 serving configurations" in done.stdout
    assert "sourcegraph-fim: B200 34, H100 16" in done.stdout
    rows = Store(db).serving()
    assert len(rows) == 50 and set(rows["source_file"]) == {str(good)}
    assert len(Store(db).runs()) == 1
