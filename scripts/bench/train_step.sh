#!/usr/bin/env bash
# Training-step benchmark: gptkit's CPU engine against the PyTorch reference, same machine,
# same run, at 1 and 2 threads, for the two issue shapes. Writes a Markdown table to stdout
# and the raw JSON lines to $OUT (default: build/bench/train_step.jsonl).
#   scripts/bench/train_step.sh [BUILD_DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
out=${OUT:-$build/bench/train_step.jsonl}
mkdir -p "$(dirname "$out")"
: > "$out"
bench=$build/bench-train-step
[ -x "$bench" ] || { echo "error: $bench not found; build first (scripts/setup.sh)" >&2; exit 1; }
py=/usr/bin/python3
have_torch=1
$py -c 'import torch' 2>/dev/null || { have_torch=0; echo "note: python3-torch not installed; PyTorch columns skipped" >&2; }

# name | model flags | steps | warmup
shapes=(
  "baby|--n-layer 4 --n-head 4 --n-embd 128 --block-size 64 --batch 12|30|5"
  "shakespeare_char|--n-layer 6 --n-head 6 --n-embd 384 --block-size 256 --batch 64|4|1"
)
for s in "${shapes[@]}"; do
  IFS='|' read -r name flags steps warmup <<<"$s"
  for th in 1 2; do
    echo "[$name] gptkit, $th thread(s)" >&2
    OMP_NUM_THREADS=$th $bench $flags --vocab 65 --steps "$steps" --warmup "$warmup" \
      | $py -c "import json,sys; d=json.loads(sys.stdin.read()); d['shape']='$name'; print(json.dumps(d))" >> "$out"
    if [ $have_torch = 1 ]; then
      echo "[$name] pytorch, $th thread(s)" >&2
      OMP_NUM_THREADS=$th $py "$here/scripts/bench/torch_train_step.py" $flags --vocab 65 \
        --threads "$th" --steps "$steps" --warmup "$warmup" \
        | $py -c "import json,sys; d=json.loads(sys.stdin.read()); d['shape']='$name'; print(json.dumps(d))" >> "$out"
    fi
  done
done
$py "$here/scripts/bench/train_step_table.py" "$out"
