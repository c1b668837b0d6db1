#!/usr/bin/python3
"""Time PyTorch's depthwise conv1d (F.conv1d, groups=C) on the shapes gpt-conv-bench uses, with
the same "bytes moved" and GB/s, and optionally compare with a gpt-conv-bench sweep CSV.

  y[b,c,l] = act(bias[c] + sum_k w[c,k] x[b,c,l+k-pad])   causal: pad=K-1, same: pad=(K-1)/2

Weights are [C,1,K] with w[c,0] on the oldest sample, exactly gptkit's w[C][K]. Before timing,
torch's forward and backward are checked against that formula in float64 on a small shape, for
every (K, layout, padding, dtype, bias, silu) asked for. The timed region is what a user writes:
  causal  F.conv1d(x, w, b, padding=K-1, groups=C)[..., :L]   (the slice is a free view)
  blc     x is [B,L,C] contiguous; torch gets x.transpose(1,2) and y is made [B,L,C] contiguous
          again, as gptkit reads and writes BLC: both transposes are inside the timed region
  bwd     torch.autograd.grad(y, (x, w[, bias]), dy) for a fixed random dy; the forward runs
          once, untimed (retain_graph). Torch's backward reads what its forward saved (the SiLU
          input) where gptkit recomputes the pre-activation from x.
Bytes and FLOPs are gpt-conv-bench's: activations at their storage size, w and bias counted as
fp32 (torch holds them in the activation dtype; C*K elements, noise). A dtype torch cannot run
on the device is skipped with a note. Backend facts go to stderr (and --json), tables to stdout.

  /usr/bin/python3 scripts/bench/conv_vs_torch.py --threads 1 -B 1 -C 256 -L 1024 -K 4
  build/gpt-conv-bench --sweep gk.csv --threads 2           # then the same shapes in torch:
  /usr/bin/python3 scripts/bench/conv_vs_torch.py --threads 2 --compare gk.csv --csv torch.csv

With --compare and no shape flags, the shapes are the CSV's rows for this device (cpu* impls
for --device cpu, cuda-* for cuda). Exit status: 0 ok, 1 runtime error, 2 usage error.
"""
import argparse
import csv
import json
import re
import sys
import time
from collections import namedtuple

# gpt-conv-bench's csv_header() (lib/ops/cpu/conv1d_report.cpp).
CSV_COLUMNS = ("pass,impl,kernel,layout,padding,dtype,bias,silu,B,C,L,K,threads,bytes,ms,ms_p10,"
               "ms_p90,gbps,copy_gbps,pct_copy,gflops,speedup_vs_ref,max_rel_err,ok,note"
               ).split(",")
SIZE = {"fp32": 4, "bf16": 2, "fp16": 2}
Shape = namedtuple("Shape", "B C L K layout padding dtype bias silu")
torch = F = np = None  # imported in main(), so that --help works without torch


def describe(s):
    return (f"B={s.B} C={s.C} L={s.L} K={s.K} {s.layout} {s.padding} {s.dtype}"
            + (" +bias" if s.bias else "") + (" +silu" if s.silu else ""))


def bytes_flops(s, p):
    # As lib/ops/cpu/conv1d_harness.cpp, bench(): each input read once, each output written once.
    n, sz = s.B * s.C * s.L, SIZE[s.dtype]
    params = 4 * s.C * s.K + (4 * s.C if s.bias else 0)
    if p == "bwd":  # x, dy read, dx written; w (+bias) read, dw (+dbias) written
        return 3 * n * sz + 2 * params, (6 if s.silu else 4) * s.K * n
    return 2 * n * sz + params, 2 * s.K * n


