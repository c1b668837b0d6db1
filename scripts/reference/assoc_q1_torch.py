#!/usr/bin/python3
"""The course's P1-Q1 training in PyTorch, written here from the reference notes
(../shared/reference/cs229s-assignments.md, "P1-Q1"), on gptkit's example files.

It is the peer for issue 8's Q1 target: the same data (gpt-assoc-recall data --preset
course-ar) trained the course's way, so a gap between this and `gpt-assoc-recall train
--preset q1` is in our training, and a shared gap is in the task. What the notes give:
- pre-LN blocks: x = dropout_emb(wte + wpe); x += attn(ln1(x)); x += mlp(ln2(x)); ln_f; a head
  tied to wte. Dropout on the embeddings (0.1) and the attention probabilities (0.1), none on
  the residual branches (flash-attn Block with resid dropout 0);
- attention: fused Wqkv with bias, scale 1/sqrt(d_head), causal, out_proj with bias;
  MLP d -> 4d -> d with tanh;
- init N(0, 0.02), out_proj and fc2 weights N(0, 0.02 / sqrt(2 n_layers)), biases 0;
- AdamW(lr 5e-4, torch defaults: betas 0.9/0.999, eps 1e-8, weight decay 0.01) on every
  parameter; CosineAnnealingLR(T_max=epochs, eta_min=0) stepped once per epoch; batch 32,
  shuffled each epoch; cross-entropy over the scored targets (train: every position; test:
  the recalled value only); test accuracy = argmax accuracy over the scored targets.

  /usr/bin/python3 scripts/reference/assoc_q1_torch.py --data DIR [--device cuda] [--epochs 20]
      [--resid-dropout 0.1]   (our GPT-2 dropout sites instead of the course's)

One JSON line per epoch on stdout: epoch, train_loss, test_loss, test_acc, elapsed_s.
"""
import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MAGIC = 20240807
NO_TARGET = 65535


def read_examples(path):
    head = np.fromfile(path, dtype=np.int32, count=256)
    assert head[0] == MAGIC and head[1] == 1, f"{path}: not a gptkit example file"
    n, L, V = int(head[2]), int(head[3]), int(head[4])
    body = np.fromfile(path, dtype=np.uint16, offset=256 * 4).reshape(n, 2, L)
    x = torch.from_numpy(body[:, 0].astype(np.int64))
    y = body[:, 1].astype(np.int64)
    y[y == NO_TARGET] = -100
    return x, torch.from_numpy(y), V


class Block(nn.Module):
    def __init__(self, d, heads, attn_drop, resid_drop):
        super().__init__()
        self.h = heads
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.wqkv, self.out_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.attn_drop, self.resid_drop = nn.Dropout(attn_drop), nn.Dropout(resid_drop)

    def attn(self, x):
        B, T, C = x.shape
        q, k, v = self.wqkv(x).view(B, T, 3, self.h, C // self.h).permute(2, 0, 3, 1, 4)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(C // self.h)
        s = s.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool, device=x.device), 1), float("-inf"))
        p = self.attn_drop(s.softmax(-1))
        return self.out_proj((p @ v).transpose(1, 2).reshape(B, T, C))

    def forward(self, x):
        x = x + self.resid_drop(self.attn(self.ln1(x)))
        return x + self.resid_drop(self.fc2(torch.tanh(self.fc1(self.ln2(x)))))


class LM(nn.Module):
    def __init__(self, V, L, d, heads, layers, emb_drop, attn_drop, resid_drop):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, d), nn.Embedding(L, d)
        self.drop = nn.Dropout(emb_drop)
        self.blocks = nn.ModuleList(Block(d, heads, attn_drop, resid_drop) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith(("out_proj.weight", "fc2.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx):
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for b in self.blocks:
            x = b(x)
        return self.ln_f(x) @ self.wte.weight.t()


def evaluate(model, x, y, batch, device):
    model.eval()
    loss_sum, correct, scored = 0.0, 0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb, yb = x[i:i + batch].to(device), y[i:i + batch].to(device)
            logits = model(xb)
            mask = yb != -100
            loss_sum += F.cross_entropy(logits[mask], yb[mask], reduction="sum").item()
            correct += (logits[mask].argmax(-1) == yb[mask]).sum().item()
            scored += mask.sum().item()
    model.train()
    return loss_sum / scored, correct / scored


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="directory with train.bin and val.bin (gpt-assoc-recall data)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--d-model", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--emb-dropout", type=float, default=0.1)
    ap.add_argument("--attn-dropout", type=float, default=0.1)
    ap.add_argument("--resid-dropout", type=float, default=0.0)
    ap.add_argument("--limit-train", type=int, default=0, help="use only the first N training examples (smoke tests)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    xtr, ytr, V = read_examples(f"{a.data}/train.bin")
    xte, yte, _ = read_examples(f"{a.data}/val.bin")
    if a.limit_train:
        xtr, ytr = xtr[:a.limit_train], ytr[:a.limit_train]
    model = LM(V, xtr.shape[1], a.d_model, a.heads, a.layers, a.emb_dropout, a.attn_dropout, a.resid_dropout).to(a.device)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=a.epochs, eta_min=0.0)
    t0 = time.time()
    for epoch in range(a.epochs):
        perm = torch.randperm(len(xtr))
        total, count = 0.0, 0
        for i in range(0, len(xtr), a.batch):
            j = perm[i:i + a.batch]
            xb, yb = xtr[j].to(a.device), ytr[j].to(a.device)
            logits = model(xb)
            loss = F.cross_entropy(logits.reshape(-1, V), yb.reshape(-1), ignore_index=-100)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            n = (yb != -100).sum().item()
            total, count = total + loss.item() * n, count + n
        sched.step()
        tl, acc = evaluate(model, xte, yte, 256, a.device)
        print(json.dumps({"epoch": epoch + 1, "train_loss": total / count, "test_loss": tl, "test_acc": acc,
                          "elapsed_s": round(time.time() - t0, 2)}), flush=True)


if __name__ == "__main__":
    main()
