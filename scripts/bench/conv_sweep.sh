#!/usr/bin/env bash
# Depthwise conv1d sweep: gpt-conv-bench --sweep at each thread count, a PNG per CSV, and a
# markdown summary (GB/s, % of copy, speed-up over the reference) with machine, command, date.
#
# usage: scripts/bench/conv_sweep.sh BUILD_DIR OUTDIR [gpt-conv-bench args...]
#   THREADS="1 2" (default) picks the OpenMP thread counts. Without shape args the CPU grid
#   below is used (K=4/3, fp32/bf16, both layouts, forward and backward, 4-134 MB moved).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR OUTDIR [gpt-conv-bench args...]" >&2; exit 2; }
build=$(cd "$1" && pwd); out=$2; shift 2
src=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
args=("$@")
if [ ${#args[@]} -eq 0 ]; then
  args=(-B 1,8 -C 256,1024 -L 4096 -K 4 --layout bcl,blc --dtype fp32,bf16 --pass both
        --impl cpu-ref,cpu --iters 10 --warmup 2 --max-seconds 2)
fi
{
  echo "# gpt-conv-bench sweep"
  echo
  echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "- machine: $(uname -m), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- command: OMP_NUM_THREADS=<t> $build/gpt-conv-bench --sweep <csv> ${args[*]}"
  echo
} > "$out/summary.md"
for t in ${THREADS:-1 2}; do
  csv="$out/sweep_t$t.csv"
  echo "== OMP_NUM_THREADS=$t -> $csv" >&2
  OMP_NUM_THREADS=$t "$build/gpt-conv-bench" --sweep "$csv" "${args[@]}" > "$out/sweep_t$t.txt" || \
    echo "warning: gpt-conv-bench exited $? (see $out/sweep_t$t.txt)" >&2
  if /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
    /usr/bin/python3 "$src/scripts/plot_conv_sweep.py" "$csv" "$out/sweep_t$t.png" >/dev/null || true
  fi
done
python3 - "$out" ${THREADS:-1 2} >> "$out/summary.md" <<'EOF'
import csv, sys
out, threads = sys.argv[1], sys.argv[2:]
print("| threads | pass | shape | impl | ms | GB/s | % of copy | copy GB/s | x ref | check |")
print("|---|---|---|---|---|---|---|---|---|---|")
for t in threads:
    try:
        rows = list(csv.DictReader(open(f"{out}/sweep_t{t}.csv")))
    except FileNotFoundError:
        continue
    for r in rows:
        if r["ok"] == "unavailable":
            continue
        shape = f'B={r["B"]} C={r["C"]} L={r["L"]} K={r["K"]} {r["layout"]} {r["padding"]} {r["dtype"]}'
        print(f'| {t} | {r["pass"]} | {shape} | {r["impl"]} | {float(r["ms"]):.3f} | {float(r["gbps"]):.2f} '
              f'| {float(r["pct_copy"]):.0f}% | {float(r["copy_gbps"]):.2f} | {float(r["speedup_vs_ref"]):.1f} | {r["ok"]} |')
EOF
echo "wrote $out/summary.md" >&2
