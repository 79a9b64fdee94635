#!/usr/bin/env python3
"""PyTorch peer of `xexp-bench train-step`: the same decoder-only LLaMA (4 layers, head dim 32,
kv heads = heads/2, SwiGLU width ceil32(8/3·W), vocab 1024, untied head), one forward + backward +
AdamW step, timed after one warm-up (median and best step). Prints one JSON line per configuration.

    python3 Benchmarks/train_step_torch.py --threads 1 --widths 128,256 --seqs 64,640 --batch 8

PyTorch gets its best CPU path: F.scaled_dot_product_attention (fused, causal) and AdamW(fused=True)
where available.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(t, dh, base=10000.0):
    inv = 1.0 / (base ** (torch.arange(0, dh, 2).float() / dh))
    f = torch.arange(t).float()[:, None] * inv[None, :]
    emb = torch.cat((f, f), -1)
    return emb.cos(), emb.sin()


def apply_rope(x, cos, sin):  # x: [B, H, T, Dh]
    h = x.shape[-1] // 2
    rot = torch.cat((-x[..., h:], x[..., :h]), -1)
    return x * cos + rot * sin


class Block(nn.Module):
    def __init__(self, w, heads, kv, inter):
        super().__init__()
        self.heads, self.kv, self.dh = heads, kv, w // heads
        self.input_layernorm = RMSNorm(w)
        self.q_proj = nn.Linear(w, heads * self.dh, bias=False)
        self.k_proj = nn.Linear(w, kv * self.dh, bias=False)
        self.v_proj = nn.Linear(w, kv * self.dh, bias=False)
        self.o_proj = nn.Linear(heads * self.dh, w, bias=False)
        self.post_attention_layernorm = RMSNorm(w)
        self.gate_proj = nn.Linear(w, inter, bias=False)
        self.up_proj = nn.Linear(w, inter, bias=False)
        self.down_proj = nn.Linear(inter, w, bias=False)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, t, self.heads, self.dh).transpose(1, 2)
        k = self.k_proj(h).view(b, t, self.kv, self.dh).transpose(1, 2)
        v = self.v_proj(h).view(b, t, self.kv, self.dh).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = self.heads // self.kv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.o_proj(a.transpose(1, 2).reshape(b, t, -1))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Decoder(nn.Module):
    def __init__(self, w, layers=4, vocab=1024):
        super().__init__()
        heads, kv, inter = w // 32, max(1, w // 64), (w * 8 // 3 + 31) // 32 * 32
        self.embed_tokens = nn.Embedding(vocab, w)
        self.layers = nn.ModuleList([Block(w, heads, kv, inter) for _ in range(layers)])
        self.norm = RMSNorm(w)
        self.lm_head = nn.Linear(w, vocab, bias=False)
        self.dh = w // heads

    def forward(self, ids, targets):
        cos, sin = rope_tables(ids.shape[1], self.dh)
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, cos, sin)
        logits = self.lm_head(self.norm(x))
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.view(-1))


def make_optimizer(model):
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}]
    try:
        return torch.optim.AdamW(groups, lr=1e-3, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(groups, lr=1e-3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--widths", default="128,256")
    ap.add_argument("--seqs", default="64,128,256,512,640")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=0, help="timed steps; 0 = at least 5 and about 3 s")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    for w in map(int, a.widths.split(",")):
        for s in map(int, a.seqs.split(",")):
            model = Decoder(w)
            opt = make_optimizer(model)
            data = torch.randint(0, 1024, (a.batch, s + 1))
            ids, targets = data[:, :-1].contiguous(), data[:, 1:].contiguous()

            def step():
                opt.zero_grad(set_to_none=True)
                model(ids, targets).backward()
                opt.step()

            step()
            times, cpu, start = [], [], time.perf_counter()
            while len(times) < (a.steps or 15):
                t0, c0 = time.perf_counter(), time.process_time()
                step()
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
                if not a.steps and len(times) >= 5 and time.perf_counter() - start > 3:
                    break
            times.sort()
            n = len(times)
            med = times[n // 2] if n % 2 else (times[n // 2 - 1] + times[n // 2]) / 2
            print(json.dumps({"width": w, "seq": s, "threads": a.threads, "ms": med * 1e3, "min_ms": times[0] * 1e3,
                              "min_cpu_ms": min(cpu) * 1e3,
                              "steps": n}), flush=True)


if __name__ == "__main__":
    main()
