#!/usr/bin/env python3
"""Device maps through `blueprint` (issue 14): `plan --device-map` (hf_device_map JSON, budgets,
KV reserve, errors) and `load --device-map` on the checked-in transformers fixtures
(tests/data/hf): host + disk tiers give the plain load's fingerprint, the offload file is gone
after the run, a same-dtype disk map is served in place, and a GPU tier is refused by the CPU
build with a sentence.

Usage: cli_device_map_test.py BLUEPRINT_BINARY SOURCE_DIR SCRATCH_DIR
Exit status 0 on success.
"""
import json
import os
import shutil
import subprocess
import sys


def run(*cmd, expect=0):
    r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=300)
    if r.returncode != expect:
        raise AssertionError(f"{' '.join(cmd)}: exit {r.returncode}, expected {expect}\n"
                             f"stdout: {r.stdout}\nstderr: {r.stderr}")
    return r


def main():
    blueprint, source, scratch = sys.argv[1:4]
    hf = os.path.join(source, "tests", "data", "hf")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    gib = 1 << 30

    # plan: Llama 3 70B over two 40 GiB GPUs, 64 GiB of host and disk, KV for 32768 tokens.
    p = json.loads(run(blueprint, "plan", "llama3-70b", "--device-map", "auto", "--max-memory",
                       "0=40GiB,1=40GiB,cpu=64GiB", "--offload-dir", scratch, "--reserve-kv",
                       "32768", "--gpu-reserve", "2GiB", "--json").stdout)
    m = p["hf_device_map"]
    assert all(f"model.layers.{i}" in m for i in range(80)), sorted(m)
    assert m["model.embed_tokens"] == 0 and m["model.layers.0"] == 0
    # 2 (K, V) x 8 kv heads x 128 x 32768 tokens x 2 bytes (bf16), per layer
    assert p["kv_bytes_per_layer"] == 2 * 8 * 128 * 32768 * 2, p["kv_bytes_per_layer"]
    devices = {d["name"]: d for d in p["devices"]}
    assert set(devices) == {"cuda:0", "cuda:1", "cpu", "disk"}, devices.keys()
    for name, budget in (("cuda:0", 40 * gib), ("cuda:1", 40 * gib), ("cpu", 64 * gib)):
        d = devices[name]
        assert d["budget_bytes"] == budget and d["used_bytes"] <= budget, d
        assert d["kv_cache_bytes"] == d["kv_layers"] * p["kv_bytes_per_layer"], d
    assert devices["cuda:0"]["reserve_bytes"] == 2 * gib
    assert devices["disk"]["weight_bytes"] > 0 and devices["disk"]["budget_bytes"] is None
    # Every layer's KV cache is somewhere; in order, no device goes back (lm_head aside).
    assert sum(d["kv_layers"] for d in devices.values()) == 80
    order = {0: 0, 1: 1, "cpu": 2, "disk": 3}
    ranks = [order[m[f"model.layers.{i}"]] for i in range(80)]
    assert ranks == sorted(ranks), ranks

    # Without a disk tier it cannot fit: the first unit that does not, and the bytes missing.
    r = run(blueprint, "plan", "llama3-70b", "--device-map", "auto", "--max-memory", "cpu=64GiB",
            expect=1)
    assert "does not fit" in r.stderr and "missing on cpu" in r.stderr, r.stderr
    r = run(blueprint, "plan", "qwen3-8b", "--device-map", '{"model.layer.30": "cpu"}', expect=1)
    assert "'model.layer.30' matches no tensor" in r.stderr, r.stderr
    r = run(blueprint, "plan", "qwen3-8b", "--device-map", "auto", "--max-memory", "0=4XB",
            expect=1)
    assert "--max-memory '0=4XB'" in r.stderr, r.stderr
    # An explicit map pins; the rest follows auto.
    p = json.loads(run(blueprint, "plan", "qwen3-8b", "--device-map",
                       '{"model.layers.30": "cpu", "lm_head": "disk"}', "--max-memory", "0=80GiB",
                       "--json").stdout)
    m = p["hf_device_map"]
    assert m["model.layers.30"] == "cpu" and m["lm_head"] == "disk" and m["model.layers.31"] == 0

    # load: host + disk tiers equal the plain load, bit for bit (fingerprint), cast on the way.
    for model, disk_prefix in (("qwen3", "model.layers.1"), ("gemma", "model.layers.0"),
                               ("qwen3_moe", "model.layers.1.mlp"), ("gpt2", "transformer.h.1")):
        d = os.path.join(hf, model)
        plain = json.loads(run(blueprint, "load", d, "--dtype", "bf16", "--json").stdout)
        off = os.path.join(scratch, "offload_" + model)
        mapped = json.loads(run(blueprint, "load", d, "--dtype", "bf16", "--device-map",
                                json.dumps({disk_prefix: "disk"}), "--offload-dir", off,
                                "--json").stdout)
        assert mapped["fingerprint"] == plain["fingerprint"], (model, mapped, plain)
        assert mapped["offload_bytes"] > 0, mapped
        assert mapped["report"]["loaded"] == plain["report"]["loaded"]
        assert not os.listdir(off), os.listdir(off)  # the offload file went with the model
        # The same-dtype checkpoint on disk: in place, nothing written.
        whole = json.loads(run(blueprint, "load", d, "--dtype", "auto", "--json").stdout)
        on_disk = json.loads(run(blueprint, "load", d, "--dtype", "auto", "--device-map", "disk",
                                 "--json").stdout)
        assert on_disk["fingerprint"] == whole["fingerprint"], model
        assert on_disk["in_place_bytes"] > 0 and on_disk["offload_bytes"] == 0, on_disk

    # A GPU tier in the CPU build: refused, naming the device and the way.
    r = run(blueprint, "load", os.path.join(hf, "qwen3"), "--device-map", "auto", "--max-memory",
            "0=1GiB", expect=1)
    assert "GPU tiers need the CUDA build" in r.stderr and "cuda:0" in r.stderr, r.stderr
    r = run(blueprint, "load", os.path.join(hf, "qwen3"), "--device-map", "auto", "--mesh",
            "tp=2", expect=1)
    assert "give one" in r.stderr, r.stderr
    print("cli_device_map: all checks passed")


if __name__ == "__main__":
    main()
