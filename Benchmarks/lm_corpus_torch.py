#!/usr/bin/env python3
"""PyTorch peer of the built-in `lm` stage: trains the same LLaMA-style decoder on the same corpus (dumped by
`xexp-bench dump-corpus`) with the same recipe, then reports answer accuracy on held-out samples. If PyTorch learns
a skill from this text and the Swift engine does not (or the other way round), the difference is in the engine,
not in the data or the architecture.

    xexp-bench dump-corpus 9600 --family existsColour > train.jsonl
    xexp-bench dump-corpus 512 --start 80000000 --family existsColour > eval.jsonl
    python3 Benchmarks/lm_corpus_torch.py train.jsonl eval.jsonl --steps 600 --batch 16

Recipe as in `PretrainStages.runLM`: AdamW (0.9, 0.999, 1e-8, no weight decay), lr 1e-3, cosine with 3 % warm-up,
gradient clipping at 1, every token but `<bos>` supervised, normal(0, 0.02) initialisation, untied head.
"""
import argparse
import json
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from train_step_torch import Block, RMSNorm, rope_tables


class Decoder(nn.Module):
    def __init__(self, w, layers, heads, kv, inter, vocab):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, w)
        self.layers = nn.ModuleList([Block(w, heads, kv, inter) for _ in range(layers)])
        self.norm = RMSNorm(w)
        self.lm_head = nn.Linear(w, vocab, bias=False)
        self.dh = w // heads
        for p in self.parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, ids):
        cos, sin = rope_tables(ids.shape[1], self.dh)
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.lm_head(self.norm(x))


EOT = 2


def batch(rows, supervise):
    """Token ids and next-token targets; `supervise`: "all" (every token but <bos>), "answers" (answers and their
    <eot>, as `lm_answer_weight` weights them) or "answer-words" (answers without <eot>, as accuracy counts them)."""
    t = max(len(r["tokens"]) for r in rows)
    ids = torch.zeros(len(rows), t, dtype=torch.long)
    targets = torch.full((len(rows), t), -100, dtype=torch.long)
    for b, r in enumerate(rows):
        n = len(r["tokens"])
        ids[b, :n] = torch.tensor(r["tokens"])
        for i in range(n - 1):
            nxt = r["tokens"][i + 1]
            keep = {"all": True, "answers": r["answers"][i + 1] == 1,
                    "answer-words": r["answers"][i + 1] == 1 and nxt != EOT}[supervise]
            if keep:
                targets[b, i] = nxt
    return ids, targets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("train")
    ap.add_argument("eval")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--shape", default="128,4,8,1,352",
                    help="width,layers,heads,kv_heads,intermediate (default: mini-xmodel-lm)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--answer-weight", type=float, default=0.0,
                    help="adds this times the mean loss over answer tokens (answers count more than descriptions)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    train = [json.loads(l) for l in open(a.train)]
    held = [json.loads(l) for l in open(a.eval)]
    w, layers, heads, kv, inter = map(int, a.shape.split(","))
    vocab = train[0]["vocab"]  # the synthetic tokenizer's size, as the Swift model has it
    model = Decoder(w, layers, heads, kv, inter, vocab)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    warm = math.ceil(a.steps * 0.03)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: s / max(1, warm) if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, a.steps - warm))))

    def accuracy():
        model.eval()
        hit = total = 0
        with torch.no_grad():
            for k in range(0, len(held), 32):
                ids, targets = batch(held[k:k + 32], "answer-words")
                pred = model(ids).argmax(-1)
                mask = targets != -100
                hit += (pred[mask] == targets[mask]).sum().item()
                total += mask.sum().item()
        model.train()
        return hit / max(1, total)

    for step in range(a.steps):
        rows = [train[(step * a.batch + i) % len(train)] for i in range(a.batch)]
        ids, targets = batch(rows, "all")
        logits = model(ids).view(-1, vocab)
        loss = F.cross_entropy(logits, targets.view(-1))  # reported: the plain LM loss, as the Swift stage reports it
        objective = loss
        if a.answer_weight > 0:
            objective = loss + a.answer_weight * F.cross_entropy(logits, batch(rows, "answers")[1].view(-1))
        opt.zero_grad(set_to_none=True)
        objective.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if (step + 1) % 100 == 0 or step + 1 == a.steps:
            print(json.dumps({"step": step + 1, "loss": round(loss.item(), 4), "answer_acc": round(accuracy(), 4)}), flush=True)


if __name__ == "__main__":
    main()
