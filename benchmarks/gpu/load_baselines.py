#!/usr/bin/env python3
"""The same safetensors checkpoint loaded onto the GPU by safetensors, Transformers and Blueprint.

bench_gpu_load.cu measures Blueprint's loader against the machine's limits; this script puts
it beside what a PyTorch user would run instead, on the same checkpoint and the same GPU:

  safetensors      safetensors.torch.load_file(f, device="cuda") for every shard file
  from_pretrained  transformers.AutoModelForCausalLM.from_pretrained(DIR, device_map="cuda",
                   bf16) (without accelerate: loaded on the CPU, then .to("cuda"), and said so)
  blueprint        bench_gpu_load --e2e MODEL --dir DIR
  from_pretrained_map  from_pretrained(DIR, device_map="auto", max_memory={0: B, "cpu": "512GiB"},
                   bf16): GPU 0 holds blocks up to B (--map-gpu-bytes, default half the
                   checkpoint), the host the rest (accelerate's offload)
  blueprint_map    bench_gpu_load --e2e MODEL --dir DIR --gpu-budget B: the same device map
  fastsafetensors  fastsafetensors (PyPI, IBM): SafeTensorsFileLoader(SingleGroup(), cuda:0,
                   nogds=True), add_filenames, copy_files_to_device, get_tensor for every name;
                   where it is installed (tests/gpu/run.sh installs a wheel that
                   tests/gpu/build_here.sh carries), otherwise reported as skipped

  load_baselines.py --model llama3-8b --dir DIR --ours build-gpu/bench_gpu_load \
                    [--reps 3] [--csv FILE] [--modes safetensors,from_pretrained,blueprint]

How it is timed. The checkpoint's files are read once first, so every load is from the page
cache (the loaders are compared, not the disk). Each run is a fresh process; two times are
taken: end-to-end, from spawn to the moment the child prints its ready line (imports, CUDA
context and load included, process teardown not), and in-process, which the child measures
itself around the load alone (after its imports and after the CUDA context exists), ending
with torch.cuda.synchronize() (Blueprint's materialize synchronizes). Each figure is the median
of --reps runs. GB/s is the checkpoint's tensor bytes over the in-process time.

DIR must hold the checkpoint bench_gpu_load --make writes (bf16, Hugging Face names, sharded at
5 GB); a config.json for the model is written there when missing, so that from_pretrained works
offline. Children run with HF_HUB_OFFLINE=1. A mode that fails prints its error; the others go
on, and the exit status is 1.
"""
import argparse
import importlib.util
import csv
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_baselines import CONFIGS as TORCH_CONFIGS  # noqa: E402  (same hyper-parameters)

CONFIGS = dict(TORCH_CONFIGS)
CONFIGS.update({
    "llama2-7b": ("LlamaConfig", "LlamaForCausalLM",
                  dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008,
                       num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32,
                       max_position_embeddings=4096, tie_word_embeddings=False)),
    "tinyllama-1.1b": ("LlamaConfig", "LlamaForCausalLM",
                       dict(vocab_size=32000, hidden_size=2048, intermediate_size=5632,
                            num_hidden_layers=22, num_attention_heads=32, num_key_value_heads=4,
                            max_position_embeddings=2048, tie_word_embeddings=False)),
})

MODES = ("safetensors", "from_pretrained", "blueprint", "from_pretrained_map", "blueprint_map",
         "fastsafetensors")
OPTIONAL = {"fastsafetensors": "fastsafetensors"}  # mode -> the module it needs, if installed


# ---- the checkpoint --------------------------------------------------------------------------

def checkpoint_files(directory):
    """The checkpoint's .safetensors files (the index's shards, or model.safetensors)."""
    index = os.path.join(directory, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            names = sorted(set(json.load(f)["weight_map"].values()))
        return [os.path.join(directory, n) for n in names]
    single = os.path.join(directory, "model.safetensors")
    if os.path.exists(single):
        return [single]
    raise FileNotFoundError(f"no model.safetensors or model.safetensors.index.json in {directory}"
                            " (bench_gpu_load --make writes one)")


def tensor_bytes(path):
    """Bytes of the file's data region: the file less its 8-byte length and JSON header."""
    with open(path, "rb") as f:
        header = struct.unpack("<Q", f.read(8))[0]
    return os.path.getsize(path) - 8 - header


def warm_page_cache(files, threads=8, block=32 << 20):
    """Reads every file once, in blocks, on several threads (os.pread releases the GIL)."""
    jobs = [(p, o) for p in files for o in range(0, os.path.getsize(p), block)]

    def read(job):
        path, offset = job
        fd = os.open(path, os.O_RDONLY)
        try:
            return len(os.pread(fd, block, offset))
        finally:
            os.close(fd)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(read, jobs))
    seconds = time.perf_counter() - t0
    print(f"page cache warmed: {len(files)} files, {total / 1e9:.3f} GB read once in "
          f"{seconds:.2f} s; every load below is from the page cache", flush=True)


