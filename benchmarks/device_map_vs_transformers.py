#!/usr/bin/env python3
"""Loads under device maps, Blueprint beside transformers, each in a fresh process.

Why a driver and not a Google Benchmark: peak memory is a property of a process, and
transformers' lazy mmap path and Blueprint's in-place disk tier both hand out views of a mapped
file, so the only fair comparison runs every case in a process of its own and reads its peak RSS
(the child's ru_maxrss) and its own "model ready" time. The checkpoint is a bf16 TinyLlama-1.1B
(2.2 GB) that `blueprint init tinyllama-1.1b --save` writes once, with its config.json, so both tools
read the same files; every case runs after one untimed read of the files (page cache warm).

Cases (each --reps times, the median reported):
  blueprint plain        blueprint load DIR                     one host arena, bytes copied
  blueprint disk         --device-map disk                      views of the checkpoint (no copy)
  blueprint auto         --device-map auto                      no GPU, same dtype: in place
  blueprint cpu+disk f16 --dtype f16 --max-memory cpu=1GiB --offload-dir D   cast, half written
                         to the offload file
  transformers default   AutoModelForCausalLM.from_pretrained(DIR, dtype=bfloat16)
  transformers cpu+disk  ... dtype=float16, device_map="auto", max_memory={"cpu": "1GiB"},
                         offload_folder=D

Usage:
  python3 benchmarks/device_map_vs_transformers.py --blueprint build/bin/blueprint \
      [--dir /tmp/bp_tinyllama] [--reps 3] [--csv out.csv]
"""
import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TRANSFORMERS_CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import torch
from transformers import AutoModelForCausalLM
t1 = time.perf_counter()
kw = json.loads(sys.argv[2])
if "dtype" in kw:
    kw["dtype"] = getattr(torch, kw["dtype"])
m = AutoModelForCausalLM.from_pretrained(sys.argv[1], **kw)
t2 = time.perf_counter()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": t2 - t1, "import_seconds": t1 - t0, "ready_peak_rss_bytes": rss,
                  "device_map": getattr(m, "hf_device_map", None)}))
"""


def run_child(argv):
    """Runs argv; returns (its JSON on stdout, wall seconds). Each child reports its own peak
    RSS at "model ready" in that JSON."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({p.returncode}):\n{err.decode()[-2000:]}")
    return json.loads(out.decode()), wall


def warm(dir_):
    for name in os.listdir(dir_):
        if name.endswith(".safetensors"):
            with open(os.path.join(dir_, name), "rb") as f:
                while f.read(8 << 20):
                    pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--blueprint", required=True, help="the blueprint command")
    ap.add_argument("--dir", default="/tmp/bp_tinyllama_bf16")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--csv")
    a = ap.parse_args()

    if not os.path.exists(os.path.join(a.dir, "config.json")):
        subprocess.run([a.blueprint, "init", "tinyllama-1.1b", "--dtype", "bf16", "--seed", "1",
                        "--save", a.dir], check=True, stdout=subprocess.DEVNULL)
    size = sum(os.path.getsize(os.path.join(a.dir, n)) for n in os.listdir(a.dir)
               if n.endswith(".safetensors"))
    offload = tempfile.mkdtemp(prefix="bp_offload_")

    cases = [
        ("blueprint", "plain", [a.blueprint, "load", a.dir, "--json"]),
        ("blueprint", "disk (in place)", [a.blueprint, "load", a.dir, "--device-map", "disk",
                                          "--json"]),
        ("blueprint", "auto, no GPU (in place)", [a.blueprint, "load", a.dir, "--device-map",
                                                  "auto", "--json"]),
        ("blueprint", "cpu=1GiB + disk, f16", [a.blueprint, "load", a.dir, "--dtype", "f16",
                                               "--device-map", "auto", "--max-memory",
                                               "cpu=1GiB", "--offload-dir", offload, "--json"]),
        ("transformers", "default (bf16)",
         [sys.executable, "-c", TRANSFORMERS_CHILD, a.dir, json.dumps({"dtype": "bfloat16"})]),
        ("transformers", "cpu=1GiB + disk, f16",
         [sys.executable, "-c", TRANSFORMERS_CHILD, a.dir,
          json.dumps({"dtype": "float16", "device_map": "auto", "max_memory": {"cpu": "1GiB"},
                      "offload_folder": offload})]),
    ]
    rows = []
    print(f"checkpoint {a.dir}: {size / 1e9:.2f} GB, {a.reps} runs per case, page cache warm")
    print(f"{'tool':<13} {'case':<26} {'load s':>8} {'wall s':>8} {'ready RSS MiB':>14}")
    for tool, name, argv in cases:
        loads, walls, rss = [], [], []
        for _ in range(a.reps):
            warm(a.dir)
            shutil.rmtree(offload, ignore_errors=True)
            os.makedirs(offload)
            j, wall = run_child(argv)
            loads.append(j["seconds"])
            walls.append(wall)
            rss.append(j.get("ready_peak_rss_bytes", j.get("peak_rss_bytes")))
        row = {"tool": tool, "case": name, "load_s": statistics.median(loads),
               "wall_s": statistics.median(walls), "ready_rss_mib": statistics.median(rss) / 2**20,
               "checkpoint_gb": size / 1e9}
        rows.append(row)
        print(f"{tool:<13} {name:<26} {row['load_s']:8.3f} {row['wall_s']:8.3f} "
              f"{row['ready_rss_mib']:14.0f}", flush=True)
    shutil.rmtree(offload, ignore_errors=True)
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)


if __name__ == "__main__":
    main()
