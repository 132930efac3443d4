"""Serving rows in the store's shape and ML.ENERGY-shaped files for the capacity tests."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

# (model, system, n_gpus, [(batch, energy per token J, throughput tps, itl p90 ms)])
# Made-up but shaped like ML.ENERGY: energy per token falls and ITL rises with batch.
SETUPS = [
    ("Llama-2-7b-chat-hf", "H100", 1, [(8, 0.40, 900, 8.0), (64, 0.12, 4200, 20.0),
                                        (256, 0.07, 7800, 45.0)]),
    ("Llama-2-13b-chat-hf", "H100", 1, [(8, 0.70, 600, 10.0), (64, 0.22, 2800, 26.0),
                                         (256, 0.12, 5200, 60.0)]),
    ("Llama-2-7b-chat-hf", "B200", 1, [(8, 0.30, 1300, 6.0), (64, 0.09, 6500, 15.0),
                                        (256, 0.05, 12000, 35.0)]),
]  # fmt: skip


def serving_rows() -> pd.DataFrame:
    rows = []
    for model, system, gpus, points in SETUPS:
        for batch, e, tps, itl in points:
            rows.append(
                {
                    "model": model,
                    "system": system,
                    "n_gpus": gpus,
                    "weight_precision": "bfloat16",
                    "task": "lm-arena-chat",
                    "engine": "vllm",
                    "mean_batch": float(batch),
                    "max_num_seqs": batch,
                    "energy_per_output_token_j": e,
                    "output_throughput_tps": float(tps),
                    "itl_ms_p50": itl * 0.8,
                    "itl_ms_p90": itl,
                    "ttft_ms_p90": np.nan,
                    "energy_source": "imported",
                    "flags": [],
                }
            )
    return pd.DataFrame(rows)


def mlenergy_task_file(path) -> None:
    """A tiny ML.ENERGY Leaderboard v3 task file holding ``SETUPS``."""
    configs = []
    for model, system, gpus, points in SETUPS:
        for batch, e, tps, itl in points:
            out_len = 400.0
            configs.append(
                {
                    "activated_params_billions": 7.0,
                    "architecture": "Dense Transformer",
                    "avg_batch_size": batch * 0.99,
                    "avg_output_len": out_len,
                    "avg_power_watts": e * tps,
                    "data_parallel": 1,
                    "energy_per_request_joules": e * out_len,
                    "energy_per_token_joules": e,
                    "expert_parallel": 1,
                    "gpu_model": system,
                    "max_num_seqs": batch,
                    "median_itl_ms": itl * 0.8,
                    "model_id": model,
                    "nickname": model,
                    "num_gpus": gpus,
                    "output_throughput_tokens_per_sec": tps,
                    "p90_itl_ms": itl,
                    "p95_itl_ms": itl * 1.1,
                    "p99_itl_ms": itl * 1.3,
                    "tensor_parallel": gpus,
                    "total_params_billions": 7.0,
                    "weight_precision": "bfloat16",
                }
            )
    doc = {"configurations": configs, "task": "lm-arena-chat", "task_display_name": "Chat"}
    path.write_text(json.dumps(doc))