def ensure_config(model, directory):
    """Writes DIR/config.json (the Transformers config of `model`, bf16) when it is missing."""
    path = os.path.join(directory, "config.json")
    if os.path.exists(path):
        return
    import transformers
    config_cls, model_cls, kwargs = CONFIGS[model]
    config = getattr(transformers, config_cls)(**kwargs).to_dict()
    config["architectures"] = [model_cls]
    config["torch_dtype"] = "bfloat16"
    if "dtype" in config:  # the newer spelling (Transformers >= 4.56)
        config["dtype"] = "bfloat16"
    with open(path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
    print(f"wrote {path} ({config_cls}, bf16)", flush=True)


# ---- a child: one load -------------------------------------------------------------------------

def child(mode, directory, gpu_bytes=0):
    """Loads the checkpoint once; prints READY load_ms=... bytes=... and what it loaded."""
    t_start = time.perf_counter()
    import torch
    if mode == "safetensors":
        from safetensors.torch import load_file
    elif mode in ("from_pretrained", "from_pretrained_map"):
        import transformers
    elif mode == "fastsafetensors":
        from fastsafetensors import SafeTensorsFileLoader, SingleGroup
    else:
        raise SystemExit("unknown mode " + mode)
    files = checkpoint_files(directory)
    torch.zeros(1, device="cuda")  # the CUDA context exists before the clock starts
    torch.cuda.synchronize()
    t_context = time.perf_counter()

    t0 = time.perf_counter()
    if mode == "safetensors":
        tensors = {}
        for f in files:
            tensors.update(load_file(f, device="cuda"))
        torch.cuda.synchronize()
        t1 = time.perf_counter()
        nbytes = sum(t.numel() * t.element_size() for t in tensors.values())
        note = f"tensors={len(tensors)}"
    elif mode == "fastsafetensors":
        loader = SafeTensorsFileLoader(SingleGroup(), torch.device("cuda:0"), nogds=True)
        loader.add_filenames({0: files})
        buffers = loader.copy_files_to_device()
        tensors = {name: buffers.get_tensor(name) for name in buffers.key_to_rank_lidx}
        torch.cuda.synchronize()
        t1 = time.perf_counter()
        nbytes = sum(t.numel() * t.element_size() for t in tensors.values())
        note = f"tensors={len(tensors)} nogds"
    else:
        version = tuple(int(x) for x in transformers.__version__.split(".")[:2])
        dtype_kw = {"dtype" if version >= (4, 56) else "torch_dtype": torch.bfloat16}
        auto = transformers.AutoModelForCausalLM
        how = "device_map=cuda"
        map_kw = {"device_map": "cuda"}
        if mode == "from_pretrained_map":
            how = f"device_map=auto,max_memory={{0: {gpu_bytes}, cpu}}"
            map_kw = {"device_map": "auto", "max_memory": {0: gpu_bytes, "cpu": "512GiB"}}
        try:
            model, info = auto.from_pretrained(directory, output_loading_info=True, **map_kw,
                                               **dtype_kw)
        except (ImportError, ValueError) as e:  # device_map needs accelerate in some versions
            if "accelerate" not in str(e).lower():
                raise
            how = "cpu_then_to_cuda(no_accelerate)"
            t0 = time.perf_counter()
            model, info = auto.from_pretrained(directory, output_loading_info=True, **dtype_kw)
            model = model.to("cuda")
        torch.cuda.synchronize()
        t1 = time.perf_counter()
        params = {id(p): p for p in model.parameters()}
        nbytes = sum(p.numel() * p.element_size() for p in params.values())
        devices = ",".join(sorted({str(p.device) for p in params.values()}))
        dtypes = ",".join(sorted({str(p.dtype) for p in params.values()}))
        # A key that did not match would be initialized rather than loaded: say so.
        note = (f"how={how} devices={devices} dtypes={dtypes} "
                f"missing_keys={len(info.get('missing_keys', []))} "
                f"unexpected_keys={len(info.get('unexpected_keys', []))}")
    print(f"READY load_ms={1e3 * (t1 - t0):.1f} bytes={nbytes} "
          f"imports_ms={1e3 * (t_context - t_start):.1f} {note}", flush=True)


# ---- the parent --------------------------------------------------------------------------------

def fields(line):
    """The key=value tokens of a ready line."""
    return dict(t.split("=", 1) for t in line.split() if "=" in t)


def run_one(cmd, timeout, env):
    """Spawns cmd; returns (ms from spawn to its ready line, that line) or (None, error)."""
    with tempfile.TemporaryFile(mode="w+") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        timer = threading.Timer(timeout, p.kill)
        timer.start()
        ready_ms, line = None, ""
        try:
            for out in p.stdout:
                if ready_ms is None and out.lower().startswith("ready"):
                    ready_ms = 1e3 * (time.perf_counter() - t0)
                    line = out.strip()
            rc = p.wait()
        finally:
            timer.cancel()
        if rc != 0 or ready_ms is None:
            err.seek(0)
            tail = err.read().strip().splitlines()[-3:]
            why = " | ".join(tail) or f"no ready line (exit {rc})"
            return None, (f"killed after {timeout} s: " if rc == -9 else "") + why
        return ready_ms, line


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", metavar="MODE", help=argparse.SUPPRESS)
    ap.add_argument("--model", default="llama3-8b", choices=sorted(CONFIGS))
    ap.add_argument("--dir", required=True, help="the checkpoint (bench_gpu_load --make)")
    ap.add_argument("--ours", default="build-gpu/bench_gpu_load")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--reps", type=int, default=3, help="runs per mode; the median is reported")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per run")
    ap.add_argument("--csv")
    ap.add_argument("--map-gpu-bytes", type=int, default=0,
                    help="GPU 0's budget in the device-map modes (default: half the checkpoint)")
    a = ap.parse_args()
    if a.child:
        child(a.child, a.dir, a.map_gpu_bytes)
        return 0

    files = checkpoint_files(a.dir)
    nbytes = sum(tensor_bytes(f) for f in files)
    print(f"{a.model}: {len(files)} files, {nbytes / 1e9:.3f} GB of tensors in {a.dir}; "
          f"median of {a.reps} runs, each a fresh process", flush=True)
    modes = a.modes.split(",")
    gpu_bytes = a.map_gpu_bytes or nbytes // 2
    if "from_pretrained" in modes or "from_pretrained_map" in modes:
        try:
            ensure_config(a.model, a.dir)
        except Exception as e:  # from_pretrained will fail and say why; the others go on
            print(f"could not write config.json: {type(e).__name__}: {e}", flush=True)
    warm_page_cache(files)

    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_HUB_DISABLE_TELEMETRY="1")
    results = {}  # mode -> (in-process ms, end-to-end ms, last ready line) or (None, None, error)
    skipped = set()
    for mode in modes:
        if mode in OPTIONAL and importlib.util.find_spec(OPTIONAL[mode]) is None:
            print(f"  {mode:16s} skipped: {OPTIONAL[mode]} is not installed", flush=True)
            skipped.add(mode)
            results[mode] = (None, None, f"skipped: {OPTIONAL[mode]} is not installed")
            continue
        if mode == "blueprint":
            cmd = [a.ours, "--e2e", a.model, "--dir", a.dir]
        elif mode == "blueprint_map":
            cmd = [a.ours, "--e2e", a.model, "--dir", a.dir, "--gpu-budget", str(gpu_bytes)]
        else:
            cmd = [sys.executable, os.path.abspath(__file__), "--child", mode, "--dir", a.dir,
                   "--model", a.model, "--map-gpu-bytes", str(gpu_bytes)]
        inside, end_to_end, line = [], [], ""
        for _ in range(max(1, a.reps)):
            ready_ms, line = run_one(cmd, a.timeout, env)
            if ready_ms is None:
                break
            end_to_end.append(ready_ms)
            inside.append(float(fields(line)["load_ms"]))
            print(f"  {mode:16s} in-process {inside[-1]:9.1f} ms  end-to-end {ready_ms:9.1f} ms"
                  f"  | {line}", flush=True)
        if ready_ms is None:
            print(f"  {mode:16s} FAILED: {line}", flush=True)
            results[mode] = (None, None, line)
        else:
            results[mode] = (statistics.median(inside), statistics.median(end_to_end), line)

    ours = results.get("blueprint", (None, None, ""))
    print()
    print(f"{a.model} bf16 checkpoint -> GPU, from the page cache (median of {a.reps}):")
    print(f"{'mode':16s} {'in-process ms':>14s} {'end-to-end ms':>14s} {'GB/s':>8s}"
          f"   time / blueprint's (in-process, end-to-end)")
    rows = []
    for mode in modes:
        inside, e2e, line = results[mode]
        if inside is None:
            print(f"{mode:16s} {'SKIPPED' if mode in skipped else 'FAILED':>14s}")
            rows.append([a.model, mode, "", "", "", "", "", line])
            continue
        gbps = nbytes / inside / 1e6
        r_in = inside / ours[0] if ours[0] else None
        r_e2e = e2e / ours[1] if ours[1] else None
        ratios = (f"{r_in:6.2f}x {r_e2e:6.2f}x" if r_in is not None else "")
        print(f"{mode:16s} {inside:14.1f} {e2e:14.1f} {gbps:8.2f}   {ratios}")
        rows.append([a.model, mode, f"{inside:.1f}", f"{e2e:.1f}", f"{gbps:.3f}",
                     "" if r_in is None else f"{r_in:.3f}",
                     "" if r_e2e is None else f"{r_e2e:.3f}", line])
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["model", "mode", "in_process_ms", "end_to_end_ms", "gb_per_s",
                        "in_process_vs_blueprint", "end_to_end_vs_blueprint", "ready_line"])
            w.writerows(rows)
    return 0 if all(r[0] is not None for m, r in results.items() if m not in skipped) else 1


if __name__ == "__main__":
    sys.exit(main())
