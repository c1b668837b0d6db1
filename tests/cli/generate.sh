#!/usr/bin/env bash
# gpt-generate end to end: cached and uncached paths agree (batched, seeded, past block_size),
# prompt sources, streaming, JSON fields, --score, and every bad input of issue 4.
set -euo pipefail
build=$1; src=$2
. "$src/tests/cli/lib/common.sh"
need_corpus
export OMP_NUM_THREADS=1

# A small model trained for a few steps: block_size 16, so 30 new tokens cross it.
"$build/gpt-prepare" --input "$corpus" --out "$t/data" >/dev/null 2>&1
"$build/gpt-train" -c "$src/configs/shakespeare_char_cpu.json" --set data.dir="$t/data" \
  --set model.n_layer=2 --set model.n_embd=32 --set model.n_head=2 --set model.block_size=16 \
  --set train.batch_size=4 --set train.eval_iters=1 --set train.max_iters=30 --set train.eval_interval=30 \
  --set train.warmup_iters=2 --set train.lr_decay_iters=30 --out "$t/run" -q >/dev/null 2>&1
ck=$t/run/ckpt
gen() { "$build/gpt-generate" --ckpt "$ck" "$@"; }

# 1. human output starts with the prompt
gen --prompt "ROMEO:" --max-new-tokens 10 --seed 1 > "$t/h.txt" 2>/dev/null
[ "$(head -c 6 "$t/h.txt")" = "ROMEO:" ] && ok "sample starts with the prompt" || bad "human output: $(cat "$t/h.txt")"

# 2. the KV cache and full recomputation give the same tokens: greedy and seeded sampling,
#    3 samples as one batch, 30 new tokens from a 10-token prompt (past block_size 16)
for temp in 0 0.9; do
  gen --prompt "KING HENRY" --max-new-tokens 30 --num-samples 3 --temperature "$temp" --top-p 0.9 --seed 7 --json > "$t/kv.json" 2>/dev/null
  gen --prompt "KING HENRY" --max-new-tokens 30 --num-samples 3 --temperature "$temp" --top-p 0.9 --seed 7 --json --no-kv-cache > "$t/nokv.json" 2>/dev/null
  python3 - "$t/kv.json" "$t/nokv.json" "$temp" <<'PY' && ok "kv == no-kv at temperature $temp" || bad "kv vs no-kv at temperature $temp"
import json, sys
a, b, temp = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), float(sys.argv[3])
for k in ("texts", "token_ids", "prompt_tokens", "new_tokens", "prefill_ms", "decode_ms",
          "decode_tokens_per_s", "kv_cache", "kv_cache_bytes"):
    assert k in a and k in b, k
assert a["token_ids"] == b["token_ids"] and a["texts"] == b["texts"]
assert a["kv_cache"] is True and b["kv_cache"] is False
# 2 layers x (k, v) x batch 3 x 16 positions x 32 floats x 4 bytes
assert a["kv_cache_bytes"] == 2 * 2 * 3 * 16 * 32 * 4 and b["kv_cache_bytes"] == 0, a["kv_cache_bytes"]
assert a["prompt_tokens"] == 10 and a["new_tokens"] == 30 and a["rebuilds"] == 23
assert all(len(s) == 40 and t.startswith("KING HENRY") for s, t in zip(a["token_ids"], a["texts"]))
if temp > 0: assert len({tuple(s) for s in a["token_ids"]}) > 1, "samples with different streams should differ"
PY
done

# 3. prompt sources agree: --prompt, --prompt-file -, --prompt-tokens; --stream prints the same text
gen --prompt "To be" --max-new-tokens 12 --seed 3 --json > "$t/p1.json" 2>/dev/null
printf 'To be' | gen --prompt-file - --max-new-tokens 12 --seed 3 --json > "$t/p2.json" 2>/dev/null
ids=$(python3 -c "import json; print(','.join(map(str, json.load(open('$t/p1.json'))['token_ids'][0][:5])))")
gen --prompt-tokens "$ids" --max-new-tokens 12 --seed 3 --json > "$t/p3.json" 2>/dev/null
gen --prompt "To be" --max-new-tokens 12 --seed 3 --stream > "$t/stream.txt" 2>/dev/null
python3 - "$t" <<'PY' && ok "prompt sources and --stream agree" || bad "prompt sources / stream"
import json, sys
t = sys.argv[1]
a, b, c = (json.load(open(f"{t}/p{i}.json")) for i in (1, 2, 3))
assert a["token_ids"] == b["token_ids"] == c["token_ids"], (a, b, c)
assert open(f"{t}/stream.txt").read() == a["texts"][0] + "\n"
PY

# 4. --score: per-token NLL, mean loss and perplexity; a text longer than block_size works
gen --score --prompt "First Citizen: Before we proceed any further, hear me speak." --json > "$t/score.json" 2>/dev/null
python3 - "$t/score.json" <<'PY' && ok "--score" || bad "--score: $(cat "$t/score.json")"
import json, math, sys
s = json.load(open(sys.argv[1]))
assert s["tokens"] == 60 and s["scored_tokens"] == 59 and len(s["nll"]) == 59
assert abs(s["mean_loss"] - sum(s["nll"]) / 59) < 1e-9 and abs(s["perplexity"] - math.exp(s["mean_loss"])) < 1e-6
assert s["forwards"] == 7 and 0 < s["mean_loss"] < 4.5
PY

# 5. bad input: clear errors, exit 1 (2 for command-line usage)
expect_rc "empty prompt" 1 "prompt is empty" gen --prompt ""
if ! nvidia-smi -L >/dev/null 2>&1; then  # without a GPU (or CUDA in the build): a clear error
  expect_rc "--device cuda without a GPU" 1 "--device cpu" gen --prompt "ROMEO:" --device cuda
fi
expect_rc "character not in the vocabulary" 1 "not in the tokenizer's vocabulary" gen --prompt "€uro"
expect_rc "token id >= vocab" 1 "outside the model's vocabulary" gen --prompt-tokens 1,2,999
expect_rc "malformed token list" 1 "is not a token id" gen --prompt-tokens 1,x
expect_rc "max-new-tokens < 0" 1 "must be >= 0" gen --max-new-tokens -1
expect_rc "top-p = 0" 1 "top-p must be in (0, 1]" gen --top-p 0
expect_rc "top-p > 1" 1 "top-p must be in (0, 1]" gen --top-p 1.5
expect_rc "stream with several samples" 2 "one sample" gen --stream --num-samples 2
expect_rc "missing checkpoint" 2 "Directory does not exist" "$build/gpt-generate" --ckpt "$t/nope"
mkdir -p "$t/empty"
expect_rc "directory without a checkpoint" 1 "config.json" "$build/gpt-generate" --ckpt "$t/empty"
cp -r "$ck" "$t/foreign"
python3 - "$t/foreign/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["n_embd"] = 48; json.dump(c, open(sys.argv[1], "w"))
PY
expect_rc "foreign checkpoint" 1 "has shape" "$build/gpt-generate" --ckpt "$t/foreign"

finish generate