def conv(s, x, w, b):
    xc = x.transpose(1, 2) if s.layout == "blc" else x
    if s.padding == "causal":
        # Faster than F.pad(x, (K-1, 0)) + padding=0, which copies x first: BCL B=1 C=128 L=4096
        # K=4, torch 1.13, 1 thread: forward 2.8 vs 4.5 ms, fwd+bwd 7.9 vs 11.2; BLC about even.
        y = F.conv1d(xc, w, b, padding=s.K - 1, groups=s.C)[..., :s.L]
    else:
        y = F.conv1d(xc, w, b, padding=(s.K - 1) // 2, groups=s.C)
    if s.silu:
        y = F.silu(y)
    return y.transpose(1, 2).contiguous() if s.layout == "blc" else y


def make_inputs(s, dev, seed, grad):
    """x, w, bias, dy uniform in [-1, 1) like gpt-conv-bench's (not the same numbers)."""
    gen = torch.Generator(device=dev).manual_seed(seed)
    dt = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[s.dtype]
    act = (s.B, s.C, s.L) if s.layout == "bcl" else (s.B, s.L, s.C)

    def u(*shape):
        return (torch.rand(*shape, generator=gen, device=dev) * 2 - 1).to(dt)
    x, w, b = u(*act), u(s.C, 1, s.K), u(s.C) if s.bias else None
    if grad:
        for t in (x, w, b):
            if t is not None:
                t.requires_grad_()
    return x, w, b, u(*act) if grad else None


def reference(s, x, w, b, dy):
    """lib/ops/cpu/conv1d_ref.cpp in float64 on BCL arrays: y, dx, dw, dbias."""
    K, L = s.K, s.L
    pad = K - 1 if s.padding == "causal" else (K - 1) // 2
    xp = np.pad(x, ((0, 0), (0, 0), (pad, K - 1 - pad)))
    pre = sum(w[None, :, k, None] * xp[:, :, k:k + L] for k in range(K))
    pre = pre + (b[None, :, None] if s.bias else 0)
    sig = 1 / (1 + np.exp(-pre))
    g = dy * sig * (1 + pre * (1 - sig)) if s.silu else dy
    # dx[j] = sum_k w[k] g[j-k+pad], dw[k] = sum_{b,l} g[l] x[l+k-pad], dbias = sum g
    gp = np.pad(g, ((0, 0), (0, 0), (K - 1 - pad, pad)))
    dx = sum(w[None, :, k, None] * gp[:, :, K - 1 - k:K - 1 - k + L] for k in range(K))
    dw = np.stack([(g * xp[:, :, k:k + L]).sum(axis=(0, 2)) for k in range(K)], axis=1)
    return pre * sig if s.silu else pre, dx, dw, g.sum(axis=(0, 2))


def check_formula(s, dev):
    """Max relative error of torch's y, dx, dw, dbias against the float64 formula."""
    x, w, b, dy = make_inputs(s, dev, 7, grad=True)
    y = conv(s, x, w, b)
    grads = torch.autograd.grad(y, [t for t in (x, w, b) if t is not None], dy)
    perm = (0, 2, 1) if s.layout == "blc" else (0, 1, 2)

    def host(t):
        return t.detach().double().cpu().numpy()
    ref = reference(s, host(x).transpose(perm), host(w)[:, 0], host(b) if s.bias else None,
                    host(dy).transpose(perm))
    got = [host(y).transpose(perm), host(grads[0]).transpose(perm), host(grads[1])[:, 0]]
    got += [host(grads[2])] if s.bias else []
    errs = {}
    for name, g, r in zip(("y", "dx", "dw", "dbias"), got, ref):
        # dw, dbias sum B*L terms that can cancel: scale at least sqrt(B*L), as gptkit's check.
        floor = (s.B * s.L) ** 0.5 if name in ("dw", "dbias") else 0
        errs[name] = float(np.abs(g - r).max() / max(np.abs(r).max(), floor, 1e-30))
    return errs


def time_ms(fn, dev, warmup, iters, max_seconds):
    """Median, p10, p90 in ms, like gpt-conv-bench's harness (stops after max_seconds)."""
    t0 = time.perf_counter()
    for _ in range(warmup):
        if time.perf_counter() - t0 < max_seconds:
            fn()
    ms, t0 = [], time.perf_counter()
    while len(ms) < iters and (not ms or time.perf_counter() - t0 < max_seconds):
        if dev == "cuda":
            a, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            a.record()
            fn()
            e.record()
            e.synchronize()
            ms.append(a.elapsed_time(e))
        else:
            a = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - a) * 1e3)
    return [float(v) for v in np.percentile(ms, [50, 10, 90])]


