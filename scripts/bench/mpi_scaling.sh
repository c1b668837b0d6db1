#!/usr/bin/env bash
# Data-parallel scaling on one machine (issue 11): the same global batch trained by
#   1 rank x 2 threads (grad_accum 2), 2 ranks x 1 thread (grad_accum 1), and the base,
#   1 rank x 1 thread (grad_accum 1, half the batch per step),
# then the measured allreduce time per step projected onto network links.
#   scripts/bench/mpi_scaling.sh [BUILD_DIR] [STEPS]
# Config: shakespeare_char_cpu (nanoGPT's CPU config). Markdown on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
steps=${2:-200}
corpus=${GPT_CORPUS:-$here/../shared/data/tinyshakespeare.txt}
out=${OUT:-$build/bench/mpi_scaling}
mkdir -p "$out"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
[ -f "$out/data/meta.json" ] || "$build/gpt-prepare" --input "$corpus" --out "$out/data" >/dev/null 2>&1
cfg=(-c "$here/configs/shakespeare_char_cpu.json" --set data.dir="$out/data" --set train.max_iters="$steps"
     --set train.eval_interval=100000 --set train.log_interval=10 -q --json)
run() {  # name ranks threads accum
  local name=$1 np=$2 th=$3 acc=$4
  if [ "$np" = 1 ]; then
    OMP_NUM_THREADS=$th "$build/gpt-train" "${cfg[@]}" --set train.grad_accum="$acc" --out "$out/$name" > "$out/$name.json"
  else
    mpirun -np "$np" --bind-to core -x OMP_NUM_THREADS="$th" "$build/gpt-train" "${cfg[@]}" \
      --set train.grad_accum="$acc" --out "$out/$name" > "$out/$name.json"
  fi
}
run base 1 1 1
run threads 1 2 2
run ranks 2 1 1
/usr/bin/python3 - "$out" "$steps" <<'PY'
import json, sys
out, steps = sys.argv[1], int(sys.argv[2])
r = {n: json.load(open(f"{out}/{n}.json")) for n in ("base", "threads", "ranks")}
params = 0.80e6  # shakespeare_char_cpu: 0.80M parameters -> 3.2 MB of fp32 gradients
print("| setup | global batch per step | tokens/s | vs 1 rank x 1 thread | allreduce ms/step |")
print("|---|---|---|---|---|")
for n, label, b in (("base", "1 rank x 1 thread, accum 1", 12), ("threads", "1 rank x 2 threads, accum 2", 24),
                    ("ranks", "2 ranks x 1 thread, accum 1", 24)):
    d = r[n]
    print(f"| {label} | {b} x 64 | {d['tokens_per_s']:,.0f} | {d['tokens_per_s'] / r['base']['tokens_per_s']:.2f}x | "
          f"{1e3 * d.get('allreduce_s', 0) / steps:.2f} |")
eff = r["ranks"]["tokens_per_s"] / (2 * r["base"]["tokens_per_s"])
step_s = 12 * 64 / r["base"]["tokens_per_s"]  # one rank's compute per step
print(f"\nscaling efficiency, 2 ranks: {eff:.0%}; 2 ranks vs 2 threads in one rank: "
      f"{r['ranks']['tokens_per_s'] / r['threads']['tokens_per_s']:.2f}x")
print(f"measured allreduce per step (2 ranks, shared memory): {1e3 * r['ranks']['allreduce_s'] / steps:.2f} ms; "
      f"compute per step (1 thread): {1e3 * step_s:.1f} ms")
# Ring allreduce moves 2 (N-1)/N of the gradient bytes through each link.
bytes_ = 4 * params
print("\n| link | N | allreduce ms/step (ring, bandwidth only) | projected efficiency |")
print("|---|---|---|---|")
for name, gbps in (("1 GbE", 1), ("10 GbE", 10), ("100 Gb InfiniBand", 100)):
    for N in (2, 8):
        t = 2 * (N - 1) / N * bytes_ / (gbps * 1e9 / 8)
        print(f"| {name} | {N} | {1e3 * t:.2f} | {step_s / (step_s + t):.0%} |")
PY
