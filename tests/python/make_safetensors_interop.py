#!/usr/bin/env python3
"""Checkpoints written by the official `safetensors` package, for the C++ loader to read.

Writes, under OUTDIR (tests/data/safetensors_interop):
  llama_bf16/model.safetensors            tiny-llama, every tensor BF16, one file
  llama_f32_sharded/model-0000i-of-00003.safetensors + model.safetensors.index.json
                                          tiny-llama, F32, three shards and an HF-style index
  gpt2_mixed/model.safetensors            tiny-gpt2, F16 weights and F32 layer norms, tied
                                          lm_head omitted (as save_pretrained does)
and, per case, manifest.json plus expected_<dtype>.bin: the bytes each tensor must have once
loaded into an arena of that dtype, computed here with numpy / ml_dtypes casts (the reference
the C++ casts are specified against). Tensor names and shapes follow Hugging Face's
LlamaForCausalLM and GPT2LMHeadModel for the tiny configurations of dsl/models.hpp; they are
spelled out here independently of the C++ declarations, so a naming drift fails the test.
Values: a fixed numpy RNG, scaled, plus a few large, tiny and exactly-representable values.
"""
import json
import os
import sys

import ml_dtypes
import numpy as np
from safetensors.numpy import save_file

NP_DTYPES = {
    "f32": np.float32,
    "bf16": ml_dtypes.bfloat16,
    "f16": np.float16,
    "f8_e4m3fn": ml_dtypes.float8_e4m3fn,
    "f8_e5m2": ml_dtypes.float8_e5m2,
}


def tiny_llama_shapes(vocab=128, hidden=64, layers=2, heads=4, kv_heads=2, ffn=96):
    head_dim = hidden // heads
    out = [("model.embed_tokens.weight", (vocab, hidden))]
    for i in range(layers):
        p = f"model.layers.{i}."
        out += [
            (p + "input_layernorm.weight", (hidden,)),
            (p + "self_attn.q_proj.weight", (heads * head_dim, hidden)),
            (p + "self_attn.k_proj.weight", (kv_heads * head_dim, hidden)),
            (p + "self_attn.v_proj.weight", (kv_heads * head_dim, hidden)),
            (p + "self_attn.o_proj.weight", (hidden, heads * head_dim)),
            (p + "post_attention_layernorm.weight", (hidden,)),
            (p + "mlp.gate_proj.weight", (ffn, hidden)),
            (p + "mlp.up_proj.weight", (ffn, hidden)),
            (p + "mlp.down_proj.weight", (hidden, ffn)),
        ]
    out += [("model.norm.weight", (hidden,)), ("lm_head.weight", (vocab, hidden))]
    return out


def tiny_gpt2_shapes(vocab=96, positions=32, hidden=32, layers=2):
    out = [("transformer.wte.weight", (vocab, hidden)), ("transformer.wpe.weight", (positions, hidden))]
    for i in range(layers):
        p = f"transformer.h.{i}."
        out += [
            (p + "ln_1.weight", (hidden,)),
            (p + "ln_1.bias", (hidden,)),
            (p + "attn.c_attn.weight", (hidden, 3 * hidden)),  # Conv1D: [in, out]
            (p + "attn.c_attn.bias", (3 * hidden,)),
            (p + "attn.c_proj.weight", (hidden, hidden)),
            (p + "attn.c_proj.bias", (hidden,)),
            (p + "ln_2.weight", (hidden,)),
            (p + "ln_2.bias", (hidden,)),
            (p + "mlp.c_fc.weight", (hidden, 4 * hidden)),
            (p + "mlp.c_fc.bias", (4 * hidden,)),
            (p + "mlp.c_proj.weight", (4 * hidden, hidden)),
            (p + "mlp.c_proj.bias", (hidden,)),
        ]
    out += [("transformer.ln_f.weight", (hidden,)), ("transformer.ln_f.bias", (hidden,))]
    return out


def values(rng, shape):
    v = (rng.standard_normal(shape, dtype=np.float32) * np.float32(0.05)).astype(np.float32)
    flat = v.reshape(-1)
    specials = np.array([1.0, -2.5, 300.0, -1e-6, 3.0e-5, 0.0, 7.0, 65504.0], dtype=np.float32)
    n = min(len(specials), flat.size)
    flat[:n] = specials[:n]
    return v


def write_case(root, name, model, tensors, file_dtype, targets, shards=1):
    """tensors: [(name, f32 array)]; file_dtype: name -> dtype key of the stored tensor."""
    d = os.path.join(root, name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    stored = {n: a.astype(NP_DTYPES[file_dtype(n)]) for n, a in tensors}
    names = [n for n, _ in tensors]
    if shards == 1:
        save_file(stored, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    else:
        per = -(-len(names) // shards)
        weight_map, total = {}, 0
        for s in range(shards):
            fname = f"model-{s + 1:05d}-of-{shards:05d}.safetensors"
            part = {n: stored[n] for n in names[s * per:(s + 1) * per]}
            save_file(part, os.path.join(d, fname), metadata={"format": "pt"})
            for n, a in part.items():
                weight_map[n] = fname
                total += a.nbytes
        with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
    manifest = {"model": model, "tensors": [[n, list(a.shape)] for n, a in tensors], "targets": {}}
    for t in targets:
        fname = f"expected_{t}.bin"
        with open(os.path.join(root, name + "." + fname), "wb") as f:
            for n in names:
                # What the loader must produce: the stored values, cast to the target via float32.
                with np.errstate(over="ignore", invalid="ignore"):  # 65504 -> e4m3fn is NaN by spec
                    f.write(stored[n].astype(np.float32).astype(NP_DTYPES[t]).tobytes())
        manifest["targets"][t] = name + "." + fname
    with open(os.path.join(root, name + ".manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


def main():
    root = sys.argv[1]
    os.makedirs(root, exist_ok=True)
    rng = np.random.default_rng(20240601)
    llama = [(n, values(rng, s)) for n, s in tiny_llama_shapes()]
    gpt2 = [(n, values(rng, s)) for n, s in tiny_gpt2_shapes()]
    write_case(root, "llama_bf16", "tiny-llama", llama, lambda n: "bf16", ["bf16", "f32", "f16"])
    write_case(root, "llama_f32_sharded", "tiny-llama", llama, lambda n: "f32",
               ["f32", "bf16", "f16", "f8_e4m3fn", "f8_e5m2"], shards=3)
    write_case(root, "gpt2_mixed", "tiny-gpt2", gpt2, lambda n: "f32" if ".ln_" in n else "f16", ["f32", "bf16"])
    with open(os.path.join(root, "cases.json"), "w") as f:
        json.dump(["llama_bf16", "llama_f32_sharded", "gpt2_mixed"], f)


if __name__ == "__main__":
    main()
