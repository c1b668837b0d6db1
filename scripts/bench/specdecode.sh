#!/usr/bin/env bash
# Speculative decoding benchmark (issue 5): greedy speculative decoding of the trained
# Shakespeare pair against plain KV-cached target generation measured in the same process
# (--compare), for gamma 1..8 over 8 prompts from the validation text; then sampling at
# temperature 0.8. Markdown on stdout, JSON lines in $OUT.
#   scripts/bench/specdecode.sh [BUILD_DIR] [TARGET_CKPT] [DRAFT_CKPT] [THREADS]
# Train the pair first: gpt-train --config configs/spec_target.json; ... configs/spec_draft.json
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
target=${2:-$here/runs/spec_target/ckpt}
draft=${3:-$here/runs/spec_draft/ckpt}
threads=${4:-1}
corpus=${GPT_CORPUS:-$here/../shared/data/tinyshakespeare.txt}
out=${OUT:-$build/bench/specdecode}
new=${NEW_TOKENS:-100}
mkdir -p "$out"
for d in "$target" "$draft"; do
  [ -d "$d" ] || { echo "error: $d not found: train it (gpt-train --config configs/spec_target.json / spec_draft.json)" >&2; exit 1; }
done
export OMP_NUM_THREADS=$threads
# 8 prompts: 24 characters from the start of lines in the last 10% of the corpus (validation text).
/usr/bin/python3 - "$corpus" "$out/prompts" <<'PY'
import random, sys
text = open(sys.argv[1], encoding="utf-8").read()
val = text[int(len(text) * 0.9):]
starts = [i + 1 for i, c in enumerate(val[:-30]) if c == "\n" and val[i + 1].isalpha()]
random.seed(5)
with open(sys.argv[2], "w") as f:
    for s in random.sample(starts, 8): f.write(val[s:s + 24].replace("\n", "\\n") + "\n")
PY
: > "$out/runs.jsonl"
run() {  # tag, extra flags...
  local tag=$1; shift
  while IFS= read -r p; do
    "$build/gpt-specdecode" --target "$target" --draft "$draft" --prompt "$(printf '%b' "$p")" \
      --max-new-tokens "$new" --compare --json "$@" 2>/dev/null |
      /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); d['tag']='$tag'; d.pop('token_ids'); d.pop('text', None); print(json.dumps(d))" >> "$out/runs.jsonl"
  done < "$out/prompts"
}
for g in 1 2 3 4 5 6 7 8; do
  echo "[greedy] gamma $g" >&2
  run "greedy" --temperature 0 --gamma $g
done
for g in 2 4; do
  echo "[T=0.8 top-k 200, rejection] gamma $g" >&2
  run "sampled" --temperature 0.8 --top-k 200 --gamma $g --seed 1
done
/usr/bin/python3 - "$out/runs.jsonl" "$threads" <<'PY'
import json, sys
from collections import defaultdict
rows = [json.loads(l) for l in open(sys.argv[1])]
groups = defaultdict(list)
for r in rows: groups[(r["tag"], r["gamma"])].append(r)
def tot(rs, k): return sum(r[k] for r in rs)
print(f"8 prompts x {rows[0]['new_tokens']} new tokens per row, {sys.argv[2]} thread(s); speedups are total plain time / total speculative time\n")
print("| sampling | gamma | alpha_hat | acceptance | tokens / target call | c | predicted | measured | measured / predicted | identical |")
print("|---|---|---|---|---|---|---|---|---|---|")
best = None
for (tag, g), rs in sorted(groups.items()):
    drafted, accepted = tot(rs, "drafted"), tot(rs, "accepted")
    alpha = sum(r["alpha_hat"] * r["drafted"] for r in rs) / max(1, drafted)
    tpc = tot(rs, "new_tokens") / tot(rs, "target_calls")
    c = sum(r["c_measured"] for r in rs) / len(rs)
    pred = (1 - alpha ** (g + 1)) / ((1 - alpha) * (g * c + 1)) if alpha < 1 else (g + 1) / (g * c + 1)
    meas = tot(rs, "plain_seconds") / tot(rs, "seconds")
    ident = all(r["identical"] for r in rs) if tag == "greedy" else None
    print(f"| {'greedy' if tag == 'greedy' else 'T=0.8, top-k 200'} | {g} | {alpha:.3f} | {accepted / max(1, drafted):.3f} | {tpc:.2f} | "
          f"{c:.3f} | {pred:.2f}x | {meas:.2f}x | {meas / pred:.2f} | {'n/a' if ident is None else ('yes' if ident else 'NO')} |")
    if tag == "greedy" and (best is None or meas > best[1]): best = (g, meas)
print(f"\nbest gamma (greedy): {best[0]}, {best[1]:.2f}x faster than plain KV-cached target decoding")
PY
