#!/usr/bin/env bash
# The course's (CS229S P2) two inference runs on GPT-2 checkpoints, printed as its harness
# prints them: [NAIVE] / [KV] / [SPEC] tok/s lines and the identity checks.
#   scripts/bench/course_presets.sh --target DIR [--draft DIR] --prompts FILE.jsonl
#       [--build DIR] [--preset course-kv|course-spec|both] [--samples 3] [--warmup 1]
#       [--device cpu|cuda] [-- extra flags for gpt-generate / gpt-specdecode]
# DIR is a Hugging Face GPT-2 directory (model.safetensors, config.json, vocab.json,
# merges.txt), e.g. gpt2-large as target and gpt2 as draft; FILE is HumanEval's jsonl.
# Like the harness: one warm-up, then --samples timed runs seeded 1337 + k; tokens counted
# as batch x samples x new tokens; wall time includes the prefill; the generations of batch
# element 0 are compared position by position. SPEC runs only at batch 1 (course-spec).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=$here/build target= draft= prompts= preset=both samples=3 warmup=1 device=cpu
extra=()
while [ $# -gt 0 ]; do
  case $1 in
    --target) target=$2; shift 2;; --draft) draft=$2; shift 2;; --prompts) prompts=$2; shift 2;;
    --build) build=$2; shift 2;; --preset) preset=$2; shift 2;; --samples) samples=$2; shift 2;;
    --warmup) warmup=$2; shift 2;; --device) device=$2; shift 2;;
    --) shift; extra=("$@"); break;;
    -h|--help) sed -n 2,12p "$0"; exit 0;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2;;
  esac
done
[ -n "$target" ] && [ -n "$prompts" ] || { echo "error: give --target DIR and --prompts FILE.jsonl (see --help)" >&2; exit 2; }
[ -d "$target" ] || { echo "error: target directory $target not found" >&2; exit 1; }
[ -f "$prompts" ] || { echo "error: prompt file $prompts not found (HumanEval's humaneval.jsonl)" >&2; exit 1; }
presets=$preset; [ "$preset" = both ] && presets="course-kv course-spec"
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT

# phase NAME PRESET: warm-up + timed samples, one JSON per sample in $out/NAME.jsonl
phase() {
  local name=$1 p=$2 k cmd
  : > "$out/$name.jsonl"
  for ((k = -warmup; k < samples; k++)); do
    case $name in
      NAIVE) cmd=("$build/gpt-generate" --ckpt "$target" --no-kv-cache);;
      KV) cmd=("$build/gpt-generate" --ckpt "$target");;
      SPEC) cmd=("$build/gpt-specdecode" --target "$target" --draft "$draft");;
    esac
    local t0 t1 res
    t0=$(date +%s.%N)
    res=$("${cmd[@]}" --preset "$p" --prompts-jsonl "$prompts" --seed $((1337 + (k < 0 ? 0 : k))) \
      --device "$device" --json "${extra[@]}" 2>"$out/err") || { cat "$out/err" >&2; exit 1; }
    t1=$(date +%s.%N)
    [ $k -ge 0 ] && printf '%s\n' "$res" | /usr/bin/env python3 -c "
import json, sys; d = json.load(sys.stdin); ids = d['token_ids']
print(json.dumps({'wall_s': $t1 - $t0, 'ids0': ids[0] if isinstance(ids[0], list) else ids,
                  'batch': len(ids) if isinstance(ids[0], list) else 1, 'new': d['new_tokens']}))" >> "$out/$name.jsonl"
  done
  /usr/bin/env python3 - "$out/$name.jsonl" "$name" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
n = sum(r['batch'] * r['new'] for r in rows); t = sum(r['wall_s'] for r in rows)
print(f"[{sys.argv[2]}] Generated {n} tokens in {t:.2f} seconds for {n / t:.2f} tok/sec.")
PY
}
# matched A B: positions where batch element 0's tokens agree, over all samples
matched() {
  /usr/bin/env python3 - "$out/$1.jsonl" "$out/$2.jsonl" "$1" "$2" <<'PY'
import json, sys
a = [json.loads(l)['ids0'] for l in open(sys.argv[1])]
b = [json.loads(l)['ids0'] for l in open(sys.argv[2])]
same = sum(x == y for s, t in zip(a, b) for x, y in zip(s, t))
total = sum(max(len(s), len(t)) for s, t in zip(a, b))
print(f"{sys.argv[3]} and {sys.argv[4]} generations matched on {same} positions")
open(sys.argv[1] + ".ok", "a").write("1\n" if same == total else "0\n")
PY
}

for p in $presets; do
  echo "== $p: target $target${draft:+, draft $draft}, $samples sample(s) after $warmup warm-up, $device =="
  phase NAIVE "$p"; phase KV "$p"; matched NAIVE KV
  if [ "$p" = course-spec ]; then
    [ -n "$draft" ] || { echo "error: course-spec needs --draft DIR (the course uses gpt2)" >&2; exit 1; }
    phase SPEC "$p"; matched NAIVE SPEC
  fi
  if grep -q 0 "$out/NAIVE.jsonl.ok"; then echo "NOT all generations matched :("; fail=1; else echo "All generations matched :)"; fi
  rm -f "$out/NAIVE.jsonl.ok"
done
exit ${fail:-0}
