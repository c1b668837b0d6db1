#!/usr/bin/python3
"""Plot train and val loss of one or more gpt-train runs (their metrics.jsonl) against step
and against wall time, into one PNG.

    scripts/plot_metrics.py runs/a runs/b -o loss.png [--label A --label B]

A run may also be a metrics.jsonl path or a CSV with columns step,elapsed_s,val_loss (for a
peer such as the PyTorch reference)."""
import argparse
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    if os.path.isdir(path):
        path = os.path.join(path, "metrics.jsonl")
    if not os.path.exists(path):
        sys.exit(f"error: {path} not found; pass a run directory or a metrics.jsonl")
    train, val = [], []
    if path.endswith(".csv"):
        for r in csv.DictReader(open(path)):
            val.append((int(r["step"]), float(r["elapsed_s"]), float(r["val_loss"])))
            if r.get("train_loss"):
                train.append((int(r["step"]), float(r["elapsed_s"]), float(r["train_loss"])))
        return train, val
    for line in open(path):
        r = json.loads(line)
        if r.get("kind") == "train":
            train.append((r["step"], r["elapsed_s"], r["loss"]))
        elif r.get("kind") == "eval":
            val.append((r["step"], r["elapsed_s"], r["val_loss"]))
    return train, val


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("-o", "--out", default="loss.png")
    ap.add_argument("--label", action="append", default=[])
    a = ap.parse_args()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5))
    for i, run in enumerate(a.runs):
        label = a.label[i] if i < len(a.label) else os.path.basename(os.path.normpath(run))
        train, val = load(run)
        for ax, x in ((ax1, 0), (ax2, 1)):
            if train:
                l, = ax.plot([p[x] for p in train], [p[2] for p in train], alpha=0.35, lw=0.8)
                color = l.get_color()
            else:
                color = None
            if val:
                ax.plot([p[x] for p in val], [p[2] for p in val], "o-", ms=3, color=color, label=f"{label} val")
    ax1.set_xlabel("step")
    ax2.set_xlabel("wall time (s)")
    for ax in (ax1, ax2):
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle("train (faint) and val loss")
    fig.tight_layout()
    fig.savefig(a.out, dpi=120)
    print(a.out)


if __name__ == "__main__":
    main()
