#!/usr/bin/env bash
# Hugging Face GPT-2 checkpoints through the tools: the fixture in transformers' layout
# (tests/fixtures/hf_gpt2, with vocab.json + merges.txt) generates from text, course prompt
# sets and presets, scripts/bench/course_presets.sh, and our export read back by the
# independent HF-layout forward of scripts/reference/gen_hf_fixture.py (when torch is there).
set -euo pipefail
build=$1; src=$2
. "$src/tests/cli/lib/common.sh"
export OMP_NUM_THREADS=1
hf=$src/tests/fixtures/hf_gpt2

# 1. text in, text out through the BPE files beside the weights
"$build/gpt-generate" --ckpt "$hf" --prompt "the theory" --max-new-tokens 6 --seed 3 --json > "$t/g.json" 2>/dev/null
python3 - "$t/g.json" <<'PY' && ok "generate from text with vocab.json + merges.txt" || bad "generate from text"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["prompt_tokens"] < len("the theory") and len(d["token_ids"][0]) == d["prompt_tokens"] + 6, d
assert d["texts"][0].startswith("the theory"), d["texts"]
PY

# 2. a prompt set: prompts longer than P, cut to P, first N; each prompt is its own sequence
python3 - "$t/p.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    f.write(json.dumps({"prompt": "short"}) + "\n")
    for i in range(40): f.write(json.dumps({"task_id": i, "prompt": f"def f{i}(x):\n    return x * {i} + {i * 7}\n"}) + "\n")
PY
"$build/gpt-generate" --ckpt "$hf" --prompts-jsonl "$t/p.jsonl" --prompt-length 12 --num-samples 3 \
  --max-new-tokens 2 --json > "$t/j.json" 2>/dev/null
python3 - "$t/j.json" <<'PY' && ok "--prompts-jsonl batch" || bad "--prompts-jsonl batch"
import json, sys
d = json.load(open(sys.argv[1]))
s = d["token_ids"]
assert len(s) == 3 and all(len(x) == 14 for x in s), s
assert d["texts"][0].startswith("def f0(x):") and d["texts"][2].startswith("def f2(x):"), d["texts"]
PY
# the preset's defaults (32 prompts, 128 new at T 0.4, top-k 200) with the length cut for this model
"$build/gpt-generate" --ckpt "$hf" --preset course-kv --prompts-jsonl "$t/p.jsonl" --prompt-length 12 \
  --max-new-tokens 3 --json > "$t/k.json" 2>/dev/null
python3 -c "import json; d=json.load(open('$t/k.json')); assert d['num_samples']==32 and abs(d['temperature']-0.4)<1e-6 and d['top_k']==200, d" \
  && ok "course-kv preset, flags override" || bad "course-kv preset"
expect_fail "too few long prompts" "41 prompts are longer than --prompt-length" \
  "$build/gpt-generate" --ckpt "$hf" --prompts-jsonl "$t/p.jsonl" --prompt-length 500 --num-samples 2
expect_rc "preset without a prompt set" 2 "--prompts-jsonl" "$build/gpt-generate" --ckpt "$hf" --preset course-kv
expect_rc "unknown preset" 2 "course-kv" "$build/gpt-generate" --ckpt "$hf" --preset course-x --prompts-jsonl "$t/p.jsonl"
echo '{"prompt": 3}' > "$t/bad.jsonl"
expect_fail "prompt field not a string" "line 1" "$build/gpt-generate" --ckpt "$hf" --prompts-jsonl "$t/bad.jsonl"

# 3. the course harness's printout on this tiny model (target = draft, so all drafts are accepted)
if "$src/scripts/bench/course_presets.sh" --build "$build" --target "$hf" --draft "$hf" --prompts "$t/p.jsonl" \
     --samples 2 -- --prompt-length 12 --max-new-tokens 5 > "$t/c.out" 2> "$t/c.err" &&
   [ "$(grep -c '^\[NAIVE\] Generated' "$t/c.out")" = 2 ] && grep -q '^\[KV\] Generated 320 tokens' "$t/c.out" &&
   grep -q '^\[SPEC\] Generated 10 tokens' "$t/c.out" && grep -q 'NAIVE and SPEC generations matched on 34 positions' "$t/c.out" &&
   [ "$(grep -c 'All generations matched :)' "$t/c.out")" = 2 ]; then ok "course_presets.sh"
else bad "course_presets.sh: $(cat "$t/c.out" "$t/c.err")"; fi

# 4. no tokenizer beside a BPE checkpoint: text prompts say what to add; ids still work
mkdir "$t/notok"; cp "$hf/model.safetensors" "$hf/config.json" "$t/notok/"
expect_fail "text prompt without a tokenizer" "has no tokenizer" "$build/gpt-generate" --ckpt "$t/notok" --prompt hi
expect_rc "ids without a tokenizer" 0 "" "$build/gpt-generate" --ckpt "$t/notok" --prompt-tokens 1,2 --max-new-tokens 2

# 5. our export, read as transformers would (names, config fields) and scored by an independent forward
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  printf 'to be or not to be, that is the question.\n%.0s' {1..40} > "$t/text.txt"
  "$build/gpt-prepare" --input "$t/text.txt" --out "$t/data" >/dev/null 2>&1
  for tied in true false; do
    "$build/gpt-train" -c "$src/configs/shakespeare_char_cpu.json" --set data.dir="$t/data" --set model.n_layer=2 \
      --set model.n_embd=32 --set model.n_head=2 --set model.block_size=16 --set model.bias=true --set model.tie_embeddings=$tied \
      --set train.batch_size=4 --set train.max_iters=3 --set train.eval_interval=3 --set train.eval_iters=1 \
      --set train.warmup_iters=1 --set train.lr_decay_iters=3 --out "$t/run_$tied" -q >/dev/null 2>&1
    ids=3,5,7,1,2,9,4,4,0,3,8,6,5,2,1,7,9,3,2,1,4,6
    "$build/gpt-generate" --ckpt "$t/run_$tied/ckpt" --score --prompt-tokens $ids --json > "$t/ours.json" 2>/dev/null
    /usr/bin/python3 "$src/scripts/reference/gen_hf_fixture.py" --check-export "$t/run_$tied/ckpt" --text-ids $ids \
      > "$t/ref.json" 2> "$t/ref.err" || { bad "export check (tied=$tied): $(cat "$t/ref.err")"; continue; }
    python3 - "$t/ours.json" "$t/ref.json" <<'PY' && ok "export read as transformers' layout (tied=$tied)" || bad "export scores (tied=$tied)"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert abs(a["mean_loss"] - b["mean_loss"]) < 1e-5 * abs(b["mean_loss"]), (a["mean_loss"], b["mean_loss"])
assert max(abs(x - y) for x, y in zip(a["nll"], b["nll"])) < 1e-4, "per-token nll"
PY
  done
else
  echo "SKIP: /usr/bin/python3 has no torch; the export check needs Debian's python3-torch"
fi
finish hf
