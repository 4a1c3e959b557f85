#!/usr/bin/env python3
"""MODEL as a Hugging Face model directory or config.json, end to end through `blueprint`
(issue 11): inspect, verify, load --dtype auto --json, plan, init --dtype auto --save, and
convert of a legacy layout into the canonical one, on the checked-in fixtures that
transformers' save_pretrained wrote (tests/data/hf).

Usage: cli_model_dir_test.py BLUEPRINT_BINARY SOURCE_DIR SCRATCH_DIR
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
    configs = os.path.join(source, "tests", "data", "configs")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)

    # inspect: a directory and a config.json path give the same table.
    a = json.loads(run(blueprint, "inspect", os.path.join(hf, "qwen3_moe"), "--json").stdout)
    b = json.loads(run(blueprint, "inspect", os.path.join(hf, "qwen3_moe", "config.json"),
                       "--json").stdout)
    assert a["model_type"] == "qwen3_moe" and a["tensors"] == b["tensors"], "inspect differs"
    names = {t["name"] for t in a["tensors"]}
    assert "model.layers.1.mlp.experts.3.down_proj.weight" in names
    assert "model.layers.0.self_attn.q_norm.weight" in names

    # verify: exit 0 when clean; 3 with differences (a config that is not this checkpoint's).
    run(blueprint, "verify", os.path.join(hf, "gemma2"))
    r = run(blueprint, "verify", os.path.join(hf, "gemma"), os.path.join(hf, "gemma2"), expect=3)
    assert "unexpected" in r.stdout

    # load --dtype auto --json, the checkpoint found beside config.json.
    j = json.loads(run(blueprint, "load", os.path.join(hf, "mixtral"), "--dtype", "auto",
                       "--json").stdout)
    assert j["report"]["missing"] == [] and j["report"]["unexpected"] == [], j["report"]
    assert j["report"]["loaded"] == 41

    # plan on a published config alone (no weights): DeepSeek-V3 over 512 ranks.
    r = run(blueprint, "plan", os.path.join(configs, "DeepSeek-V3", "config.json"), "--mesh",
            "pp=8,dp=8,tp=8", "--strategy", "fsdp", "--json")
    plan = json.loads(r.stdout)
    assert plan["world_size"] == 512, plan.keys()

    # init --dtype auto --save: the saved directory opens as a model directory again.
    out = os.path.join(scratch, "init")
    run(blueprint, "init", os.path.join(hf, "phi3"), "--dtype", "auto", "--save", out)
    config = json.load(open(os.path.join(out, "config.json")))
    assert config["model_type"] == "phi3" and config["torch_dtype"] == "float32", config
    assert os.path.exists(os.path.join(out, "generation_config.json"))
    run(blueprint, "verify", out)
    out = os.path.join(scratch, "init_builtin")
    run(blueprint, "init", "tiny-gemma", "--dtype", "bf16", "--save", out)
    config = json.load(open(os.path.join(out, "config.json")))
    assert config["model_type"] == "gemma" and config["dtype"] == "bfloat16", config
    run(blueprint, "verify", out)

    # convert: the original GPT-2 layout in, canonical names and config.json out.
    out = os.path.join(scratch, "converted")
    run(blueprint, "convert", os.path.join(hf, "gpt2_legacy"), out, "--dtype", "bf16")
    r = run(blueprint, "verify", out, "--json")
    report = json.loads(r.stdout)
    assert report["prefix"] == "" and report["ignored"] == [], report
    assert json.load(open(os.path.join(out, "config.json")))["torch_dtype"] == "bfloat16"

    # --missing init refuses a checkpoint of another model, and says how to override.
    r = run(blueprint, "load", "tiny-llama", os.path.join(hf, "gpt2"), "--missing", "init",
            expect=1)
    assert "refusing --missing init" in r.stderr and "--allow-unmatched" in r.stderr, r.stderr
    run(blueprint, "load", "tiny-llama", os.path.join(hf, "gpt2"), "--missing", "init",
        "--allow-unmatched")

    # Errors name the file and the key.
    bad = os.path.join(scratch, "bad")
    os.makedirs(bad)
    json.dump({"model_type": "mamba"}, open(os.path.join(bad, "config.json"), "w"))
    r = run(blueprint, "inspect", bad, expect=1)
    assert "config.json" in r.stderr and "mamba" in r.stderr and "qwen3" in r.stderr, r.stderr
    r = run(blueprint, "inspect", os.path.join(scratch, "nowhere"), expect=1)
    assert "built-in" in r.stderr, r.stderr
    print("cli model directory: all checks passed")


if __name__ == "__main__":
    main()
