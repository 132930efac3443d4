"""`python -m measure meters | sweep | merge` from the command line: output and errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from measure.__main__ import main
from measure.meters import probe_all
from measure.sweep.cli import parse_grid


@pytest.mark.parametrize(
    "text, values",
    [
        ("8,16,...,2048", [8, 16, 32, 64, 128, 256, 512, 1024, 2048]),
        ("8,16,32", [8, 16, 32]),
        ("100,200,...,500", [100, 200, 300, 400, 500]),
        ("8", [8]),
    ],
)
def test_parse_grid(text, values):
    assert parse_grid(text) == values


@pytest.mark.parametrize(
    "text, problem",
    [
        ("8,...,64", "two values before"),
        ("8,16,...,100", "does not reach 100"),
        ("0,8", "positive"),
        ("16,8,...,4", "must increase"),
    ],
)
def test_parse_grid_errors(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_grid(text)


def test_meters_lists_every_meter_and_why(capsys):
    assert main(["meters"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line and not line[0].isspace()}
    assert set(lines) == {"nvml", "rapl", "estimate"}
    assert "works" in lines["estimate"]
    for name in ("nvml", "rapl"):  # on this machine: no GPU, no RAPL; each says why
        if "unavailable" in lines[name]:
            assert "fix:" in out


@pytest.mark.parametrize(
    "extra, text, code",
    [
        (["--meters", "joulescope"], "unknown meter", 2),
        (["--dtype", "int3"], "unknown dtype", 2),
        (["--meters", "nvml"], "nvml:", 1),  # no GPU here: says so, and how
        (["--model", "no/such-model-dir/x"], "cannot load model", 1),
        (["--device", "tpu"], "device 'tpu'", 2),
        (["--device", "cuda"], "sees no CUDA GPU", 2),  # CPU-only torch here
        (["--db", "{tmp}/a-file/x.duckdb"], "cannot create the store's folder", 2),
        (["--inputs", "8192"], "exceeds tiny-llama's context of 8192 tokens", 1),
    ],
)
def test_sweep_errors_are_one_line_without_traceback(
    tmp_path, capsys, extra, text, code, monkeypatch
):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # never download in tests
    base = [
        "sweep",
        "--db",
        str(tmp_path / "s.duckdb"),
        "--shard-dir",
        str(tmp_path),
        "--inputs",
        "8",
        "--outputs",
        "4",
        "--no-progress",
    ]
    if extra[:2] == ["--meters", "nvml"] and any(
        s.available for s in probe_all() if s.name == "nvml"
    ):
        pytest.skip("this machine has a working NVML")
    if extra == ["--device", "cuda"]:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    (tmp_path / "a-file").write_text("not a folder")
    extra = [e.replace("{tmp}", str(tmp_path)) for e in extra]
    assert main(base + extra) == code  # returns: no exception escapes
    err = capsys.readouterr().err
    assert text in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "s.duckdb").exists()  # nothing half-written
    assert list(tmp_path.glob("*.jsonl")) == []


def shard(path: Path, run_id: str, n: int) -> Path:
    records = [
        {
            "type": "header",
            "run_id": run_id,
            "config": {"system": "s"},
            "provenance": {"host": "h"},
            "config_hash": run_id,
        }
    ]
    records += [
        {
            "type": "trial",
            "trial_key": f"k{i}",
            "model": "m",
            "system": "s",
            "input_tokens": 8,
            "output_tokens": 8,
            "runtime_s": 0.1,
            "cpu_energy_j": 1.0,
            "energy_source": "estimated",
            "batch_size": 1,
            "flags": [],
        }
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_merge_ingests_good_shards_and_names_the_bad_one(tmp_path, store_path, capsys):
    good = shard(tmp_path / "a.jsonl", "run-a", 3)
    bad = tmp_path / "b.jsonl"
    bad.write_text(good.read_text().replace('"k1"', '"k1"}}'))
    assert main(["merge", str(good), str(bad), "--db", str(store_path)]) == 1
    captured = capsys.readouterr()
    assert f"{bad}, line 3" in captured.err
    assert "3 new rows" in captured.out
    assert main(["merge", str(tmp_path / "a.jsonl"), "--db", str(store_path)]) == 0
    assert "0 new rows" in capsys.readouterr().out
    assert main(["merge", str(tmp_path / "empty-dir"), "--db", str(store_path)]) == 1


def test_gpu_indices_start_at_zero(capsys):
    from measure.__main__ import SUBCOMMAND_MODULES
    from measure.cli import build_parser

    parser = build_parser("python -m measure", "", SUBCOMMAND_MODULES)
    assert parser.parse_args(["sweep", "--gpus", "0"]).gpus == [0]
    assert parser.parse_args(["sweep", "--gpus", "0,2"]).gpus == [0, 2]
    with pytest.raises(SystemExit):
        parser.parse_args(["sweep", "--gpus", "-1"])
    assert "GPU indices like 0" in capsys.readouterr().err