def copy_gbps(nbytes, dev, cache={}):
    """A copy of the same bytes (half read, half written), the %copy yardstick gptkit uses."""
    if (nbytes, dev) not in cache:
        src = torch.empty(int(nbytes // 2), dtype=torch.uint8, device=dev)
        dst = torch.empty_like(src)
        ms = time_ms(lambda: dst.copy_(src), dev, 2, 10, 1.0)[0]
        cache[(nbytes, dev)] = nbytes / (ms * 1e-3) / 1e9
    return cache[(nbytes, dev)]


def conv_backend(s, x, w, b):
    """The aten backend torch picks for this call (Mkldnn, Slow2d, Cudnn, ...); private API."""
    xc = x.transpose(1, 2) if s.layout == "blc" else x
    pad = s.K - 1 if s.padding == "causal" else (s.K - 1) // 2
    try:
        r = torch._C._select_conv_backend(xc, w, b, [1], [pad], [1], False, [0], s.C)
        return str(r).split(".")[-1]
    except Exception:
        return "backend unknown"


def bench(s, p, dev, args):
    row = dict(zip(CSV_COLUMNS, [p, f"torch-{dev}", "F.conv1d groups=C"] + [0] * 22))
    row.update(s._asdict(), bias=int(s.bias), silu=int(s.silu), threads=torch.get_num_threads())
    try:
        x, w, b, dy = make_inputs(s, dev, 1, grad=(p == "bwd"))
        if p == "fwd":
            def fn():
                with torch.no_grad():
                    return conv(s, x, w, b)
        else:
            y = conv(s, x, w, b)
            ins = [t for t in (x, w, b) if t is not None]
            fn = lambda: torch.autograd.grad(y, ins, dy, retain_graph=True)  # noqa: E731
        ms, p10, p90 = time_ms(fn, dev, args.warmup, args.iters, args.max_seconds)
        nbytes, flops = bytes_flops(s, p)
        gbps, cg = nbytes / (ms * 1e-3) / 1e9, copy_gbps(nbytes, dev)
    except RuntimeError as e:  # out of memory, mostly: note it and go on with the sweep
        row.update(ok="unavailable", note=str(e).splitlines()[0])
        return row
    kernel = f"F.conv1d groups=C [{conv_backend(s, x, w, b)}]"
    kernel += " padding=K-1 [:L]" if s.padding == "causal" else ""
    row.update(kernel=kernel + (" +transposes" if s.layout == "blc" else ""), bytes=nbytes,
               ms=ms, ms_p10=p10, ms_p90=p90, gbps=gbps, copy_gbps=cg, pct_copy=100 * gbps / cg,
               gflops=flops / (ms * 1e-3) / 1e9, ok="unchecked",
               note="formula checked at startup on a small shape")
    return row


def backend_info(dev):
    info = {"torch": torch.__version__, "device": dev, "threads": torch.get_num_threads(),
            "mkldnn_available": torch.backends.mkldnn.is_available(),
            "mkldnn_enabled": bool(torch.backends.mkldnn.enabled)}
    cap = getattr(getattr(torch.backends, "cpu", None), "get_cpu_capability", None)
    if cap is None:  # torch < 2.0: only the build summary says it
        m = re.search(r"CPU capability usage: (\S+)", torch.__config__.show())
        info["cpu_capability"] = m.group(1) if m else "unknown"
    else:
        info["cpu_capability"] = cap()
    if dev == "cuda":
        info.update(gpu=torch.cuda.get_device_name(), cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version(),
                    cudnn_enabled=torch.backends.cudnn.enabled)
    return info


def key(r):
    cols = ("B", "C", "L", "K", "layout", "padding", "dtype", "bias", "silu", "pass")
    return tuple(str(r[c]) for c in cols)


def gptkit_rows(path, dev):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    # Compare like with like: CPU torch with gptkit's CPU impls, CUDA torch with its CUDA ones.
    family = "cuda-" if dev == "cuda" else "cpu"
    rows = [r for r in rows if r.get("ok") in ("ok", "unchecked") and r["impl"].startswith(family)]
    if not rows:
        raise RuntimeError(f"{path} has no successful {family}* rows to compare {dev} torch with")
    return rows


def compare(rows, results, out):
    best = {}
    for r in rows:
        if key(r) not in best or float(r["gbps"]) > float(best[key(r)]["gbps"]):
            best[key(r)] = r
    print("| pass | shape | gptkit impl | gptkit GB/s | torch GB/s | gptkit / torch "
          "| threads gptkit/torch |\n|---|---|---|---|---|---|---|", file=out)
    table = []
    for t in results:
        g = best.get(key(t))
        if g is None or t["ok"] == "unavailable":
            continue
        ratio = float(g["gbps"]) / t["gbps"]
        table.append({"shape": describe(Shape(*(t[c] for c in Shape._fields))), "pass": t["pass"],
                      "gptkit_impl": g["impl"], "gptkit_gbps": float(g["gbps"]),
                      "torch_gbps": t["gbps"], "ratio": ratio})
        print(f"| {t['pass']} | {table[-1]['shape']} | {g['impl']} | {float(g['gbps']):.2f} "
              f"| {t['gbps']:.2f} | {ratio:.2f}x | {g['threads']}/{t['threads']} |", file=out)
    slower = [c for c in table if c["ratio"] <= 1]
    if table:
        print(f"\ngptkit faster than torch for every shape: {'no' if slower else 'yes'} "
              f"({len(table) - len(slower)} of {len(table)} shapes faster)", file=out)
    else:
        print("\nno torch result matched a gptkit row on B C L K layout padding dtype bias silu "
              "pass", file=out)
    if 0 < len(table) < len(results):
        print(f"note: {len(results) - len(table)} torch result(s) not compared", file=sys.stderr)
    return table


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)

    def names(v):
        return [t for t in v.split(",") if t]

    def ints(v):
        return [int(t) for t in names(v)]
    ap.add_argument("--batch", "-B", type=ints, help="batch sizes (default 1,8)")
    ap.add_argument("--channels", "-C", type=ints, help="channel counts (default 256,1024,4096)")
    ap.add_argument("--seqlen", "-L", type=ints, help="sequence lengths (default 1024,4096)")
    ap.add_argument("--width", "-K", type=ints, help="kernel widths 1..64 (default 3,4)")
    ap.add_argument("--layout", type=names, help="bcl (x[B][C][L]), blc (x[B][L][C]); default bcl")
    ap.add_argument("--padding", type=names, help="causal and/or same (odd K); default causal")
    ap.add_argument("--dtype", type=names, help="fp32, bf16, fp16 (default fp32)")
    ap.add_argument("--bias", action="store_true", help="add a per-channel bias")
    ap.add_argument("--silu", action="store_true", help="SiLU after the convolution")
    ap.add_argument("--pass", dest="passes", type=names, help="fwd, bwd or both (default fwd)")
    ap.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto",
                    help="auto: cuda when torch sees a GPU (default)")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's)")
    ap.add_argument("--iters", type=int, default=20, help="timed runs; the median is reported")
    ap.add_argument("--warmup", type=int, default=3, help="untimed runs first")
    ap.add_argument("--max-seconds", type=float, default=2.0, help="time limit per shape and pass")
    ap.add_argument("--csv", help="write gpt-conv-bench sweep CSV rows (impl torch-cpu/torch-cuda)")
    ap.add_argument("--json", action="store_true",
                    help="one JSON object on stdout; tables to stderr")
    ap.add_argument("--compare", metavar="GPTKIT_SWEEP.csv",
                    help="Markdown table of gptkit's best impl vs torch per shape; without shape "
                         "flags, run exactly the CSV's shapes")
    a = ap.parse_args()
    a.explicit = a.bias or a.silu or any(getattr(a, f) is not None for f in (
        "batch", "channels", "seqlen", "width", "layout", "padding", "dtype", "passes"))
    a.passes = ["fwd", "bwd"] if "both" in (a.passes or []) else a.passes or ["fwd"]
    a.batch, a.channels = a.batch or [1, 8], a.channels or [256, 1024, 4096]
    a.seqlen, a.width = a.seqlen or [1024, 4096], a.width or [3, 4]
    a.layout, a.padding, a.dtype = a.layout or ["bcl"], a.padding or ["causal"], a.dtype or ["fp32"]
    for flag, vals, ok in (("--layout", a.layout, {"bcl", "blc"}), ("--dtype", a.dtype, SIZE),
                           ("--padding", a.padding, {"causal", "same"}),
                           ("--pass", a.passes, {"fwd", "bwd"})):
        if not set(vals) <= set(ok):
            ap.error(f"{flag}: expected some of {', '.join(sorted(ok))}")
    if min(a.batch + a.channels + a.seqlen) < 1 or a.iters < 1 or a.warmup < 0 or a.threads < 0:
        ap.error("sizes and --iters must be >= 1; --warmup, --threads >= 0")
    if any(not 1 <= k <= 64 or ("same" in a.padding and k % 2 == 0) for k in a.width):
        ap.error("--width: K must be in 1..64, and odd with --padding same")
    return a


