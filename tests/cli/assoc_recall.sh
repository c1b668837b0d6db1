#!/usr/bin/env bash
# gpt-assoc-recall end to end: data files that gpt-train trains on, the hand-built model exact
# through the generic forward (and through gpt-generate from its checkpoint), --explain, a
# short trained run that reports test accuracy, and clear errors for impossible settings.
set -euo pipefail
build=$1; src=$2
. "$src/tests/cli/lib/common.sh"
export OMP_NUM_THREADS=1
ar() { "$build/gpt-assoc-recall" "$@"; }

# 1. data: example files and assoc.json; the same seed gives the same bytes
ar data --preset mqar-64 --vocab 256 --train 300 --test 50 --seed 3 --out "$t/d1" --json > "$t/d1.json"
ar data --preset mqar-64 --vocab 256 --train 300 --test 50 --seed 3 --out "$t/d2" > /dev/null
python3 - "$t" <<'PY' && ok "data files, JSON and reproducibility" || bad "data"
import json, struct, sys
t = sys.argv[1]
j = json.load(open(f"{t}/d1.json"))
assert j["task"] == "mqar" and j["vocab_size"] == 256 and j["seq_len"] == 64 and j["pairs"] == 4, j
h = struct.unpack("<5i", open(f"{t}/d1/train.bin", "rb").read(20))
assert h == (20240807, 1, 300, 64, 256), h
assert open(f"{t}/d1/train.bin", "rb").read() == open(f"{t}/d2/train.bin", "rb").read()
assert json.load(open(f"{t}/d1/assoc.json"))["filler"] == "zero"
PY

# 2. hardcode: exactly 1.0 on the course toy task and on an MQAR preset
ar hardcode --preset toy --examples 1000 --json > "$t/toy.json"
ar hardcode --preset mqar-64 --examples 200 --json > "$t/mq.json"
python3 - "$t" <<'PY' && ok "hand-built accuracy is exactly 1.0" || bad "hardcode accuracy"
import json, sys
t = sys.argv[1]
a, b = json.load(open(f"{t}/toy.json")), json.load(open(f"{t}/mq.json"))
assert a["accuracy"] == 1.0 and a["scored"] == 4000 and a["examples"] == 1000, a
assert b["accuracy"] == 1.0 and b["scored"] == 800 and b["model"]["token_code"] == "rs", b
assert a["model"]["n_layer"] == 2 and a["model"]["token_code"] == "onehot"
PY

# 3. random filler: accuracy below 1 only through the ambiguous queries, which are explained
ar hardcode --preset mqar-64 --vocab 64 --filler random --examples 500 > "$t/rf.txt"
ar hardcode --preset mqar-64 --vocab 64 --filler random --examples 500 --json > "$t/rf.json"
python3 - "$t/rf.json" <<'PY' && grep -q "ambiguous:" "$t/rf.txt" && ok "random filler: ambiguity reported" || bad "random filler"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ambiguous"] > 0 and r["accuracy_unambiguous"] == 1.0 and r["accuracy"] < 1.0, r
PY

# 4. --save writes a normal checkpoint: gpt-generate recalls the value, greedy, with and without the KV cache
ar hardcode --preset toy --examples 10 --save "$t/ck" > /dev/null
for kv in --kv-cache --no-kv-cache; do
  out=$("$build/gpt-generate" --ckpt "$t/ck" --prompt-tokens 2,9,3,5,2 --max-new-tokens 1 --temperature 0 $kv --json 2>/dev/null)
  python3 -c "import json,sys; assert json.loads(sys.argv[1])['token_ids'] == [[2,9,3,5,2,9]], sys.argv[1]" "$out" \
    && ok "gpt-generate recalls from the saved checkpoint ($kv)" || bad "gpt-generate $kv: $out"
done
"$build/gpt-generate" --ckpt "$t/ck" --prompt-tokens 2,9,3,5,2,9 --score --json > "$t/score.json" 2>/dev/null \
  && ok "gpt-generate --score runs the checkpoint" || bad "--score"

# 4b. --mixer conv: a width-2 short conv as layer 1, exact, and its checkpoint recalls through gpt-generate
ar hardcode --preset toy --examples 500 --mixer conv --save "$t/cck" --json > "$t/conv.json"
python3 - "$t/conv.json" <<'PY' && ok "--mixer conv is exact" || bad "--mixer conv"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["accuracy"] == 1.0 and r["model"]["layer1_mixer"] == "conv", r
PY
for kv in --kv-cache --no-kv-cache; do
  out=$("$build/gpt-generate" --ckpt "$t/cck" --prompt-tokens 2,9,3,5,2 --max-new-tokens 1 --temperature 0 $kv --json 2>/dev/null)
  python3 -c "import json,sys; assert json.loads(sys.argv[1])['token_ids'] == [[2,9,3,5,2,9]], sys.argv[1]" "$out" \
    && ok "gpt-generate recalls from the conv checkpoint ($kv)" || bad "gpt-generate conv $kv: $out"
