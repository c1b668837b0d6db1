#!/usr/bin/python3
"""PyTorch timing peer for gptkit's training step (and a torch.mm GEMM probe).

Train-step mode (default): builds scripts/reference/gpt_ref.GPT in float32 (nanoGPT
defaults: bias off, exact gelu, tied embeddings, layernorm, causal attention through
F.scaled_dot_product_attention as nanoGPT does when torch >= 2.0, else the explicit
masked softmax, nanoGPT's own fallback) and times full training steps:
zero_grad, forward + loss, backward, clip_grad_norm_(1.0), AdamW step (fused=False,
foreach default) on random tokens.

    /usr/bin/python3 scripts/bench/torch_train_step.py --n-layer 4 --n-head 4 --n-embd 128 \
        --block-size 64 --batch 12 --vocab 65 --threads 1 --steps 20 --warmup 3

GEMM mode: median GFLOP/s of torch.mm on float32 [size x size] matrices.

    /usr/bin/python3 scripts/bench/torch_train_step.py --mode sgemm --size 1024 --threads 2

On a GPU: --device cuda [--tf32] (same model and step, timed after torch.cuda.synchronize()).

Prints exactly one JSON line on stdout; anything else goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from gpt_ref import GPT, HAVE_SDPA, GPTConfig, make_optimizer  # noqa: E402


def bench_train(a) -> dict:
    cfg = GPTConfig(vocab_size=a.vocab, block_size=a.block_size, n_layer=a.n_layer,
                    n_head=a.n_head, n_embd=a.n_embd, bias=a.bias, dropout=a.dropout,
                    activation=a.activation, layernorm=True, mlp=True,
                    tie_embeddings=not a.untied, layer_norm_epsilon=1e-5)
    torch.manual_seed(a.seed)
    dev = torch.device(a.device)
    model = GPT(cfg, attn_impl=a.attn).to(dev)
    model.train()
    opt = make_optimizer(model, lr=6e-4, beta1=0.9, beta2=0.95, eps=1e-8, weight_decay=0.1)
    B, T = a.batch, a.block_size
    n = a.warmup + a.steps
    xs = torch.randint(0, a.vocab, (n, B, T)).to(dev)
    ys = torch.randint(0, a.vocab, (n, B, T)).to(dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    times, cpus, losses = [], [], []
    for i in range(n):
        c0 = time.process_time()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=a.bf16):
            _, loss = model(xs[i], ys[i])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sync()
        lv = loss.item()
        t1 = time.perf_counter()
        c1 = time.process_time()
        if i >= a.warmup:
            times.append(t1 - t0)
            cpus.append(c1 - c0)
        losses.append(lv)
        print(f"step {i}{' (warmup)' if i < a.warmup else ''}: {1e3 * (t1 - t0):.1f} ms "
              f"loss {lv:.4f}", file=sys.stderr)
    med = statistics.median(times)
    return {
        "impl": "pytorch",
        "mode": "train_step",
        "device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu",
        "tf32": bool(a.tf32),
        "bf16": bool(a.bf16),
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "n_layer": a.n_layer,
        "n_head": a.n_head,
        "n_embd": a.n_embd,
        "block_size": a.block_size,
        "seq_len": T,
        "batch": B,
        "vocab": a.vocab,
        "bias": a.bias,
        "dropout": a.dropout,
        "activation": a.activation,
        "tied": not a.untied,
        "attn": a.attn,
        "steps": a.steps,
        "warmup": a.warmup,
        "ms_per_step_median": round(1e3 * med, 3),
        "ms_per_step_min": round(1e3 * min(times), 3),
        "ms_per_step_mean": round(1e3 * statistics.mean(times), 3),
        "tokens_per_s": round(B * T / med, 1),
        # CPU time of this process per step; ~threads x wall when it had the cores to itself
        "cpu_ms_per_step_median": round(1e3 * statistics.median(cpus), 3),
        "params": model.num_params(),
        "final_loss": round(losses[-1], 5),
        # ru_maxrss is in KiB on Linux: the process's peak, torch's own libraries included.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def bench_sgemm(a) -> dict:
    N = a.size
    torch.manual_seed(a.seed)
    x = torch.randn(N, N)
    y = torch.randn(N, N)
    out = torch.empty(N, N)
    for _ in range(max(a.warmup, 1)):
        torch.mm(x, y, out=out)
    reps = max(a.steps, 1)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(x, y, out=out)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    flop = 2.0 * N ** 3
    return {
        "impl": "pytorch",
        "mode": "sgemm",
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "size": N,
        "runs": reps,
        "ms_median": round(1e3 * med, 3),
        "gflops_median": round(flop / med / 1e9, 2),
        "gflops_max": round(flop / min(times) / 1e9, 2),
    }


def main():
    ap = argparse.ArgumentParser(description="PyTorch train-step / sgemm timing peer for gptkit")
    ap.add_argument("--mode", choices=["train", "sgemm"], default="train")
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-embd", type=int, default=128)
    ap.add_argument("--block-size", type=int, default=64, help="also the sequence length T")
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--vocab", type=int, default=65)
    ap.add_argument("--bias", action="store_true", help="use biases (default: none, as nanoGPT)")
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--activation", default="gelu", choices=["gelu", "gelu_tanh", "tanh", "relu"])
    ap.add_argument("--untied", action="store_true", help="separate lm_head (default: tied)")
    ap.add_argument("--attn", choices=["auto", "sdpa", "manual"], default="auto",
                    help="sdpa = F.scaled_dot_product_attention (nanoGPT's path, torch >= 2.0); "
                         "manual = explicit masked softmax (nanoGPT's fallback); auto = sdpa if available")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20, help="timed steps (sgemm: timed runs)")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--size", type=int, default=1024, help="sgemm matrix size")
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--tf32", action="store_true", help="cuda: TF32 tensor cores for fp32 matmuls")
    ap.add_argument("--bf16", action="store_true",
                    help="bf16 autocast for the forward (matmuls in bf16, fp32 weights), as nanoGPT")
    a = ap.parse_args()
    if a.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
        torch.backends.cudnn.allow_tf32 = a.tf32
    if a.threads < 1 or a.steps < 1 or a.warmup < 0:
        ap.error("--threads and --steps must be >= 1, --warmup >= 0")

    if a.attn == "auto":
        a.attn = "sdpa" if HAVE_SDPA else "manual"
    elif a.attn == "sdpa" and not HAVE_SDPA:
        ap.error(f"--attn sdpa needs torch >= 2.0 (this is {torch.__version__})")
    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    res = bench_sgemm(a) if a.mode == "sgemm" else bench_train(a)
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
