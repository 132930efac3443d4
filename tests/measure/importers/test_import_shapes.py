"""Synthetic files for the shapes not in ../shared: per-GPU columns, totals, bounds, options."""

from __future__ import annotations

import json

import pytest

from measure.__main__ import main
from measure.importers import MalformedFileError, import_file, parse_file
from measure.store import Store

MULTI_HEADER = (
    "Timestamp,Phase,Runtime (s),GPU-0 Energy (mJ),GPU-1 Energy (mJ),"
    "GPU-2 Energy (mJ),Output Token Limit,Number of Input Tokens,Iteration,Model,"
    "Number of GPUs,Prompt,Total Number of Tokens,Batch Size,System"
)


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def multi_gpu_file(tmp_path):
    rows = [
        MULTI_HEADER,  # line 1
        "1715265729.2,tokenizer,0.33,16443,14922,16148,32,0,0,falcon-40b,3,startup,0,32,"
        "argonne-swing",  # line 2
        "1715265990.1,start-inference-H-8,6.04,767612,783445,792081,8,1024,8,falcon-40b,3,"
        '"#include <alloca.h>\n#include <limits.h>\n#include <",1031,32,argonne-swing',  # 3-5
        "1715266003.1,start-inference-H-32,13.6,2627009,2627183,2562345,32,1024,32,falcon-40b,3,"
        '"say ""hi""",1054,32,argonne-swing',  # line 6
    ]
    return _write(tmp_path, "falcon-40b-argonne-swing-3.csv", "\n".join(rows) + "\n")


def test_multi_gpu_columns_are_summed_and_kept_per_device(tmp_path, store_path):
    path = multi_gpu_file(tmp_path)
    summary = import_file(path, Store(store_path))
    assert (summary.n_measurements, summary.n_startup) == (2, 1)
    assert summary.models == ["falcon-40b"] and summary.systems == ["argonne-swing"]
    rows = Store(store_path).measurements().sort_values("source_line")
    first, second = rows.iloc[0], rows.iloc[1]
    assert first["gpu_energy_j"] == pytest.approx((767612 + 783445 + 792081) / 1000.0)
    assert list(first["gpu_energy_per_device_j"]) == pytest.approx([767.612, 783.445, 792.081])
    assert first["n_gpus"] == 3
    assert (first["output_tokens"], first["input_tokens"]) == (8, 1024)  # Output Token Limit
    assert (first["source_line"], second["source_line"]) == (3, 6)  # records spanning lines
    assert first["trial_key"] == "3" and first["phase"] == "start-inference-H-8"
    assert first["iteration"] == 8 and list(first["flags"]) == []
    startup = Store(store_path).startup_phases()
    assert startup["gpu_energy_j"].iloc[0] == pytest.approx((16443 + 14922 + 16148) / 1000.0)


def test_n_gpus_from_per_gpu_columns_when_no_count_column(tmp_path, store_path):
    text = (
        "Phase,Runtime (s),GPU-0 Energy (J),GPU-1 Energy (J),Number of Output Tokens,"
        "Number of Input Tokens,Model\ninference-1,2.0,100,120,16,8,m\n"
    )
    import_file(_write(tmp_path, "two.csv", text), Store(store_path), system="box")
    row = Store(store_path).measurements().iloc[0]
    assert row["n_gpus"] == 2 and row["gpu_energy_j"] == pytest.approx(220.0)
    assert row["system"] == "box"


def test_total_column_disagreeing_with_per_gpu_sum_is_flagged(tmp_path, store_path):
    header = (
        "Phase,Runtime (s),GPU Energy (J),GPU-0 Energy (mJ),GPU-1 Energy (mJ),"
        "Number of Output Tokens,Number of Input Tokens,Model,System"
    )
    rows = [
        header,
        "inference-a,10,200.5,100000,100000,8,8,m,s",  # 0.25% off: fine
        "inference-b,10,210,100000,100000,8,8,m,s",  # 5% off: flagged
        "inference-c,10,,100000,100000,8,8,m,s",
    ]  # no total: nothing to check
    summary = import_file(_write(tmp_path, "t.csv", "\n".join(rows)), Store(store_path))
    assert summary.flag_counts == {"gpu_total_mismatch": 1}
    stored = Store(store_path).measurements().set_index("phase")
    assert list(stored.loc["inference-b", "flags"]) == ["gpu_total_mismatch"]
    assert stored.loc["inference-b", "gpu_energy_j"] == pytest.approx(200.0)  # per-GPU wins


