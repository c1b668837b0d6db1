#!/usr/bin/env bash
# The vocabulary-chunked loss (train.loss_chunk) on a GPT-2-vocabulary shape: ms per training
# step, activation memory and the process's peak RSS, for the whole-vocabulary loss and a few
# chunk sizes, beside the PyTorch reference step (F.cross_entropy on whole logits) in the same
# run. Writes a Markdown table to stdout and JSON lines to $OUT.
#   scripts/bench/loss_chunk.sh [BUILD_DIR] [THREADS]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
th=${2:-2}
out=${OUT:-$build/bench/loss_chunk.jsonl}
mkdir -p "$(dirname "$out")"
: > "$out"
bench=$build/bench-train-step
[ -x "$bench" ] || { echo "error: $bench not found; build first (scripts/setup.sh)" >&2; exit 1; }
py=/usr/bin/python3
# 4 layers of 256 at T=256, B=8 (N = 2048 rows) with GPT-2's 50257-token vocabulary: the
# [N, V] logits are 412 MB, far more than every other activation together.
flags="--n-layer 4 --n-head 4 --n-embd 256 --block-size 256 --batch 8 --vocab 50257"
steps=${STEPS:-4}
for chunk in 0 8192 2048; do
  echo "[loss_chunk] gptkit, chunk $chunk, $th thread(s)" >&2
  OMP_NUM_THREADS=$th $bench $flags --loss-chunk $chunk --steps "$steps" --warmup 1 >> "$out"
done
if $py -c 'import torch' 2>/dev/null; then
  echo "[loss_chunk] pytorch, $th thread(s)" >&2
  OMP_NUM_THREADS=$th $py "$here/scripts/bench/torch_train_step.py" $flags --threads "$th" \
    --steps "$steps" --warmup 1 >> "$out"
else
  echo "note: python3-torch not installed; the PyTorch row is skipped" >&2
fi
$py - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
base = next(r for r in rows if r.get("impl") == "gptkit" and r["loss_chunk"] == 0)
print("| impl | loss_chunk | ms/step (median) | vs whole-vocab gptkit | activations MB | peak RSS MB |")
print("|---|---|---|---|---|---|")
for r in rows:
    ms = r["ms_per_step_median"]
    chunk = r.get("loss_chunk", "—") if r["impl"] == "gptkit" else "— (whole logits)"
    act = f'{r["activation_mb"]:.0f}' if "activation_mb" in r else "—"
    print(f'| {r["impl"]} | {chunk} | {ms:.0f} | {ms / base["ms_per_step_median"]:.2f}× | {act} | {r.get("peak_rss_mb", 0):.0f} |')
PY
