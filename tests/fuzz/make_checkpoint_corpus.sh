#!/usr/bin/env bash
# The seeds of fuzz_checkpoint.cpp (tests/fuzz/checkpoint_corpus), written by the `blueprint`
# command itself: tiny-llama checkpoints, whole (f8, so that a seed is ~40 KB), sharded (index +
# one shard), and one cut down to its first tensors. Run by hand after a change of the format:
#   bash tests/fuzz/make_checkpoint_corpus.sh build/bin/blueprint
# Each seed is the harness's input: a mode byte (0: a single file, 1: index NUL shard), then
# the bytes.
set -euo pipefail
blueprint=$1
out=$(dirname "$0")/checkpoint_corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
"$blueprint" init tiny-llama --dtype f8_e4m3fn --seed 1 --save "$work/single" >/dev/null
{ printf '\x00'; cat "$work/single/model.safetensors"; } >"$out/single_f8"
# One shard named by an index (the harness holds one shard file), built from the single file's
# tensor names.
python3 - "$work/single/model.safetensors" "$out/index_one_shard" <<'PY'
import json, struct, sys
src, dst = sys.argv[1:3]
blob = open(src, "rb").read()
n = struct.unpack("<Q", blob[:8])[0]
names = [k for k in json.loads(blob[8:8 + n]) if k != "__metadata__"]
index = {"metadata": {"total_size": len(blob) - 8 - n},
         "weight_map": {k: "model-00001-of-00001.safetensors" for k in sorted(names)}}
open(dst, "wb").write(b"\x01" + json.dumps(index).encode() + b"\x00" + blob)
# The first two tensors only (header rewritten, data cut to them).
header = json.loads(blob[8:8 + n])
keep = sorted((k for k in header if k != "__metadata__"),
              key=lambda k: header[k]["data_offsets"][0])[:2]
end = max(header[k]["data_offsets"][1] for k in keep)
small = {"__metadata__": header.get("__metadata__", {}), **{k: header[k] for k in keep}}
text = json.dumps(small).encode()
text += b" " * ((8 - len(text) % 8) % 8)
open(dst.replace("index_one_shard", "two_tensors"), "wb").write(
    b"\x00" + struct.pack("<Q", len(text)) + text + blob[8 + n:8 + n + end])
PY
ls -l "$out"
