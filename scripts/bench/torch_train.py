#!/usr/bin/python3
"""nanoGPT-style PyTorch training peer for the time-to-loss benchmark.

Runs the loop of nanoGPT's train.py on the gptkit reference model (scripts/reference/gpt_ref.py)
with the hyperparameters of a gptkit run config: random block_size windows of the same
train.bin (llm.c shard or headerless uint16), warmup + cosine LR, AdamW (decay on 2-D
tensors), clipping, and every eval_interval the mean loss over eval_iters batches of each split.
Writes CSV rows step,elapsed_s,train_loss,val_loss for scripts/plot_metrics.py.

    /usr/bin/python3 scripts/bench/torch_train.py --config configs/shakespeare_char_cpu.json \
        --data data/shakespeare_char --threads 1 --out torch_run.csv

On a GPU: --device cuda [--tf32]. Batches are cut on the CPU and copied over pinned memory, as
nanoGPT's get_batch does; the model runs in fp32 (TF32 matmuls with --tf32), without
torch.compile, the same precision as gptkit's CUDA engine.
"""
import argparse
import csv
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from gpt_ref import GPT, GPTConfig, make_optimizer  # noqa: E402


def load_tokens(path):
    raw = np.fromfile(path, dtype=np.uint8)
    header = raw[:1024].view(np.int32)
    if len(raw) >= 1024 and header[0] == 20240520:
        return raw[1024:].view(np.uint16)[: header[2]].astype(np.int64)
    return raw.view(np.uint16).astype(np.int64)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--data", help="data dir (overrides data.dir)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-iters", type=int)
    ap.add_argument("--seed", type=int, help="overrides train.seed")
    ap.add_argument("--eval-iters", type=int, help="batches per split at each eval (overrides train.eval_iters)")
    ap.add_argument("--out", default="torch_run.csv")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--tf32", action="store_true", help="cuda: TF32 tensor cores for fp32 matmuls")
    a = ap.parse_args()
    dev = torch.device(a.device)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
        torch.backends.cudnn.allow_tf32 = a.tf32
    torch.set_num_threads(a.threads)
    cfg = json.load(open(a.config))
    m, t = cfg["model"], cfg["train"]
    data_dir = a.data or cfg["data"]["dir"]
    meta = json.load(open(os.path.join(data_dir, "meta.json")))
    train = torch.from_numpy(load_tokens(os.path.join(data_dir, "train.bin")))
    val = torch.from_numpy(load_tokens(os.path.join(data_dir, "val.bin")))
    mc = GPTConfig(vocab_size=m.get("vocab_size", meta["vocab_size"]), block_size=m["block_size"],
                   n_layer=m["n_layer"], n_head=m["n_head"], n_embd=m["n_embd"],
                   bias=m.get("bias", True), dropout=m.get("dropout", 0.0),
                   activation=m.get("activation", "gelu_tanh"), tie_embeddings=m.get("tie_embeddings", True))
    torch.manual_seed(a.seed if a.seed is not None else t.get("seed", 1337))
    model = GPT(mc).to(dev)
    opt = make_optimizer(model, lr=t["lr"], beta1=t.get("beta1", 0.9), beta2=t.get("beta2", 0.99),
                         eps=t.get("eps", 1e-8), weight_decay=t.get("weight_decay", 0.1))
    B, T = t["batch_size"], mc.block_size
    max_iters = a.max_iters if a.max_iters is not None else t["max_iters"]
    warmup, decay_iters = t.get("warmup_iters", 100), t.get("lr_decay_iters", max_iters)
    lr, min_lr = t["lr"], t.get("min_lr", 1e-4)
    eval_iters = a.eval_iters or t.get("eval_iters", 200)

    def get_lr(it):
        if it < warmup:
            return lr * (it + 1) / (warmup + 1)
        if it > decay_iters:
            return min_lr
        r = (it - warmup) / (decay_iters - warmup)
        return min_lr + 0.5 * (1.0 + math.cos(math.pi * r)) * (lr - min_lr)

    def batch(data):
        ix = torch.randint(len(data) - T, (B,))
        x = torch.stack([data[i:i + T] for i in ix])
        y = torch.stack([data[i + 1:i + 1 + T] for i in ix])
        if dev.type == "cuda":
            return x.pin_memory().to(dev, non_blocking=True), y.pin_memory().to(dev, non_blocking=True)
        return x, y

    @torch.no_grad()
    def estimate():
        model.eval()
        out = []
        for data in (train, val):
            out.append(sum(model(*batch(data))[1].item() for _ in range(eval_iters)) / eval_iters)
        model.train()
        return out

    w = csv.writer(open(a.out, "w", newline=""))
    w.writerow(["step", "elapsed_s", "train_loss", "val_loss"])
    t0 = time.perf_counter()
    for it in range(max_iters + 1):
        if it % t.get("eval_interval", 250) == 0 or it == max_iters:
            tl, vl = estimate()
            w.writerow([it, f"{time.perf_counter() - t0:.3f}", f"{tl:.4f}", f"{vl:.4f}"])
            print(f"step {it}: train {tl:.4f} val {vl:.4f} ({time.perf_counter() - t0:.1f}s)", file=sys.stderr, flush=True)
        if it == max_iters:
            break
        for g in opt.param_groups:
            g["lr"] = get_lr(it)
        x, y = batch(train)
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if t.get("grad_clip", 1.0) > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), t.get("grad_clip", 1.0))
        opt.step()
    print(json.dumps({"impl": "pytorch", "threads": a.threads, "device": a.device, "tf32": a.tf32,
                      "elapsed_s": time.perf_counter() - t0, "csv": a.out}))


if __name__ == "__main__":
    main()
