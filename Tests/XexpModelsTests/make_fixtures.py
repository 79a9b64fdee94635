#!/usr/bin/env python3
"""Generates the PyTorch golden fixtures for XexpModelsTests (committed; CI never runs this).

    pip install torch numpy safetensors
    python3 Tests/XexpModelsTests/make_fixtures.py

Writes into Tests/XexpModelsTests/Fixtures/:
  projectors.safetensors  each projector built as the reference code builds it, layer for layer and with the
                          reference's module names (LLaVA `linear` / `mlp2x_gelu`, MobileVLM `LDPNetProjector` /
                          `LDPNetV2Projector`, Xmodel-VLM `XDPNetProjector`), at Dv = 8, Dl = 32 on the 24x24 grid,
                          plus xexp's documented token-count generalisations (pooling), for several N.
                          One shared `input` [2, 576, 8]; per case `<case>.`: `grad_output`, `output`, `grad.input`,
                          `param.<name>` and `grad.param.<name>` for every parameter.
  vlm.safetensors         a tiny VLM (CLIP-style ViT without CLS -> XDP -> LLaMA decoder): images, two right-padded
                          examples with the <image> placeholder, LLaVA label masking; `param.<name>` (xexp/LLaVA
                          names), `logits`, `loss` and `grad.<name>` of every projector and LM parameter.

timm and torchvision are not needed: the three small classes MobileVLM takes from them
(torchvision `InvertedResidual` / `SqueezeExcitation` / `Conv2dNormActivation`, timm `LayerNormAct2d`) are
restated below with the same submodule indices, so state-dict names are the reference's. Everything runs in
float64 from float32-rounded values, so the reference adds no float32 rounding of its own.
"""
import math
import os
from functools import partial
from types import SimpleNamespace

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "Fixtures")
D = torch.float64
torch.manual_seed(4)


# ----------------------------------------------------------------------------------------------------------
# Reference building blocks (torchvision / timm, restated)


def make_divisible(v, divisor=8, min_value=None):
    """torchvision.models._utils._make_divisible"""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class LayerNormAct2d(nn.LayerNorm):
    """timm.layers.norm_act.LayerNormAct2d with act_layer=None: LayerNorm over channels of NCHW."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class SqueezeExcitation(nn.Module):
    """torchvision.ops.misc.SqueezeExcitation"""

    def __init__(self, input_channels, squeeze_channels, activation=nn.ReLU, scale_activation=nn.Sigmoid):
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(input_channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, input_channels, 1)
        self.activation = activation()
        self.scale_activation = scale_activation()

    def forward(self, x):
        s = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return s * x


def conv_norm_activation(cin, cout, kernel, stride, groups, norm_layer, activation_layer):
    """torchvision.ops.misc.Conv2dNormActivation (bias=False because a norm layer follows)."""
    layers = [nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False), norm_layer(cout)]
    if activation_layer is not None:
        layers.append(activation_layer())
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """torchvision.models.mobilenetv3.InvertedResidual for InvertedResidualConfig(c, 3, c, c, True, "HS", stride, 1, 1):
    expanded == input channels, so there is no expansion conv."""

    def __init__(self, c, stride, norm_layer, se_layer):
        super().__init__()
        self.use_res_connect = stride == 1
        self.block = nn.Sequential(
            conv_norm_activation(c, c, 3, stride, c, norm_layer, nn.Hardswish),
            se_layer(c, make_divisible(c // 4, 8)),
            conv_norm_activation(c, c, 1, 1, 1, norm_layer, None),
        )

    def forward(self, x):
        r = self.block(x)
        return r + x if self.use_res_connect else r


# ----------------------------------------------------------------------------------------------------------
# The projectors, as the reference repositories write them


class LDPBlock(nn.Module):
    """MobileVLM LDPBlock; `pool_to` is xexp's generalisation (None = the reference)."""

    def __init__(self, config, pool_to=None):
        super().__init__()
        inc, ouc = config.mm_hidden_size, config.hidden_size
        layer_norm = partial(LayerNormAct2d)
        se_layer = partial(SqueezeExcitation, scale_activation=nn.Hardsigmoid)
        self.mlp = nn.Sequential(nn.Identity(), nn.Linear(inc, ouc), nn.GELU(), nn.Linear(ouc, ouc))
        self.mb_block = nn.Sequential(
            nn.Identity(),
            InvertedResidual(ouc, 1, layer_norm, se_layer),
            InvertedResidual(ouc, 2, layer_norm, se_layer),
        )
        self.pool_to = pool_to

    def forward(self, x):
        b, num_tokens, c = x.shape
        h = int(math.sqrt(num_tokens))
        x = self.mlp(x)
        x = x.permute(0, 2, 1).reshape(b, -1, h, h)
        if self.pool_to is not None:
            x = F.adaptive_avg_pool2d(x, self.pool_to)
        x = self.mb_block(x)
        return x.flatten(2).permute(0, 2, 1)


