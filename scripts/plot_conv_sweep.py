#!/usr/bin/python3
"""Plot a gpt-conv-bench --sweep CSV: achieved GB/s against bytes moved, one panel per pass,
one series per (impl, layout, dtype), with the measured copy bandwidth of the same run dashed.

usage: /usr/bin/python3 scripts/plot_conv_sweep.py sweep.csv [out.png]
"""
import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) > 1 else 2
    src = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else src.rsplit(".", 1)[0] + ".png"
    with open(src, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["ok"] in ("ok", "unchecked")]
    if not rows:
        print(f"error: no successful rows in {src}", file=sys.stderr)
        return 1
    passes = sorted({r["pass"] for r in rows}, key=lambda p: p != "fwd")
    fig, axes = plt.subplots(1, len(passes), figsize=(7 * len(passes), 5), squeeze=False)
    for ax, p in zip(axes[0], passes):
        series = defaultdict(list)
        copies = defaultdict(list)
        for r in rows:
            if r["pass"] != p:
                continue
            key = f'{r["impl"]} {r["layout"]} {r["dtype"]}'
            series[key].append((float(r["bytes"]), float(r["gbps"])))
            dev = "GPU" if r["impl"].startswith("cuda") else "CPU"
            copies[dev].append((float(r["bytes"]), float(r["copy_gbps"])))
        for key in sorted(series):
            pts = sorted(series[key])
            ax.plot([b for b, _ in pts], [g for _, g in pts], marker="o", ms=3, lw=1, label=key)
        for dev, pts in copies.items():
            best = {}
            for b, g in pts:
                best[b] = max(best.get(b, 0), g)
            xs = sorted(best)
            ax.plot(xs, [best[b] for b in xs], ls="--", color="k" if dev == "GPU" else "grey",
                    lw=1.5, label=f"{dev} copy (same bytes)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("bytes moved (x, y [, dy, dx] once each)")
        ax.set_ylabel("GB/s")
        ax.set_title(f"depthwise conv1d {p}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