def test_per_gpu_values_for_fewer_gpus_than_in_use_are_flagged(tmp_path, store_path):
    text = (
        "Phase,Runtime (s),GPU-0 Energy (J),GPU-1 Energy (J),GPU-2 Energy (J),"
        "Number of GPUs,Number of Output Tokens,Number of Input Tokens,Model,System\n"
        "inference-a,1,100,100,,2,8,8,m,s\n"  # 2 GPUs in use, third cell blank: fine
        "inference-b,1,100,,,2,8,8,m,s\n"
    )  # one value for 2 GPUs: sum is short
    summary = import_file(_write(tmp_path, "c.csv", text), Store(store_path))
    assert summary.flag_counts == {"gpu_count_mismatch": 1}
    rows = Store(store_path).measurements().set_index("phase")
    assert list(rows.loc["inference-b", "flags"]) == ["gpu_count_mismatch"]
    assert rows.loc["inference-a", "gpu_energy_j"] == pytest.approx(200.0)
    assert rows.loc["inference-a", "n_gpus"] == 2


def test_implausible_power_and_other_flags(tmp_path, store_path):
    header = (
        "Phase,Runtime (s),CPU Energy (J),GPU Energy (J),Number of GPUs,"
        "Number of Output Tokens,Number of Input Tokens,Model,System"
    )
    rows = [
        header,
        "inference-cpu,1.0,5000,100,1,8,8,m,s",  # 5 kW CPU
        "inference-gpu,1.0,10,1500,1,8,8,m,s",  # 1.5 kW on one GPU
        "inference-4gpu,1.0,10,3000,4,8,8,m,s",  # 750 W per GPU: plausible
        "inference-zero,0,10,100,1,8,8,m,s",
        "inference-neg,1.0,10,-5,1,8,8,m,s",
        "inference-none,1.0,,,1,8,8,m,s",
    ]
    summary = import_file(_write(tmp_path, "p.csv", "\n".join(rows)), Store(store_path))
    assert summary.flag_counts == {
        "implausible_cpu_power": 1,
        "implausible_gpu_power": 1,
        "missing_energy": 1,
        "negative_gpu_energy": 1,
        "nonpositive_runtime": 1,
    }
    flags = Store(store_path).measurements().set_index("phase")["flags"].map(list)
    assert flags["inference-cpu"] == ["implausible_cpu_power"]
    assert flags["inference-gpu"] == ["implausible_gpu_power"]
    assert flags["inference-4gpu"] == []
    assert flags["inference-zero"] == ["nonpositive_runtime"]
    assert len(Store(store_path).measurements(include_flagged=False)) == 1


def test_system_option_refuses_to_rename_the_files_system(tmp_path, store_path, capsys):
    path = multi_gpu_file(tmp_path)
    code = main(["import", str(path), "--db", str(store_path), "--system", "Swing AMD+A100"])
    err = capsys.readouterr().err
    assert code == 1 and not store_path.exists()
    assert "'argonne-swing'" in err and "line 2" in err and str(path) in err
    assert main(["import", str(path), "--db", str(store_path), "--system", "argonne-swing"]) == 0


def test_file_without_system_column_needs_system(tmp_path, store_path):
    text = "Phase,Runtime (s),GPU Energy (J),Number of Output Tokens,Number of Input Tokens,Model\n"
    path = _write(tmp_path, "nosys.csv", text + "inference,1,100,8,8,m\n")
    with pytest.raises(MalformedFileError, match="--system"):
        import_file(path, Store(store_path))
    assert not store_path.exists()


def test_kv_cache_dtype_and_batch_size_options(tmp_path, store_path, capsys):
    path = multi_gpu_file(tmp_path)
    code = main(
        [
            "import",
            str(path),
            "--db",
            str(store_path),
            "--kv-cache",
            "off",
            "--dtype",
            "bfloat16",
            "--batch-size-from-file",
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)["imported"][0]
    assert summary["n_added"] == 2 and summary["already_present"] is False
    rows = Store(store_path).measurements()
    assert (rows["kv_cache"] == False).all()  # noqa: E712 (a nullable boolean column)
    assert (rows["dtype"] == "bfloat16").all() and (rows["batch_size"] == 32).all()
    default = parse_file(path).measurements
    assert default["kv_cache"].isna().all() and (default["batch_size"] == 1).all()


def test_output_limit_and_generated_count_both_kept(tmp_path, store_path):
    text = (
        "Phase,Runtime (s),GPU Energy (mJ),Output Token Limit,Number of Output Tokens,"
        "Number of Input Tokens,Model,System\ninference,1,1000,64,58,8,m,s\n"
    )
    import_file(_write(tmp_path, "gen.csv", text), Store(store_path))
    row = Store(store_path).measurements().iloc[0]
    assert (row["output_tokens"], row["output_tokens_generated"]) == (64, 58)


def test_same_bytes_under_another_name_are_already_present(tmp_path, store_path):
    path = multi_gpu_file(tmp_path)
    store = Store(store_path)
    import_file(path, store)
    again = import_file(None, store, display_name="upload.csv", data=path.read_bytes())
    assert again.already_present and again.n_added == 0
    assert len(store.runs()) == 1 and len(store.measurements()) == 2
