#!/usr/bin/env bash
# Final and best val loss of shakespeare_char_cpu over several seeds, gptkit against the
# nanoGPT-style PyTorch peer (scripts/bench/torch_train.py), both evaluating EVAL_ITERS batches
# per split. Measures where the config lands, not speed: each run uses one thread.
#   scripts/bench/val_loss_seeds.sh [BUILD_DIR] [SEEDS...]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}; shift || true
[ $# -gt 0 ] && seeds=("$@") || seeds=(1 2 3)
config=$here/configs/shakespeare_char_cpu.json
corpus=${GPT_CORPUS:-$here/../shared/data/tinyshakespeare.txt}
out=${OUT:-$build/bench/val_loss_seeds}
eval_iters=${EVAL_ITERS:-100}
mkdir -p "$out"
"$build/gpt-prepare" --input "$corpus" --out "$out/data" 2>/dev/null
for s in "${seeds[@]}"; do
  OMP_NUM_THREADS=1 "$build/gpt-train" --config "$config" --set data.dir="$out/data" --set train.seed="$s" \
    --set train.eval_iters="$eval_iters" --out "$out/gptkit_$s" -q --json > /dev/null
  OMP_NUM_THREADS=1 /usr/bin/python3 "$here/scripts/bench/torch_train.py" --config "$config" --data "$out/data" \
    --threads 1 --seed "$s" --eval-iters "$eval_iters" --out "$out/pytorch_$s.csv" > /dev/null 2>&1
done
/usr/bin/python3 - "$out" "${seeds[@]}" <<'PY'
import csv, json, statistics, sys
out, seeds = sys.argv[1], sys.argv[2:]
rows = {"gptkit": [], "PyTorch": []}
for s in seeds:
    g = [json.loads(l)["val_loss"] for l in open(f"{out}/gptkit_{s}/metrics.jsonl") if '"eval"' in l]
    p = [float(r["val_loss"]) for r in csv.DictReader(open(f"{out}/pytorch_{s}.csv"))]
    rows["gptkit"].append((s, g[-1], min(g)))
    rows["PyTorch"].append((s, p[-1], min(p)))
print("| impl | seed | final val | best val |\n|---|---|---|---|")
for k, v in rows.items():
    for s, f, b in v: print(f"| {k} | {s} | {f:.4f} | {b:.4f} |")
for k, v in rows.items():
    b = [x[2] for x in v]
    print(f"\n{k}: mean best val {statistics.mean(b):.4f} (min {min(b):.4f}, max {max(b):.4f}) over {len(b)} seeds")
PY
