#!/usr/bin/env python3
"""Generates the PyTorch golden fixtures for XexpLearningTests (committed; CI never runs this).

    pip install torch numpy safetensors
    python3 Tests/make_learning_fixtures.py

Writes three files into Tests/XexpLearningTests/Fixtures/:
  ops.safetensors      every op: inputs, upstream gradient `gy`, output `y`, input gradients `d<name>`
  decoder.safetensors  one LLaMA-style decoder block (RMSNorm, GQA + RoPE + causal/padding mask, SwiGLU)
  adamw.safetensors    torch.optim.AdamW with two param groups, HF cosine-warmup schedule and
                       clip_grad_norm_, over several steps

Ops and the block are evaluated in float64 from float32-rounded inputs (so the reference carries no
float32 rounding of its own); AdamW runs in float32, exactly as torch does. Grids are stored channels-last
([B, H, W, C]), the layout xexp uses; conv weights keep torch's layout.
"""
import math
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "XexpLearningTests", "Fixtures")
torch.manual_seed(1234)
D = torch.float64


def rnd(*shape, scale=1.0):
    # float32-rounded values, returned as float64 leaves
    return (torch.randn(tuple(shape)) * scale).to(torch.float32).to(D)


def away_from_kinks(x):
    """Nudges values within 0.05 of 0 or ±3 (where ReLU/Hardswish/Hardsigmoid bend)."""
    for k in (0.0, 3.0, -3.0):
        near = (x - k).abs() < 0.05
        x = torch.where(near, x + 0.1, x)
    return x


ops = {}


def record(name, fn, inputs, extra=None, int_inputs=None):
    """Runs fn(**inputs) in float64 with grads, stores inputs, gy, y and d<input>."""
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    y = fn(**leaves)
    gy = rnd(*y.shape)
    y.backward(gy)
    for k, v in inputs.items():
        ops[f"{name}.{k}"] = v.to(torch.float32)
        ops[f"{name}.d{k}"] = leaves[k].grad.to(torch.float32)
    ops[f"{name}.y"] = y.detach().to(torch.float32)
    ops[f"{name}.gy"] = gy.to(torch.float32)
    for k, v in (int_inputs or {}).items():
        ops[f"{name}.{k}"] = v
    for k, v in (extra or {}).items():
        ops[f"{name}.{k}"] = v


nchw_to_nhwc = lambda t: t.permute(0, 2, 3, 1)
nhwc_to_nchw = lambda t: t.permute(0, 3, 1, 2)

# --- products -------------------------------------------------------------------------------------
record("matmul", lambda a, b: a @ b, {"a": rnd(2, 3, 4), "b": rnd(2, 4, 5)})
record("matmul_ta", lambda a, b: a.transpose(-1, -2) @ b, {"a": rnd(2, 4, 3), "b": rnd(2, 4, 5)})
record("matmul_tb", lambda a, b: a @ b.transpose(-1, -2), {"a": rnd(2, 3, 4), "b": rnd(2, 5, 4)})
record("matmul_shared", lambda a, b: a @ b, {"a": rnd(2, 3, 4), "b": rnd(4, 5)})
record("linear", lambda x, w, b: F.linear(x, w, b), {"x": rnd(2, 3, 5), "w": rnd(4, 5), "b": rnd(4)})
record("conv1x1", lambda x, w, b: nchw_to_nhwc(F.conv2d(nhwc_to_nchw(x), w, b)),
       {"x": rnd(2, 3, 3, 6), "w": rnd(5, 6, 1, 1), "b": rnd(5)})

# --- elementwise / broadcast ----------------------------------------------------------------------
record("add", lambda a, b: a + b, {"a": rnd(2, 3, 4), "b": rnd(4)})
record("sub", lambda a, b: a - b, {"a": rnd(2, 1, 4), "b": rnd(3, 1)})
record("mul", lambda a, b: a * b, {"a": rnd(2, 3, 3, 4), "b": rnd(2, 1, 1, 4)})
record("div", lambda a, b: a / b, {"a": rnd(2, 3, 4), "b": rnd(2, 3, 4).abs() + 0.5})

