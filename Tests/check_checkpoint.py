#!/usr/bin/env python3
"""Checks that a checkpoint written by xexp loads with `safetensors` and follows the documented names.

    swift run xexp-bench write-checkpoint /tmp/xexp-checkpoint.safetensors
    python3 Tests/check_checkpoint.py /tmp/xexp-checkpoint.safetensors

Needs only `pip install safetensors numpy`. Names (see Sources/XexpLearning/IO/Checkpoint.swift):
  <weight>                                   float32, HF LLaMA names (model.layers.N.self_attn.q_proj.weight, ...)
  optimizer.exp_avg.<weight>, optimizer.exp_avg_sq.<weight>   float32, same shape as the weight
  optimizer.step                             int64 [1]
  rng.state                                  int64 [3]   (Philox key, counter, words used)
  __metadata__: format = "pt", xexp.format = "1", step = "<int>", config = "<json>"
The expected weight names and shapes are derived from the config in the metadata.
Exits 0 when everything matches, 1 with one line per problem otherwise.
"""
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def expected_weights(c):
    w, i, v = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    heads, kv = c["num_attention_heads"], c["num_key_value_heads"]
    dh = w // heads
    shapes = {"model.embed_tokens.weight": (v, w), "model.norm.weight": (w,), "lm_head.weight": (v, w)}
    for layer in range(c["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        shapes.update({
            p + "input_layernorm.weight": (w,),
            p + "self_attn.q_proj.weight": (heads * dh, w),
            p + "self_attn.k_proj.weight": (kv * dh, w),
            p + "self_attn.v_proj.weight": (kv * dh, w),
            p + "self_attn.o_proj.weight": (w, heads * dh),
            p + "post_attention_layernorm.weight": (w,),
            p + "mlp.gate_proj.weight": (i, w),
            p + "mlp.up_proj.weight": (i, w),
            p + "mlp.down_proj.weight": (w, i),
        })
    return shapes


def main(path):
    problems = []
    with safe_open(path, framework="numpy") as f:
        meta = f.metadata() or {}
    tensors = load_file(path)
    for key in ("format", "xexp.format", "step", "config"):
        if key not in meta:
            problems.append(f"__metadata__ lacks {key!r}")
    if problems:
        return problems
    if meta["format"] != "pt" or not meta["step"].isdigit():
        problems.append(f"__metadata__ format={meta['format']!r} step={meta['step']!r}")
    config = json.loads(meta["config"])
    weights = expected_weights(config)
    expected = dict(weights)
    for name, shape in weights.items():
        expected["optimizer.exp_avg." + name] = shape
        expected["optimizer.exp_avg_sq." + name] = shape
    expected["optimizer.step"] = (1,)
    expected["rng.state"] = (3,)
    for name in sorted(set(expected) - set(tensors)):
        problems.append(f"missing tensor {name}")
    for name in sorted(set(tensors) - set(expected)):
        problems.append(f"unexpected tensor {name}")
    for name in sorted(set(expected) & set(tensors)):
        t = tensors[name]
        want_dtype = np.int64 if name in ("optimizer.step", "rng.state") else np.float32
        if tuple(t.shape) != tuple(expected[name]):
            problems.append(f"{name}: shape {tuple(t.shape)}, expected {tuple(expected[name])}")
        if t.dtype != want_dtype:
            problems.append(f"{name}: dtype {t.dtype}, expected {np.dtype(want_dtype)}")
        elif want_dtype == np.float32 and not np.isfinite(t).all():
            problems.append(f"{name}: non-finite values")
    if not problems:
        if tensors["optimizer.step"][0] < 1:
            problems.append("optimizer.step < 1 after training")
        if not (tensors["optimizer.exp_avg_sq.lm_head.weight"] > 0).any():
            problems.append("second moments are all zero: optimizer state was not saved")
    try:  # the file must also load in PyTorch when it is installed (not required in CI)
        from safetensors.torch import load_file as load_torch
        load_torch(path)
    except ImportError:
        pass
    return problems


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check_checkpoint.py <checkpoint.safetensors>")
    found = main(sys.argv[1])
    for p in found:
        print(f"{sys.argv[1]}: {p}")
    if found:
        sys.exit(1)
    print(f"{sys.argv[1]}: ok (names, shapes, dtypes, metadata)")