done
ar hardcode --preset toy --examples 1 --mixer conv --explain > "$t/cex.txt"
grep -q "^layer 1: short conv of width 2" "$t/cex.txt" && grep -q "^layer 2 head 0" "$t/cex.txt" \
  && ok "--explain shows the conv layer by its taps" || bad "conv explain: $(head -3 "$t/cex.txt")"
expect_rc "unknown --mixer" 2 "--mixer" ar hardcode --preset toy --mixer mamba

# 5. --explain: a text heat map per layer and a CSV
ar hardcode --preset toy --examples 1 --explain --explain-csv "$t/att.csv" > "$t/ex.txt"
if grep -q "^layer 1 head 0" "$t/ex.txt" && grep -q "^layer 2 head 0" "$t/ex.txt" \
   && head -1 "$t/att.csv" | grep -q "^layer,head,query,key,query_token,key_token,weight$"; then
  ok "--explain heat map and CSV"; else bad "--explain: $(head -5 "$t/ex.txt")"; fi

# 6. train: a short run of the q1 preset (shrunk) reports test accuracy in metrics.jsonl
ar train --preset q1 --out "$t/run" -q --json --set model.n_layer=1 --set model.n_embd=32 --set model.n_head=2 \
  --set train.max_iters=4 --set train.eval_interval=4 --set train.eval_iters=1 --set train.lr_decay_iters=4 > "$t/train.json"
python3 - "$t" <<'PY' && ok "train writes test accuracy" || bad "train"
import json, sys
t = sys.argv[1]
r = json.load(open(f"{t}/train.json"))
assert r["steps"] == 4 and 0 <= r["test_accuracy"] <= 1, r
recs = [json.loads(l) for l in open(f"{t}/run/metrics.jsonl")]
evals = [x for x in recs if x["kind"] == "eval"]
assert evals and all(e["val_scored"] == 500 for e in evals), evals
test = [x for x in recs if x["kind"] == "test"]
assert len(test) == 1 and test[0]["accuracy"] == r["test_accuracy"]
PY

# 7. gpt-train reads the example files directly (configs/assoc_q1.json, shrunk)
ar data --preset course-ar --train 200 --test 20 --out "$t/q1data" > /dev/null
"$build/gpt-train" -c "$src/configs/assoc_q1.json" --set data.dir="$t/q1data" --out "$t/gt" -q \
  --set model.n_layer=1 --set model.n_embd=32 --set train.max_iters=2 --set train.eval_interval=2 \
  --set train.eval_iters=1 --set train.lr_decay_iters=2 \
  && grep -q '"val_acc"' "$t/gt/metrics.jsonl" && ok "gpt-train trains on example files" || bad "gpt-train on example files"

# 8. impossible settings: clear errors (1), usage errors (2)
expect_rc "more pairs than keys" 1 "distinct keys" ar data --preset mqar-64 --vocab 16 --pairs 8 --seq-len 64 --out "$t/x"
expect_rc "L too short" 1 "too short" ar hardcode --preset mqar-64 --pairs 20
expect_rc "vocab too small" 1 "too small" ar hardcode --preset mqar-64 --vocab 3 --pairs 1 --seq-len 8
expect_rc "odd L" 1 "even" ar data --preset mqar-64 --seq-len 63 --out "$t/x"
expect_rc "unknown preset" 2 "unknown preset" ar hardcode --preset mqar-1024
expect_rc "filler on the toy task" 2 "MQAR presets only" ar hardcode --preset toy --filler random
expect_rc "unknown position code" 2 "unknown position code" ar hardcode --preset toy --pos-code binary
expect_rc "block_size mismatch" 1 "model.block_size=102" "$build/gpt-train" -c "$src/configs/assoc_q1.json" \
  --set data.dir="$t/q1data" --out "$t/gt2" -q --set model.block_size=64
expect_rc "no subcommand" 2 "subcommand" ar
expect_rc "unknown device" 2 "device" ar train --preset mqar --out "$t/dev" --device tpu
if ! nvidia-smi -L >/dev/null 2>&1; then
  expect_fail "train --device cuda without a GPU" "--device cpu" ar train --preset q1 --data "$t/q1data" \
    --out "$t/dev" --device cuda -q --set train.max_iters=1
fi

finish assoc_recall