def main():
    args = parse_args()
    global torch, F, np
    try:
        import numpy as np
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        raise RuntimeError(f"{e}: install PyTorch (apt-get install python3-torch) and run this "
                           "with /usr/bin/python3 (or a python3 whose torch has CUDA)")
    if args.threads:
        torch.set_num_threads(args.threads)
    dev = args.device if args.device != "auto" else "cuda" if torch.cuda.is_available() else "cpu"
    if dev == "cuda" and not torch.cuda.is_available():
        why = f"built with CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise RuntimeError(f"--device cuda, but torch {torch.__version__} sees no GPU ({why})")
    info = backend_info(dev)
    print("torch backend: " + ", ".join(f"{k}={v}" for k, v in info.items()), file=sys.stderr)

    gk = gptkit_rows(args.compare, dev) if args.compare else None
    if gk and not args.explicit:
        todo = {(Shape(int(r["B"]), int(r["C"]), int(r["L"]), int(r["K"]), r["layout"],
                       r["padding"], r["dtype"], r["bias"] == "1", r["silu"] == "1"), r["pass"])
                for r in gk}
        todo = sorted(todo, key=lambda t: (t[0], t[1] != "fwd"))
    else:
        todo = [(Shape(B, C, L, K, lay, pad, dt, args.bias, args.silu), p)
                for B in args.batch for C in args.channels for L in args.seqlen
                for K in args.width for lay in args.layout for pad in args.padding
                for dt in args.dtype for p in args.passes]

    # The formula check doubles as the probe for the dtypes torch can run on this device.
    skip, checks = set(), {}
    for s in sorted({s._replace(B=2, C=3, L=s.K + 6) for s, _ in todo}):
        if s.dtype in skip:
            continue
        try:
            errs = check_formula(s, dev)
        except (RuntimeError, TypeError) as e:
            print(f"note: skipping {s.dtype}: torch {torch.__version__} on {dev} cannot run it "
                  f"({str(e).splitlines()[0]})", file=sys.stderr)
            skip.add(s.dtype)
            continue
        tol = 1e-4 if s.dtype == "fp32" else 3e-2  # loose for 16-bit: misalignment gives O(1)
        if any(not v <= tol for v in errs.values()):
            raise RuntimeError(f"torch disagrees with the formula on {describe(s)}: {errs} > {tol}")
        checks[describe(s)] = errs
    print(f"formula check vs float64: {len(checks)} small shape(s) ok", file=sys.stderr)

    human = sys.stderr if args.json else sys.stdout
    print(f"{'pass':4} {'shape':<46} {'ms':>10} {'GB/s':>8} {'%copy':>6} {'GFLOP/s':>8}  kernel",
          file=human)
    out = open(args.csv, "w", newline="") if args.csv else None
    writer = csv.DictWriter(out, CSV_COLUMNS) if out else None
    if writer:
        writer.writeheader()
    results = []
    for s, p in todo:
        if s.dtype in skip:
            continue
        r = bench(s, p, dev, args)
        results.append(r)
        if r["ok"] == "unavailable":
            print(f"{p:4} {describe(s):<46} failed: {r['note']}", file=human, flush=True)
        else:
            print(f"{p:4} {describe(s):<46} {r['ms']:>10.4f} {r['gbps']:>8.2f} "
                  f"{r['pct_copy']:>5.1f}% {r['gflops']:>8.2f}  {r['kernel']}",
                  file=human, flush=True)
        if writer:
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in r.items()})
            out.flush()
    if out:
        out.close()
        print(f"wrote {args.csv}", file=sys.stderr)
    table = None
    if gk:
        print(file=human)
        table = compare(gk, results, human)
    if args.json:
        json.dump({"tool": "conv_vs_torch", "backend": info, "formula_check": checks,
                   "skipped_dtypes": sorted(skip), "results": results, "compare": table},
                  sys.stdout)
        print()
    failed = sum(r["ok"] == "unavailable" for r in results)
    if failed:
        raise RuntimeError(f"{failed} shape(s) failed to run (see the table)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
