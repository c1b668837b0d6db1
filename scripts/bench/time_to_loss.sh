#!/usr/bin/env bash
# Time to val loss: gptkit's gpt-train against nanoGPT-style PyTorch training
# (scripts/bench/torch_train.py) with the same config, data and machine, in one run.
# Writes both curves into one plot and prints a Markdown summary.
#   scripts/bench/time_to_loss.sh [BUILD_DIR] [GPTKIT_THREADS] [TORCH_THREADS] [CONFIG]
# Each side runs at its own best thread count from train_step.sh (PyTorch is often faster at 1).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
threads=${2:-2}
tthreads=${3:-1}
config=${4:-$here/configs/shakespeare_char_cpu.json}
corpus=${GPT_CORPUS:-$here/../shared/data/tinyshakespeare.txt}
out=${OUT:-$build/bench/time_to_loss}
target=${TARGET_LOSS:-1.90}
# Both sides evaluate the same number of batches; 20 (the config's) leaves about +-0.02 of noise.
eval_iters=${EVAL_ITERS:-100}
mkdir -p "$out"
"$build/gpt-prepare" --input "$corpus" --out "$out/data" 2>/dev/null
echo "[gptkit] $threads thread(s)" >&2
OMP_NUM_THREADS=$threads "$build/gpt-train" --config "$config" --set data.dir="$out/data" \
  --set train.eval_iters="$eval_iters" --out "$out/gptkit" -q --json > "$out/gptkit.json"
echo "[pytorch] $tthreads thread(s)" >&2
OMP_NUM_THREADS=$tthreads /usr/bin/python3 "$here/scripts/bench/torch_train.py" --config "$config" \
  --data "$out/data" --threads "$tthreads" --eval-iters "$eval_iters" --out "$out/pytorch.csv" > "$out/pytorch.json"
/usr/bin/python3 "$here/scripts/plot_metrics.py" "$out/gptkit" "$out/pytorch.csv" \
  --label "gptkit ($threads thr)" --label "PyTorch $(/usr/bin/python3 -c 'import torch;print(torch.__version__)') ($tthreads thr)" \
  -o "$out/time_to_loss.png" >/dev/null
/usr/bin/python3 - "$out" "$target" <<'PY'
import csv, json, sys
out, target = sys.argv[1], float(sys.argv[2])
g = [json.loads(l) for l in open(f"{out}/gptkit/metrics.jsonl")]
gv = [(r["step"], r["elapsed_s"], r["val_loss"]) for r in g if r["kind"] == "eval"]
pv = [(int(r["step"]), float(r["elapsed_s"]), float(r["val_loss"])) for r in csv.DictReader(open(f"{out}/pytorch.csv"))]
def first(v):
    for s, t, l in v:
        if l <= target: return s, t
    return None, None
gs, gt = first(gv); ps, pt = first(pv)
print(f"| impl | best val loss | total time (s) | first eval with val <= {target} (step, s) |")
print("|---|---|---|---|")
print(f"| gptkit | {min(l for _,_,l in gv):.4f} | {gv[-1][1]:.1f} | {gs}, {gt if gt is None else round(gt,1)} |")
print(f"| PyTorch | {min(l for _,_,l in pv):.4f} | {pv[-1][1]:.1f} | {ps}, {pt if pt is None else round(pt,1)} |")
if gt and pt: print(f"\ngptkit reaches val <= {target} {pt/gt:.2f}x sooner in wall time.")
print(f"\nplot: {out}/time_to_loss.png")
PY
