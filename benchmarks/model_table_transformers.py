#!/usr/bin/env python3
"""The comparison of bench_model_table: transformers building a model from its config.json on
the meta device (names and shapes, no memory), the cheapest way a Python user gets the same
table. Prints seconds per model (minimum of 3). Run where torch and transformers are installed:

    python3 benchmarks/model_table_transformers.py
"""
import pathlib
import time

import torch
from transformers import AutoConfig, AutoModelForCausalLM

ROOT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "data" / "configs"
for name in ["DeepSeek-V3", "Qwen3-30B-A3B", "Llama-3.1-8B-Instruct"]:
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        config = AutoConfig.from_pretrained(ROOT / name)
        with torch.device("meta"):
            model = AutoModelForCausalLM.from_config(config)
        names = len(model.state_dict())
        best = min(best, time.perf_counter() - t0)
    print(f"{name}: {best:.3f} s ({names} state_dict entries, meta device)")