class LDPNetProjector(nn.Module):
    def __init__(self, config, pool_to=None):
        super().__init__()
        self.model = LDPBlock(config, pool_to)

    def forward(self, x):
        return self.model(x)


class FeatureIRLayer(nn.Module):
    def __init__(self, in_dim, out_dim):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(in_dim, out_dim), nn.GELU(), nn.Linear(out_dim, out_dim))

    def forward(self, x):
        return self.mlp(x)


class TokenDownLayer(nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.dwn = nn.Sequential(nn.AdaptiveAvgPool2d(shape))

    def forward(self, x):
        b, num_tokens, c = x.shape
        h = int(math.sqrt(num_tokens))
        x = x.permute(0, 2, 1).reshape(b, -1, h, h)
        x = self.dwn(x)
        return x.flatten(2).transpose(1, 2)


class PosInjectLayer(nn.Module):
    def __init__(self, in_dim, out_dim, stride=1):
        super().__init__()
        self.peg = nn.Sequential(nn.Conv2d(in_dim, out_dim, 3, stride, 1, bias=True, groups=out_dim))

    def forward(self, x):
        b, num_tokens, c = x.shape
        h = int(math.sqrt(num_tokens))
        cnn_feat = x.transpose(1, 2).view(b, c, h, h)
        x = self.peg(cnn_feat) + cnn_feat
        return x.flatten(2).transpose(1, 2)


class LDPNetV2Projector(nn.Module):
    """MobileVLM v2; the reference's TokenDownLayer((12, 12)) becomes (k, k)."""

    def __init__(self, config, k=12):
        super().__init__()
        inc, ouc = config.mm_hidden_size, config.hidden_size
        self.mlp = FeatureIRLayer(inc, ouc)
        self.dwn = TokenDownLayer((k, k))
        self.peg = PosInjectLayer(ouc, ouc, stride=1)

    def forward(self, x):
        return self.peg(self.dwn(self.mlp(x)))


class XDPNetProjector(nn.Module):
    """Xmodel-VLM"""

    def __init__(self, config, factor=4):
        super().__init__()
        inc, ouc = config.mm_hidden_size, config.hidden_size
        self.shrink_factor = factor
        self.mlp = nn.Sequential(nn.Linear(inc * self.shrink_factor, ouc), nn.Mish(), nn.Linear(ouc, ouc))

    def forward(self, x):
        num_batches, num_tokens, hidden_size = x.shape
        x = x.view(num_batches, num_tokens // self.shrink_factor, hidden_size * self.shrink_factor)
        return self.mlp(x)


class Pooled(nn.Module):
    """xexp's Linear/MLP below 576 tokens: the reference module, then adaptive pooling to k x k.
    Registered as `inner` but saved without that prefix (the weights keep the reference names)."""

    def __init__(self, inner, k):
        super().__init__()
        self.inner = inner
        self.down = TokenDownLayer((k, k))

    def forward(self, x):
        return self.down(self.inner(x))


def build(kind, tokens, cfg):
    k = int(round(math.sqrt(tokens)))
    if kind == "linear":
        m = nn.Linear(cfg.mm_hidden_size, cfg.hidden_size)
    elif kind == "mlp":
        m = nn.Sequential(nn.Linear(cfg.mm_hidden_size, cfg.hidden_size), nn.GELU(), nn.Linear(cfg.hidden_size, cfg.hidden_size))
    elif kind == "ldp":
        return LDPNetProjector(cfg, None if k == 12 else (2 * k, 2 * k))
    elif kind == "ldpv2":
        return LDPNetV2Projector(cfg, k)
    elif kind == "xdp":
        return XDPNetProjector(cfg, factor=576 // tokens)
    return m if tokens == 576 else Pooled(m, k)


# ----------------------------------------------------------------------------------------------------------
# Helpers


def rnd(*shape, scale=1.0):
    return (torch.randn(tuple(shape)) * scale).to(torch.float32).to(D)


def randomize(module):
    """Every parameter non-trivial: norms near 1, everything else random (never zeros)."""
    for name, p in module.named_parameters():
        with torch.no_grad():
            if p.dim() == 1 and ("norm" in name or ".1.weight" in name and "block" in name or "layer_norm" in name):
                p.copy_(1 + rnd(*p.shape, scale=0.2))
            else:
                fan_in = p[0].numel() if p.dim() > 1 else p.numel()
                p.copy_(rnd(*p.shape, scale=1.5 / math.sqrt(max(fan_in, 1))))


def f32(t):
    return t.detach().to(torch.float32).contiguous()


def param_name(name):
    return name[len("inner."):] if name.startswith("inner.") else name


# ----------------------------------------------------------------------------------------------------------
# Projector fixtures

DV, DL = 8, 32
CASES = [
    ("linear", 576), ("linear", 144),
    ("mlp", 576), ("mlp", 36),
    ("ldp", 144), ("ldp", 36), ("ldp", 1),
    ("ldpv2", 144), ("ldpv2", 25),
    ("xdp", 576), ("xdp", 144), ("xdp", 36), ("xdp", 8),
]


def projector_fixtures():
    out = {}
    cfg = SimpleNamespace(mm_hidden_size=DV, hidden_size=DL)
    shared = rnd(2, 576, DV)
    out["input"] = f32(shared)
    for kind, tokens in CASES:
        m = build(kind, tokens, cfg)
        randomize(m)
        m = m.to(D)
        x = shared.clone().requires_grad_(True)
        y = m(x)
        assert y.shape == (2, tokens, DL), (kind, tokens, y.shape)
        gy = rnd(*y.shape)
        y.backward(gy)
        c = f"{kind}_{tokens}."
        out[c + "grad_output"] = f32(gy)
        out[c + "output"] = f32(y)
        out[c + "grad.input"] = f32(x.grad)
        n = 0
        for name, p in m.named_parameters():
            out[c + "param." + param_name(name)] = f32(p)
            out[c + "grad.param." + param_name(name)] = f32(p.grad)
            n += p.numel()
        print(f"{kind:6} N={tokens:3}: {n} parameters, output {tuple(y.shape)}")
    return out


# ----------------------------------------------------------------------------------------------------------
# Tiny VLM: CLIP-style ViT (no CLS) -> XDP -> LLaMA decoder, LLaVA splicing and label masking

VIS = dict(image=12, patch=2, channels=3, width=8, inter=16, layers=2, heads=2, eps=1e-5)  # grid 6 -> 36 tokens
LM = dict(vocab=20, width=16, inter=24, layers=2, heads=4, kv=2, eps=1e-5, theta=10000.0)
TOKENS, IMAGE_ID = 9, 3  # XDP f = 4
VT = "model.vision_tower.vision_tower.vision_model."


def vlm_params():
    v, l = VIS, LM
    P = {}

    def lin(name, i, o, bias=True):
        P[name + ".weight"] = rnd(o, i, scale=1.5 / math.sqrt(i))
        if bias:
            P[name + ".bias"] = rnd(o, scale=0.3)

    def norm(name, bias=True):
        P[name + ".weight"] = 1 + rnd(v["width"] if name.startswith(VT) else l["width"], scale=0.2)
        if bias:
            P[name + ".bias"] = rnd(v["width"], scale=0.2)

    g = v["image"] // v["patch"]
    P[VT + "embeddings.patch_embedding.weight"] = rnd(v["width"], v["channels"], v["patch"], v["patch"], scale=0.5)
    P[VT + "embeddings.position_embedding.weight"] = rnd(g * g, v["width"], scale=0.3)
    norm(VT + "pre_layrnorm")
    for i in range(v["layers"]):
        p = VT + f"encoder.layers.{i}."
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            lin(p + "self_attn." + proj, v["width"], v["width"])
        norm(p + "layer_norm1")
        lin(p + "mlp.fc1", v["width"], v["inter"])
        lin(p + "mlp.fc2", v["inter"], v["width"])
        norm(p + "layer_norm2")
    norm(VT + "post_layernorm")
    f = g * g // TOKENS
    lin("model.mm_projector.mlp.0", f * v["width"], l["width"])
    lin("model.mm_projector.mlp.2", l["width"], l["width"])
    dh = l["width"] // l["heads"]
    P["model.embed_tokens.weight"] = rnd(l["vocab"], l["width"], scale=1.0)
    for i in range(l["layers"]):
        p = f"model.layers.{i}."
        norm(p + "input_layernorm", bias=False)
        lin(p + "self_attn.q_proj", l["width"], l["heads"] * dh, bias=False)
        lin(p + "self_attn.k_proj", l["width"], l["kv"] * dh, bias=False)
        lin(p + "self_attn.v_proj", l["width"], l["kv"] * dh, bias=False)
        lin(p + "self_attn.o_proj", l["heads"] * dh, l["width"], bias=False)
        norm(p + "post_attention_layernorm", bias=False)
        lin(p + "mlp.gate_proj", l["width"], l["inter"], bias=False)
        lin(p + "mlp.up_proj", l["width"], l["inter"], bias=False)
        lin(p + "mlp.down_proj", l["inter"], l["width"], bias=False)
    norm("model.norm", bias=False)
    lin("lm_head", l["width"], l["vocab"], bias=False)
    return P


def vision_features(P, images):
    """HF CLIPVisionModel math without the CLS token; hidden_states[-2] = output of all blocks but the last."""
    v = VIS
    x = F.conv2d(images.permute(0, 3, 1, 2), P[VT + "embeddings.patch_embedding.weight"], stride=v["patch"])
    x = x.flatten(2).transpose(1, 2) + P[VT + "embeddings.position_embedding.weight"]
    ln = lambda t, n: F.layer_norm(t, (v["width"],), P[n + ".weight"], P[n + ".bias"], v["eps"])
    lin = lambda t, n: F.linear(t, P[n + ".weight"], P[n + ".bias"])
    x = ln(x, VT + "pre_layrnorm")
    b, t, w = x.shape
    hd = w // v["heads"]
    for i in range(v["layers"] - 1):  # select_layer = -2
        p = VT + f"encoder.layers.{i}."
        h = ln(x, p + "layer_norm1")
        q, k, vv = (lin(h, p + f"self_attn.{n}").view(b, t, v["heads"], hd).transpose(1, 2) for n in ("q_proj", "k_proj", "v_proj"))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), -1) @ vv
        x = x + lin(a.transpose(1, 2).reshape(b, t, w), p + "self_attn.out_proj")
        h = lin(ln(x, p + "layer_norm2"), p + "mlp.fc1")
        x = x + lin(h * torch.sigmoid(1.702 * h), p + "mlp.fc2")  # quick_gelu
    return x


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def llama_logits(P, x, attention_mask):
    """HF LlamaForCausalLM on inputs_embeds with a right-padding attention mask."""
    l = LM
    b, t, w = x.shape
    dh = w // l["heads"]
    rms = lambda h, n: P[n + ".weight"] * (h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + l["eps"]))
    inv_freq = 1.0 / (l["theta"] ** (torch.arange(0, dh, 2, dtype=torch.int64).to(torch.float32) / dh))
    freqs = torch.arange(t, dtype=torch.float32)[:, None] * inv_freq[None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().to(D), emb.sin().to(D)
    allowed = torch.tril(torch.ones(t, t, dtype=torch.bool))[None, None] & attention_mask[:, None, None, :]
    for i in range(l["layers"]):
        p = f"model.layers.{i}."
        h = rms(x, p + "input_layernorm")
        q = F.linear(h, P[p + "self_attn.q_proj.weight"]).view(b, t, l["heads"], dh).transpose(1, 2)
        k = F.linear(h, P[p + "self_attn.k_proj.weight"]).view(b, t, l["kv"], dh).transpose(1, 2)
        v = F.linear(h, P[p + "self_attn.v_proj.weight"]).view(b, t, l["kv"], dh).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        rep = l["heads"] // l["kv"]
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
        s = s.masked_fill(~allowed, float("-inf"))
        a = torch.softmax(s, -1) @ v
        x = x + F.linear(a.transpose(1, 2).reshape(b, t, w), P[p + "self_attn.o_proj.weight"])
        h = rms(x, p + "post_attention_layernorm")
        m = F.silu(F.linear(h, P[p + "mlp.gate_proj.weight"])) * F.linear(h, P[p + "mlp.up_proj.weight"])
        x = x + F.linear(m, P[p + "mlp.down_proj.weight"])
    return F.linear(rms(x, "model.norm"), P["lm_head.weight"])


def vlm_fixture():
    P = {k: v.clone().requires_grad_(True) for k, v in vlm_params().items()}
    images = rnd(2, VIS["image"], VIS["image"], VIS["channels"])
    # BOS, prompt, <image>, question, answer + end-of-turn (eot = 2); supervised = answer tokens and eot.
    seqs = [
        ([1, 5, IMAGE_ID, 6, 7, 8, 9, 10, 2], [0, 0, 0, 0, 0, 1, 1, 1, 1]),
        ([1, IMAGE_ID, 11, 12, 13, 2, 14, 15, 16, 17, 2], [0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1]),
    ]
    with torch.no_grad():
        feats = vision_features(P, images)  # the encoder is frozen
    f = feats.shape[1] // TOKENS
    vis = feats.reshape(2, TOKENS, f * VIS["width"])
    vis = F.linear(F.mish(F.linear(vis, P["model.mm_projector.mlp.0.weight"], P["model.mm_projector.mlp.0.bias"])),
                   P["model.mm_projector.mlp.2.weight"], P["model.mm_projector.mlp.2.bias"])
    # LLaVA's prepare_inputs_labels_for_multimodal: split at the placeholder, splice, pad right with zeros.
    embeds, labels = [], []
    for b, (ids, sup) in enumerate(seqs):
        p = ids.index(IMAGE_ID)
        e = P["model.embed_tokens.weight"]
        ids_t = torch.tensor(ids)
        lab = torch.where(torch.tensor(sup, dtype=torch.bool), ids_t, torch.full_like(ids_t, -100))
        embeds.append(torch.cat([e[ids_t[:p]], vis[b], e[ids_t[p + 1 :]]]))
        labels.append(torch.cat([lab[:p], torch.full((TOKENS,), -100), lab[p + 1 :]]))
    longest = max(x.shape[0] for x in embeds)
    mask = torch.zeros(2, longest, dtype=torch.bool)
    for b in range(2):
        n = embeds[b].shape[0]
        mask[b, :n] = True
        embeds[b] = torch.cat([embeds[b], torch.zeros(longest - n, LM["width"], dtype=D)])
        labels[b] = torch.cat([labels[b], torch.full((longest - n,), -100)])
    x, labels = torch.stack(embeds), torch.stack(labels)
    logits = llama_logits(P, x, mask)
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, LM["vocab"]), labels[:, 1:].reshape(-1), ignore_index=-100)
    loss.backward()
    out = {"images": f32(images), "logits": f32(logits), "loss": f32(loss.reshape(1)), "features": f32(feats)}
    for b, (ids, sup) in enumerate(seqs):
        out[f"ids.{b}"] = torch.tensor(ids, dtype=torch.int64)
        out[f"supervised.{b}"] = torch.tensor(sup, dtype=torch.int64)
    for k, v in P.items():
        out["param." + k] = f32(v)
        if v.grad is not None:
            out["grad." + k] = f32(v.grad)
    print(f"vlm: loss {loss.item():.6f}, logits {tuple(logits.shape)}")
    return out


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    save_file(projector_fixtures(), os.path.join(OUT, "projectors.safetensors"), metadata={"dv": str(DV), "dl": str(DL)})
    save_file(vlm_fixture(), os.path.join(OUT, "vlm.safetensors"))
    for name in ("projectors", "vlm"):
        print(name, os.path.getsize(os.path.join(OUT, name + ".safetensors")), "bytes")
