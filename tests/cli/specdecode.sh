#!/usr/bin/env bash
# gpt-specdecode end to end: greedy and match outputs equal gpt-generate's, the statistics are
# consistent, a draft equal to the target accepts everything, and mismatched models are errors.
set -euo pipefail
build=$1; src=$2
. "$src/tests/cli/lib/common.sh"
need_corpus
export OMP_NUM_THREADS=1

# A target and a smaller draft, a few steps each (block_size 32, so 60 new tokens cross it).
"$build/gpt-prepare" --input "$corpus" --out "$t/data" >/dev/null 2>&1
train() {  # out, layers, width
  "$build/gpt-train" -c "$src/configs/shakespeare_char_cpu.json" --set data.dir="$t/data" \
    --set model.n_layer="$2" --set model.n_embd="$3" --set model.n_head=2 --set model.block_size=32 \
    --set train.batch_size=4 --set train.eval_iters=1 --set train.max_iters=40 --set train.eval_interval=40 \
    --set train.warmup_iters=2 --set train.lr_decay_iters=40 --out "$t/$1" -q >/dev/null 2>&1
}
train target 2 32; train draft 1 16
T=$t/target/ckpt; D=$t/draft/ckpt

# 1. greedy: identical to plain greedy generation for several gamma, both methods
for gamma in 1 3 8; do
  for method in rejection match; do
    "$build/gpt-specdecode" --target "$T" --draft "$D" --prompt "ROMEO:" --max-new-tokens 60 --temperature 0 \
      --gamma $gamma --method $method --compare --json > "$t/s.json" 2>/dev/null
    python3 - "$t/s.json" $gamma <<'PY' && ok "greedy $method gamma $gamma equals plain generation" || bad "greedy $method gamma $gamma: $(cat "$t/s.json")"
import json, sys
s, g = json.load(open(sys.argv[1])), int(sys.argv[2])
for k in ("target_calls", "draft_calls", "drafted", "accepted", "acceptance", "alpha_hat",
          "tokens_per_target_call", "c_measured", "predicted_speedup", "measured_speedup", "tokens_per_s"):
    assert k in s, k
assert s["identical"] is True and s["new_tokens"] == 60 and s["text"].startswith("ROMEO:")
assert s["accepted"] <= s["drafted"] and abs(s["acceptance"] - s["accepted"] / s["drafted"]) < 1e-12
assert s["target_calls"] + s["accepted"] == 60
assert 0 <= s["alpha_hat"] <= 1 and s["measured_speedup"] > 0
PY
  done
done

# 2. match at temperature > 0: the same tokens as gpt-generate with the same seed and flags
"$build/gpt-specdecode" --target "$T" --draft "$D" --prompt "KING" --max-new-tokens 50 --temperature 0.9 \
  --top-k 10 --seed 11 --method match --json > "$t/m.json" 2>/dev/null
"$build/gpt-generate" --ckpt "$T" --prompt "KING" --max-new-tokens 50 --temperature 0.9 --top-k 10 --seed 11 \
  --json > "$t/g.json" 2>/dev/null
python3 -c "
import json; a = json.load(open('$t/m.json')); b = json.load(open('$t/g.json'))
assert a['token_ids'] == b['token_ids'][0], (a['text'], b['texts'][0])
" && ok "match equals gpt-generate at temperature 0.9" || bad "match vs gpt-generate"

# 3. draft = target: everything accepted, gamma + 1 tokens per call (inside block_size)
"$build/gpt-specdecode" --target "$T" --draft "$T" --prompt "A" --max-new-tokens 25 --temperature 1 \
  --gamma 4 --json > "$t/same.json" 2>/dev/null
python3 -c "
import json; s = json.load(open('$t/same.json'))
assert s['accepted'] == s['drafted'] and s['tokens_per_target_call'] == 5 and s['target_calls'] == 5, s
" && ok "draft = target accepts every token" || bad "draft = target: $(cat "$t/same.json")"

# 4. bad input
head -c 30000 "$corpus" > "$t/small.txt"   # fewer distinct characters: a smaller vocabulary
"$build/gpt-prepare" --input "$t/small.txt" --out "$t/data_small" >/dev/null 2>&1
"$build/gpt-train" -c "$src/configs/shakespeare_char_cpu.json" --set data.dir="$t/data_small" \
  --set model.n_layer=1 --set model.n_embd=16 --set model.n_head=2 --set model.block_size=32 \
  --set train.batch_size=4 --set train.eval_iters=1 --set train.max_iters=2 --set train.eval_interval=2 \
  --out "$t/small" -q >/dev/null 2>&1
expect_rc "draft with another vocabulary" 1 "differs from the target's" "$build/gpt-specdecode" --target "$T" --draft "$t/small/ckpt"
cp -r "$D" "$t/swapped"
python3 - "$t/swapped/tokenizer.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); v = t["vocab"]; v[10], v[11] = v[11], v[10]; json.dump(t, open(sys.argv[1], "w"))
PY
expect_rc "draft with another tokenizer" 1 "different tokenizers" "$build/gpt-specdecode" --target "$T" --draft "$t/swapped"
expect_rc "gamma 0" 2 "gamma" "$build/gpt-specdecode" --target "$T" --draft "$D" --gamma 0
expect_rc "unknown method" 2 "method" "$build/gpt-specdecode" --target "$T" --draft "$D" --method beam
expect_rc "top-p > 1" 1 "top-p must be in (0, 1]" "$build/gpt-specdecode" --target "$T" --draft "$D" --top-p 2

finish specdecode