# --- activations ----------------------------------------------------------------------------------
act_x = away_from_kinks(rnd(4, 6, scale=2.5))
record("relu", lambda x: F.relu(x), {"x": act_x})
record("silu", lambda x: F.silu(x), {"x": act_x})
record("gelu", lambda x: F.gelu(x), {"x": act_x})
record("mish", lambda x: F.mish(x), {"x": act_x})
record("hardswish", lambda x: F.hardswish(x), {"x": act_x})
record("hardsigmoid", lambda x: F.hardsigmoid(x), {"x": act_x})
record("swiglu", lambda gate, up: F.silu(gate) * up, {"gate": rnd(3, 8), "up": rnd(3, 8)})
record("softmax", lambda x: torch.softmax(x, -1), {"x": rnd(3, 7)})

# --- normalisation --------------------------------------------------------------------------------
def rms(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

record("rmsnorm", rms, {"x": rnd(2, 3, 8), "w": rnd(8)})
record("layernorm", lambda x, w, b: F.layer_norm(x, (8,), w, b, 1e-5), {"x": rnd(2, 3, 8), "w": rnd(8), "b": rnd(8)})
# channel LayerNorm on NCHW (MobileVLM's LayerNormAct2d): permute → LayerNorm(C) → permute back
record("channel_layernorm",
       lambda x, w, b: nchw_to_nhwc(F.layer_norm(nhwc_to_nchw(x).permute(0, 2, 3, 1), (6,), w, b, 1e-5).permute(0, 3, 1, 2)),
       {"x": rnd(2, 3, 3, 6), "w": rnd(6), "b": rnd(6)})

# --- embedding, loss ------------------------------------------------------------------------------
ids = torch.tensor([[1, 4, 4], [0, 6, 2]], dtype=torch.int64)
record("embedding", lambda table: F.embedding(ids, table), {"table": rnd(7, 4)}, int_inputs={"ids": ids})
targets = torch.tensor([3, -100, 0, 9, -100, 5], dtype=torch.int64)
record("cross_entropy", lambda logits: F.cross_entropy(logits, targets, ignore_index=-100).reshape([]),
       {"logits": rnd(6, 10, scale=2)}, int_inputs={"targets": targets})

# --- attention and RoPE ---------------------------------------------------------------------------
def rope_ref(x, heads, offset, base=10000.0):
    b, t, w = x.shape
    dh = w // heads
    inv_freq = 1.0 / (base ** (torch.arange(0, dh, 2, dtype=torch.int64).float() / dh))  # float32, as HF
    pos = torch.arange(offset, offset + t).float()
    freqs = pos[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), -1)
    cos, sin = emb.cos().to(D), emb.sin().to(D)
    xh = x.view(b, t, heads, dh)
    x1, x2 = xh[..., : dh // 2], xh[..., dh // 2:]
    rot = torch.cat((-x2, x1), -1)
    return (xh * cos[None, :, None, :] + rot * sin[None, :, None, :]).reshape(b, t, w)


record("rope", lambda x: rope_ref(x, heads=2, offset=3), {"x": rnd(2, 5, 16)})


def attention_ref(q, k, v, heads, kv_heads, causal, key_padding=None, offset=0):
    b, t, _ = q.shape
    s = k.shape[1]
    dh = q.shape[2] // heads
    qh = q.view(b, t, heads, dh).transpose(1, 2)
    kh = k.view(b, s, kv_heads, dh).transpose(1, 2).repeat_interleave(heads // kv_heads, dim=1)
    vh = v.view(b, s, kv_heads, dh).transpose(1, 2).repeat_interleave(heads // kv_heads, dim=1)
    scores = qh @ kh.transpose(-1, -2) / math.sqrt(dh)
    allowed = torch.ones(b, 1, t, s, dtype=torch.bool)
    if causal:
        allowed = allowed & (torch.arange(s)[None, :] <= torch.arange(t)[:, None] + offset)
    if key_padding is not None:
        allowed = allowed & key_padding[:, None, None, :]
    scores = scores.masked_fill(~allowed, float("-inf"))
    p = torch.softmax(scores, -1)
    return (p @ vh).transpose(1, 2).reshape(b, t, heads * dh)


pad = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
record("attention_gqa", lambda q, k, v: attention_ref(q, k, v, 4, 2, True, pad),
       {"q": rnd(2, 5, 16), "k": rnd(2, 5, 8), "v": rnd(2, 5, 8)}, int_inputs={"key_padding": pad.to(torch.int64)})
record("attention_mha", lambda q, k, v: attention_ref(q, k, v, 2, 2, False),
       {"q": rnd(2, 3, 8), "k": rnd(2, 5, 8), "v": rnd(2, 5, 8)})
record("attention_offset", lambda q, k, v: attention_ref(q, k, v, 2, 1, True, offset=3),
       {"q": rnd(1, 2, 8), "k": rnd(1, 5, 4), "v": rnd(1, 5, 4)})

# --- convolution and pooling (channels-last storage) ----------------------------------------------
def dw(x, w, b, stride):
    return nchw_to_nhwc(F.conv2d(nhwc_to_nchw(x), w, b, stride=stride, padding=1, groups=w.shape[0]))

record("dwconv_s1_bias", lambda x, w, b: dw(x, w, b, 1), {"x": rnd(2, 5, 5, 4), "w": rnd(4, 1, 3, 3), "b": rnd(4)})
record("dwconv_s2", lambda x, w: dw(x, w, None, 2), {"x": rnd(2, 6, 6, 4), "w": rnd(4, 1, 3, 3)})
record("dwconv_s2_odd", lambda x, w: dw(x, w, None, 2), {"x": rnd(1, 5, 5, 3), "w": rnd(3, 1, 3, 3)})
record("adaptive_pool", lambda x: nchw_to_nhwc(F.adaptive_avg_pool2d(nhwc_to_nchw(x), 3)), {"x": rnd(2, 6, 6, 3)})
record("adaptive_pool_uneven", lambda x: nchw_to_nhwc(F.adaptive_avg_pool2d(nhwc_to_nchw(x), 3)), {"x": rnd(1, 5, 5, 2)})
record("global_pool", lambda x: x.mean(dim=(1, 2), keepdim=True), {"x": rnd(2, 4, 4, 3)})

record("patch_embed", lambda x, w, b: F.conv2d(nhwc_to_nchw(x), w, b, stride=2).flatten(2).transpose(1, 2),
       {"x": rnd(2, 4, 6, 3), "w": rnd(5, 3, 2, 2), "b": rnd(5)})

# --- shape ----------------------------------------------------------------------------------------
record("regroup", lambda x: x.reshape(2, 2, 12), {"x": rnd(2, 8, 3)})
record("concat", lambda a, b: torch.cat([a, b], 1), {"a": rnd(2, 3, 4), "b": rnd(2, 2, 4)})
record("slice", lambda x: x[:, 1:4, :], {"x": rnd(2, 6, 4)})

record("mean_axis", lambda x: x.mean(1), {"x": rnd(2, 5, 3)})
record("sum_axis_keep", lambda x: x.sum(2, keepdim=True), {"x": rnd(2, 3, 4)})
record("broadcast_cls", lambda cls, x: torch.cat([cls.expand(2, 1, 4), x], 1), {"cls": rnd(1, 1, 4), "x": rnd(2, 3, 4)})

save_file(ops, os.path.join(OUT, "ops.safetensors"))

# --- one LLaMA decoder block ----------------------------------------------------------------------
H, KV, DH, W, I, T = 4, 2, 8, 32, 48, 6
blk = {
    "x": rnd(2, T, W),
    "attn_norm": 1 + 0.1 * rnd(W), "q_proj": rnd(H * DH, W, scale=W ** -0.5), "k_proj": rnd(KV * DH, W, scale=W ** -0.5),
    "v_proj": rnd(KV * DH, W, scale=W ** -0.5), "o_proj": rnd(W, H * DH, scale=W ** -0.5),
    "mlp_norm": 1 + 0.1 * rnd(W), "gate_proj": rnd(I, W, scale=W ** -0.5), "up_proj": rnd(I, W, scale=W ** -0.5),
    "down_proj": rnd(W, I, scale=I ** -0.5),
}
blk_pad = torch.tensor([[1] * T, [1] * (T - 2) + [0] * 2], dtype=torch.bool)


def block(x, attn_norm, q_proj, k_proj, v_proj, o_proj, mlp_norm, gate_proj, up_proj, down_proj):
    h = rms(x, attn_norm)
    q = rope_ref(F.linear(h, q_proj), H, 0)
    k = rope_ref(F.linear(h, k_proj), KV, 0)
    v = F.linear(h, v_proj)
    x = x + F.linear(attention_ref(q, k, v, H, KV, True, blk_pad), o_proj)
    h = rms(x, mlp_norm)
    return x + F.linear(F.silu(F.linear(h, gate_proj)) * F.linear(h, up_proj), down_proj)


leaves = {k: v.clone().requires_grad_(True) for k, v in blk.items()}
y = block(**leaves)
gy = rnd(*y.shape)
y.backward(gy)
dec = {k: v.to(torch.float32) for k, v in blk.items()}
dec.update({f"d{k}": leaves[k].grad.to(torch.float32) for k in blk})
dec.update({"y": y.detach().to(torch.float32), "gy": gy.to(torch.float32), "key_padding": blk_pad.to(torch.int64)})
save_file(dec, os.path.join(OUT, "decoder.safetensors"),
          metadata={"heads": str(H), "kv_heads": str(KV), "head_dim": str(DH), "eps": "1e-5", "rope_base": "10000"})

# --- AdamW + cosine warmup + clipping (float32, torch's own implementation) -----------------------
STEPS, WARMUP_RATIO, MAX_NORM = 8, 0.25, 1.0
warmup = math.ceil(STEPS * WARMUP_RATIO)  # HF TrainingArguments.get_warmup_steps


def cosine_lambda(step):  # transformers.get_cosine_schedule_with_warmup, num_cycles=0.5
    if step < warmup:
        return step / max(1, warmup)
    progress = (step - warmup) / max(1, STEPS - warmup)
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))


p0 = torch.randn(4, 3).requires_grad_(True)
p1 = torch.randn(5).requires_grad_(True)
opt_fix = {"init.p0": p0.detach().clone(), "init.p1": p1.detach().clone()}
opt = torch.optim.AdamW([{"params": [p0], "lr": 1e-2, "weight_decay": 0.1},
                         {"params": [p1], "lr": 3e-3, "weight_decay": 0.0}], betas=(0.9, 0.999), eps=1e-8)
sched = torch.optim.lr_scheduler.LambdaLR(opt, cosine_lambda)
lrs = []
for step in range(STEPS):
    g0, g1 = torch.randn(4, 3) * (0.2 + step * 0.15), torch.randn(5) * 0.3
    opt_fix[f"grad.{step}.p0"], opt_fix[f"grad.{step}.p1"] = g0.clone(), g1.clone()
    p0.grad, p1.grad = g0, g1
    torch.nn.utils.clip_grad_norm_([p0, p1], MAX_NORM)
    lrs.append(opt.param_groups[0]["lr"])
    opt.step()
    sched.step()
    opt_fix[f"param.{step}.p0"], opt_fix[f"param.{step}.p1"] = p0.detach().clone(), p1.detach().clone()
opt_fix["lr_group0"] = torch.tensor(lrs, dtype=torch.float64)
opt_fix["final.exp_avg.p0"] = opt.state[p0]["exp_avg"].clone()
opt_fix["final.exp_avg_sq.p1"] = opt.state[p1]["exp_avg_sq"].clone()
save_file(opt_fix, os.path.join(OUT, "adamw.safetensors"),
          metadata={"steps": str(STEPS), "warmup_ratio": str(WARMUP_RATIO), "max_norm": str(MAX_NORM)})

total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
print(f"wrote fixtures to {OUT} ({total} bytes)")
