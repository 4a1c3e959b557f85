#!/usr/bin/env python3
"""Reads the checkpoints Blueprint saved (tests/unit/test_safetensors_interop.cpp) with the
official `safetensors` package and checks names, shapes, dtypes, bytes, metadata, header padding
and, for sharded saves, the index (file names, weight_map, total_size) against the raw reference
the C++ test wrote beside them.

usage: check_blueprint_save.py ROOT   (ROOT = tests/data/safetensors_interop/blueprint_saved)
"""
import json
import os
import re
import struct
import sys

import ml_dtypes  # noqa: F401  (registers bfloat16 / float8 with numpy for safetensors.numpy)
import numpy as np
from safetensors import safe_open

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def raw_header(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return n, json.loads(f.read(n))


def tensor_bytes(f, path, name, header, data_start):
    dtype = header[name]["dtype"]
    if dtype.startswith("F8"):  # safetensors.numpy cannot build float8 arrays: raw bytes
        b, e = header[name]["data_offsets"]
        with open(path, "rb") as g:
            g.seek(data_start + b)
            return g.read(e - b)
    return np.ascontiguousarray(f.get_tensor(name)).tobytes()


def check_case(root, case):
    d = os.path.join(root, case)
    expected = json.load(open(os.path.join(root, case + ".expected.json")))
    blob = open(os.path.join(root, case + ".expected.bin"), "rb").read()
    files = sorted(os.listdir(d))
    if expected["sharded"]:
        index = json.load(open(os.path.join(d, "model.safetensors.index.json")))
        shards = [x for x in files if x.endswith(".safetensors")]
        n = len(shards)
        check(n > 1, f"{case}: a sharded save has {n} files")
        check(shards == [f"model-{i + 1:05d}-of-{n:05d}.safetensors" for i in range(n)], f"{case}: shard names {shards}")
        weight_map = index["weight_map"]
        check(set(weight_map.values()) == set(shards), f"{case}: weight_map files {set(weight_map.values())}")
        total = sum(t["bytes"] for t in expected["tensors"])
        check(index["metadata"]["total_size"] == total, f"{case}: total_size {index['metadata']['total_size']} != {total}")
    else:
        check(files == ["model.safetensors"], f"{case}: files {files}")
        weight_map = {t["name"]: "model.safetensors" for t in expected["tensors"]}
    check(not any(x.startswith(".") for x in files), f"{case}: temporary files left: {files}")
    check(set(weight_map) == {t["name"] for t in expected["tensors"]}, f"{case}: tensor names differ")
    opened = {}
    at = 0
    for t in expected["tensors"]:
        name, file = t["name"], weight_map.get(t["name"])
        path = os.path.join(d, file)
        if file not in opened:
            n, header = raw_header(path)
            check(n % 8 == 0, f"{file}: header length {n} is not a multiple of 8")
            check(header.get("__metadata__") == {"format": "pt"}, f"{file}: __metadata__ {header.get('__metadata__')}")
            f = safe_open(path, framework="np")
            check(f.metadata() == {"format": "pt"}, f"{file}: metadata via safe_open")
            opened[file] = (f, header, 8 + n)
        f, header, data_start = opened[file]
        check(name in f.keys(), f"{case}: {name} missing from {file}")
        check(header[name]["dtype"] == t["dtype"], f"{name}: dtype {header[name]['dtype']} != {t['dtype']}")
        check(header[name]["shape"] == t["shape"], f"{name}: shape {header[name]['shape']} != {t['shape']}")
        if not t["dtype"].startswith("F8"):
            sl = f.get_slice(name)
            check(list(sl.get_shape()) == t["shape"], f"{name}: get_shape {sl.get_shape()}")
        got = tensor_bytes(f, path, name, header, data_start)
        check(got == blob[at:at + t["bytes"]], f"{case}: bytes of {name} differ")
        at += t["bytes"]
    check(at == len(blob), f"{case}: reference has {len(blob)} bytes, tensors {at}")
    for file, (f, header, _) in opened.items():
        listed = {k for k, v in weight_map.items() if v == file}
        check(set(f.keys()) == listed, f"{file}: holds {sorted(set(f.keys()) ^ listed)} unexpectedly")


def main():
    root = sys.argv[1]
    cases = json.load(open(os.path.join(root, "cases.json")))
    check(len(cases) >= 4, f"only {len(cases)} cases")
    for case in cases:
        check_case(root, case)
    if failures:
        print("\n".join(failures))
        sys.exit(1)
    print(f"checked {len(cases)} checkpoints saved by Blueprint with safetensors "
          f"{__import__('safetensors').__version__}: OK")


if __name__ == "__main__":
    main()
