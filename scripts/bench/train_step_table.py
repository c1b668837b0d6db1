#!/usr/bin/python3
"""Turns train_step.jsonl (bench-train-step and torch_train_step.py lines) into Markdown:
one row per shape with each implementation's best thread setting and the ratio."""
import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("| shape | impl | threads | ms/step | tokens/s | MFU vs sgemm peak |")
print("|---|---|---|---|---|---|")
for r in rows:
    mfu = f"{100 * r['mfu_vs_sgemm']:.0f}% of {r['sgemm_peak_gflops']:.0f} GFLOP/s" if "mfu_vs_sgemm" in r else "-"
    print(f"| {r['shape']} | {r['impl']} | {r['threads']} | {r['ms_per_step_median']:.1f} | "
          f"{r['tokens_per_s']:.0f} | {mfu} |")
print()
print("| shape | gptkit best tok/s | PyTorch best tok/s | ratio |")
print("|---|---|---|---|")
for shape in dict.fromkeys(r["shape"] for r in rows):
    best = {}
    for r in rows:
        if r["shape"] == shape:
            best[r["impl"]] = max(best.get(r["impl"], 0), r["tokens_per_s"])
    g, p = best.get("gptkit"), best.get("pytorch")
    ratio = f"{g / p:.2f}x" if g and p else "-"
    print(f"| {shape} | {g:.0f} | {p:.0f} | {ratio} |" if p else f"| {shape} | {g:.0f} | - | - |")
