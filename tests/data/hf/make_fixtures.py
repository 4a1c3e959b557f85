#!/usr/bin/env python3
"""Writes the Hugging Face fixtures the C++ tests read (tests/data/hf/<name>/): for a tiny config
of every supported family, the directory transformers' own save_pretrained writes
(config.json, generation_config.json, model.safetensors), plus buffers.safetensors with the
model's non-persistent buffers as transformers computes them (rotary inv_freq), and two
checkpoints in the hub's older layouts (GPT-2 without the `transformer.` prefix and with
attn.bias mask buffers, as openai-community/gpt2 stores it; Llama with per-layer
self_attn.rotary_emb.inv_freq, as Llama-2 checkpoints do).

Run by hand where torch and transformers are installed (CI only reads the files):

    python3 tests/data/hf/make_fixtures.py
"""
import json
import pathlib
import shutil

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModelForCausalLM

HERE = pathlib.Path(__file__).resolve().parent

# Tiny on purpose: the fixtures stay a few hundred KB. Every family feature is present
# (GQA, biases, tied heads, q/k norms, experts, fused projections, pad rows, rope scaling).
SMALL = dict(vocab_size=48, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
FIXTURES = {
    "gpt2": ("gpt2", dict(vocab_size=48, n_positions=32, n_embd=16, n_layer=2, n_head=4)),
    "llama": ("llama", dict(SMALL, attention_bias=True, mlp_bias=True, pad_token_id=3,
                            tie_word_embeddings=True)),
    "llama3": ("llama", dict(SMALL, rope_parameters=dict(
        rope_type="llama3", rope_theta=500000.0, factor=8.0, low_freq_factor=1.0,
        high_freq_factor=4.0, original_max_position_embeddings=16))),
    "mistral": ("mistral", dict(SMALL, head_dim=8)),
    "mixtral": ("mixtral", dict(SMALL, num_local_experts=4)),
    "qwen2": ("qwen2", dict(SMALL, rope_parameters=dict(rope_type="default", rope_theta=1e6))),
    "qwen3": ("qwen3", dict(SMALL, head_dim=8, pad_token_id=0)),
    "qwen3_moe": ("qwen3_moe", dict(SMALL, head_dim=4, num_experts=4, moe_intermediate_size=8,
                                    num_experts_per_tok=2)),
    "gemma": ("gemma", dict(SMALL, head_dim=8)),
    "gemma2": ("gemma2", dict(SMALL, head_dim=8)),
    "phi3": ("phi3", dict(SMALL, num_key_value_heads=4, pad_token_id=1)),
    "phi3_gqa": ("phi3", dict(SMALL, pad_token_id=1)),
    "deepseek_v3": ("deepseek_v3", dict(
        vocab_size=48, hidden_size=16, intermediate_size=24, moe_intermediate_size=8,
        num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2, n_routed_experts=4,
        n_shared_experts=1, first_k_dense_replace=1, q_lora_rank=8, kv_lora_rank=8,
        qk_rope_head_dim=8, qk_nope_head_dim=4, v_head_dim=4, n_group=2, topk_group=1,
        num_experts_per_tok=2, max_position_embeddings=256,
        rope_parameters=dict(rope_type="yarn", rope_theta=10000.0, factor=40.0, beta_fast=32,
                             beta_slow=1, mscale=1.0, mscale_all_dim=1.0,
                             original_max_position_embeddings=16))),
}


def buffers_of(model):
    state = model.state_dict()
    out = {}
    for name, buf in model.named_buffers():
        if name in state or "original_inv_freq" in name or buf.dim() == 0:
            continue
        out[name] = buf.detach().contiguous()
    return out


def main():
    torch.manual_seed(0)
    manifest = {"transformers": transformers.__version__, "torch": torch.__version__,
                "fixtures": {}}
    for name, (model_type, kwargs) in FIXTURES.items():
        out = HERE / name
        shutil.rmtree(out, ignore_errors=True)
        config = AutoConfig.for_model(model_type, **kwargs)
        model = AutoModelForCausalLM.from_config(config)
        model.save_pretrained(out)
        save_file(buffers_of(model), str(out / "buffers.safetensors"))
        manifest["fixtures"][name] = {
            "model_type": model_type,
            "parameters": sum(p.numel() for p in model.parameters()),
            "class": type(model).__name__,
        }
        if name == "gpt2":
            legacy_gpt2(model, config)
        if name == "llama":
            legacy_llama(model)
    rope_reference()
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


PUBLISHED = {"DeepSeek-V3": ("deepseek_v3", "DeepseekV3RotaryEmbedding"),
             "Qwen3-8B": ("qwen3", "Qwen3RotaryEmbedding"),
             "Qwen3-30B-A3B": ("qwen3_moe", "Qwen3MoeRotaryEmbedding"),
             "gemma-7b": ("gemma", "GemmaRotaryEmbedding"),
             "Llama-3.1-8B-Instruct": ("llama", "LlamaRotaryEmbedding"),
             "Phi-3-mini-4k-instruct": ("phi3", "Phi3RotaryEmbedding")}


def rope_reference():
    """inv_freq of the published configs in tests/data/configs, as transformers computes it
    (the rotary module alone: no weights)."""
    import importlib
    out = {}
    for name, (module, cls) in PUBLISHED.items():
        config = AutoConfig.from_pretrained(HERE.parent / "configs" / name)
        m = importlib.import_module(f"transformers.models.{module}.modeling_{module}")
        out[name] = getattr(m, cls)(config=config).inv_freq.detach().contiguous()
    save_file(out, str(HERE / "rope_reference.safetensors"))


def legacy_gpt2(model, config):
    """openai-community/gpt2's layout: no `transformer.` prefix, no lm_head, per-layer
    attn.bias (the causal mask) and attn.masked_bias buffers."""
    out = HERE / "gpt2_legacy"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    tensors = {}
    for k, v in model.state_dict().items():
        if k == "lm_head.weight":
            continue
        tensors[k.removeprefix("transformer.")] = v.detach().clone().contiguous()
    n = config.n_positions
    for i in range(config.n_layer):
        tensors[f"h.{i}.attn.bias"] = torch.tril(torch.ones(n, n)).view(1, 1, n, n)
        tensors[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4)
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    shutil.copy(HERE / "gpt2" / "config.json", out / "config.json")


def legacy_llama(model):
    """Llama-2's layout: every layer carries self_attn.rotary_emb.inv_freq."""
    out = HERE / "llama_legacy"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    tensors = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()
               if k != "lm_head.weight"}
    inv_freq = model.model.rotary_emb.inv_freq.detach().clone()
    for i in range(model.config.num_hidden_layers):
        tensors[f"model.layers.{i}.self_attn.rotary_emb.inv_freq"] = inv_freq.clone()
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})
    shutil.copy(HERE / "llama" / "config.json", out / "config.json")


if __name__ == "__main__":
    main()
