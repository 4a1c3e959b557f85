#!/usr/bin/env python3
"""PyTorch and Lightning building the same models on the same GPU, beside Blueprint.

Each (model, mode) runs in a fresh process, timed from spawn to the moment the model is ready
on the GPU (parameters in bf16, initialized, torch.cuda.synchronize() done): the end-to-end
time a user waits. The child also reports its own build time (after its imports). Modes:

  cpu          Transformers on the CPU in float32 (HF init), then .to("cuda", torch.bfloat16)
  meta         on the meta device in bf16, to_empty(device="cuda"), then HF init on the GPU
               (model.apply(model._init_weights), rotary buffers recomputed)
  fabric       Lightning Fabric(precision="bf16-true").init_module(): built on the GPU in bf16
  cuda_direct  torch.device("cuda") + default dtype bf16 around the constructor (what Fabric
               does, without Lightning)
  blueprint    bench_gpu_init --e2e MODEL (the "blueprint init" program)

Models come from Transformers configs (no download): gpt2-xl (GPT2LMHeadModel) and llama3-8b
(LlamaForCausalLM). Nothing is installed; run by tests/gpu/run.sh.
"""
import argparse
import csv
import os
import subprocess
import sys
import time

CONFIGS = {
    "gpt2-xl": ("GPT2Config", "GPT2LMHeadModel",
                dict(vocab_size=50257, n_positions=1024, n_embd=1600, n_layer=48, n_head=25)),
    "gpt2": ("GPT2Config", "GPT2LMHeadModel",
             dict(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12)),
    "llama3-8b": ("LlamaConfig", "LlamaForCausalLM",
                  dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336,
                       num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8,
                       max_position_embeddings=8192, rope_theta=500000.0,
                       tie_word_embeddings=False)),
}


def child(mode, model_name):
    """Builds the model once; prints READY <build ms> <parameters> <bytes>."""
    t_start = time.perf_counter()
    import torch
    import transformers
    config_cls, model_cls, kwargs = CONFIGS[model_name]
    config = getattr(transformers, config_cls)(**kwargs)
    cls = getattr(transformers, model_cls)
    torch.cuda.init()
    torch.manual_seed(0)
    if mode == "fabric":
        try:
            from lightning.fabric import Fabric
        except ImportError:
            from lightning_fabric import Fabric
        fabric = Fabric(accelerator="cuda", devices=1, precision="bf16-true")
    t0 = time.perf_counter()
    if mode == "cpu":
        model = cls(config)  # float32 on the CPU, HF init in post_init()
        model = model.to("cuda", torch.bfloat16)
    elif mode == "meta":
        torch.set_default_dtype(torch.bfloat16)
        with torch.device("meta"):
            model = cls(config)
        model = model.to_empty(device="cuda")
        with torch.no_grad():
            model.apply(model._init_weights)
            for m in model.modules():  # non-persistent buffers are garbage after to_empty
                if hasattr(m, "rope_init_fn") and hasattr(m, "inv_freq"):
                    inv_freq, _ = m.rope_init_fn(m.config, torch.device("cuda"))
                    m.inv_freq.copy_(inv_freq)
        if hasattr(model, "tie_weights"):
            model.tie_weights()
    elif mode == "fabric":
        with fabric.init_module():
            model = cls(config)
    elif mode == "cuda_direct":
        torch.set_default_dtype(torch.bfloat16)
        with torch.device("cuda"):
            model = cls(config)
    else:
        raise SystemExit("unknown mode " + mode)
    torch.cuda.synchronize()
    t1 = time.perf_counter()
    params = {id(p): p for p in model.parameters()}
    n = sum(p.numel() for p in params.values())
    nbytes = sum(p.numel() * p.element_size() for p in params.values())
    dtypes = sorted({str(p.dtype) for p in params.values()})
    devices = sorted({str(p.device) for p in params.values()})
    print(f"READY {1e3 * (t1 - t0):.1f} {n} {nbytes} {','.join(dtypes)} {','.join(devices)} "
          f"imports_ms={1e3 * (t0 - t_start):.1f}", flush=True)


def run_one(cmd, timeout):
    """Spawns cmd; returns (seconds from spawn to the READY/ready line, that line, rc)."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"timed out after {timeout} s", -1
    wall = time.perf_counter() - t0
    line = next((l for l in p.stdout.splitlines() if l.lower().startswith("ready")), "")
    if p.returncode != 0 or not line:
        tail = (p.stderr or p.stdout).strip().splitlines()[-3:]
        return None, " | ".join(tail), p.returncode
    return wall, line, 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--child", nargs=2, metavar=("MODE", "MODEL"))
    ap.add_argument("--ours", default="build-gpu/bench_gpu_init")
    ap.add_argument("--models", default="gpt2-xl,llama3-8b")
    ap.add_argument("--modes", default="cpu,meta,fabric,cuda_direct,blueprint")
    ap.add_argument("--reps", type=int, default=1, help="runs per (model, mode); the fastest")
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--csv")
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return 0

    rows = []
    for model in a.models.split(","):
        for mode in a.modes.split(","):
            if mode == "blueprint":
                cmd = [a.ours, "--e2e", model]
            else:
                cmd = [sys.executable, os.path.abspath(__file__), "--child", mode, model]
            best = None
            for _ in range(max(1, a.reps)):
                wall, line, rc = run_one(cmd, a.timeout)
                if wall is not None and (best is None or wall < best[0]):
                    best = (wall, line)
                if wall is None:
                    best = best or (None, line)
                    break
            wall, line = best
            build_ms = ""
            if wall is not None:
                parts = line.split()
                build_ms = parts[1] if mode != "blueprint" else ""
            rows.append((model, mode, wall, build_ms, line))
            status = f"{wall:8.2f} s" if wall is not None else "  FAILED "
            print(f"  {model:10s} {mode:12s} {status}  {line}", flush=True)

    print()
    print(f"model      mode         end-to-end s   build ms   vs blueprint")
    for model in a.models.split(","):
        ours = next((r[2] for r in rows if r[0] == model and r[1] == "blueprint"), None)
        for r in rows:
            if r[0] != model:
                continue
            e2e = f"{r[2]:10.2f}" if r[2] is not None else "    FAILED"
            ratio = f"{r[2] / ours:8.1f}x" if (r[2] is not None and ours) else "        "
            print(f"{r[0]:10s} {r[1]:12s} {e2e}   {r[3]:>8s}   {ratio}")
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["model", "mode", "end_to_end_s", "build_ms", "child_line"])
            for r in rows:
                w.writerow([r[0], r[1], "" if r[2] is None else f"{r[2]:.3f}", r[3], r[4]])
    return 0 if all(r[2] is not None for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
