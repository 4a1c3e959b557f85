#!/usr/bin/env python3
"""`blueprint codegen` (issue 13, point 1): every config fixture — the published config.json
files (tests/data/configs) and transformers' tiny saves (tests/data/hf) — becomes a header that
compiles, whose static_asserts hold (the counts computed at generation time), generated twice
to the same bytes. A header edited by hand fails to compile with its sentence; an unsupported
config fails with the reader's error.

usage: cli_codegen_test.py BLUEPRINT CXX SOURCE_ROOT WORKDIR
"""
import os
import re
import shutil
import subprocess
import sys

blueprint, cxx, root, work = sys.argv[1:5]
shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
includes = [f"-I{root}/{c}/include" for c in ("kernels", "dsl", "codegen", "runtime")]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


configs = []
for base in ("tests/data/configs", "tests/data/hf"):
    for d in sorted(os.listdir(os.path.join(root, base))):
        if os.path.exists(os.path.join(root, base, d, "config.json")):
            configs.append(os.path.join(root, base, d))
check(len(configs) >= 15, f"only {len(configs)} config fixtures found")

headers = []
for i, config in enumerate(configs):
    namespace = f"gen{i}"
    out = os.path.join(work, f"model{i}.hpp")
    cmd = [blueprint, "codegen", config, "--namespace", namespace, "-o", out]
    r = subprocess.run(cmd, capture_output=True, text=True)
    check(r.returncode == 0, f"codegen {config}: {r.stderr.strip()}")
    if r.returncode != 0:
        continue
    again = subprocess.run([blueprint, "codegen", config, "--namespace", namespace],
                           capture_output=True, text=True)
    check(again.stdout == open(out).read(), f"codegen {config}: not deterministic")
    headers.append(out)

text = open(os.path.join(work, "model1.hpp")).read() if len(headers) > 1 else ""
# The published counts (issue 11) asserted in the generated headers.
expected = {"Qwen3-8B": "8'190'735'360", "Llama-3.1-8B-Instruct": "8'030'261'248",
            "DeepSeek-V3": "671'026'404'352", "gemma-7b": "8'537'680'896",
            "Phi-3-mini-4k-instruct": "3'821'079'552", "Qwen3-30B-A3B": "30'532'122'624"}
for i, config in enumerate(configs):
    name = os.path.basename(config)
    if name in expected:
        h = open(os.path.join(work, f"model{i}.hpp")).read()
        check(f"parameter_count() == {expected[name]}ull" in h,
              f"{name}: the header does not assert {expected[name]} parameters")
        check("do not edit" in h and "// vocab_size" in h, f"{name}: header text")

# Every header in one translation unit (one compile for all; each has its own namespace).
tu = os.path.join(work, "all.cpp")
with open(tu, "w") as f:
    for h in headers:
        f.write(f'#include "{h}"\n')
    f.write("int main() { return 0; }\n")
r = subprocess.run([cxx, "-std=c++20", "-fsyntax-only", *includes, tu], capture_output=True,
                   text=True)
check(r.returncode == 0, f"the generated headers do not compile:\n{r.stderr[-3000:]}")

# Edited by hand: one more layer, and the header says it must be regenerated.
qwen = next(i for i, c in enumerate(configs) if os.path.basename(c) == "Qwen3-8B")
edited = os.path.join(work, "edited.hpp")
h = open(os.path.join(work, f"model{qwen}.hpp")).read()
h2 = re.sub(r"\.layers = (\d+),", lambda m: f".layers = {int(m.group(1)) + 1},", h, count=1)
check(h2 != h, "no .layers field to edit")
open(edited, "w").write(h2)
r = subprocess.run([cxx, "-std=c++20", "-fsyntax-only", *includes, edited], capture_output=True,
                   text=True)
check(r.returncode != 0 and "regenerate it with blueprint codegen" in r.stderr,
      f"an edited header compiles, or without its sentence: {r.stderr[-1500:]}")

# An unsupported config: the reader's error, no header.
bad = os.path.join(work, "bert")
os.makedirs(bad)
open(os.path.join(bad, "config.json"), "w").write('{"model_type": "bert", "vocab_size": 10}')
out = os.path.join(work, "bert.hpp")
r = subprocess.run([blueprint, "codegen", bad, "-o", out], capture_output=True, text=True)
check(r.returncode != 0 and "model_type" in r.stderr and "bert" in r.stderr and
      not os.path.exists(out), f"an unsupported config: rc={r.returncode} {r.stderr.strip()}")

if failures:
    sys.exit(1)
print(f"{len(headers)} generated headers compile, deterministic; edits and bad configs refused")
