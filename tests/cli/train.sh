#!/usr/bin/env bash
# gpt-train end to end: a short run, exact resume, SIGINT, SIGKILL during saves, --profile,
# and every bad input of issue 3 (exit 1, clear message, existing checkpoint untouched).
set -euo pipefail
build=$1; src=$2
. "$src/tests/cli/lib/common.sh"
need_corpus
export OMP_NUM_THREADS=1

"$build/gpt-prepare" --input "$corpus" --out "$t/data" >/dev/null 2>&1
cfg=$src/configs/shakespeare_char_cpu.json
small=(--set data.dir="$t/data" --set model.n_layer=2 --set model.n_embd=32 --set model.n_head=2
       --set model.block_size=16 --set train.batch_size=4 --set train.eval_iters=2
       --set train.warmup_iters=2 --set train.lr_decay_iters=12 --set train.log_interval=1)

# 1. a short run: checkpoint, metrics, JSON summary
"$build/gpt-train" -c "$cfg" "${small[@]}" --set train.max_iters=12 --set train.eval_interval=4 \
  --out "$t/a" --json -q > "$t/a.json"
python3 -c "import json,sys; d=json.load(open('$t/a.json')); assert d['end_step']==12 and d['best_val_loss']<4.3, d" \
  && ok "short run summary" || bad "short run summary"
for f in ckpt/model.safetensors ckpt/config.json ckpt/optimizer.safetensors ckpt/trainer.json ckpt/tokenizer.json metrics.jsonl run_config.json; do
  [ -s "$t/a/$f" ] || bad "missing $f"
done
python3 - "$t/a/metrics.jsonl" <<'PY' && ok "metrics.jsonl records" || bad "metrics.jsonl records"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
train = [r for r in rows if r["kind"] == "train"]
ev = [r for r in rows if r["kind"] == "eval"]
assert [r["step"] for r in train] == list(range(1, 13)), train
assert [r["step"] for r in ev] == [0, 4, 8, 12], ev
for r in train: assert set(r) >= {"loss", "lr", "grad_norm", "tokens_per_s", "mfu", "elapsed_s"}
PY

# 2. exact resume: 8 steps, then --resume to 12 gives the losses of the uninterrupted run
"$build/gpt-train" -c "$cfg" "${small[@]}" --set train.max_iters=8 --set train.eval_interval=4 \
  --set train.always_save=true --out "$t/b" -q
"$build/gpt-train" -c "$cfg" "${small[@]}" --set train.max_iters=12 --set train.eval_interval=4 \
  --set train.always_save=true --out "$t/b" --resume -q
python3 - "$t/a/metrics.jsonl" "$t/b/metrics.jsonl" <<'PY' && ok "resume is bit-exact" || bad "resume is bit-exact"
import json, sys
def losses(p): return [(r["step"], r["loss"]) for r in map(json.loads, open(p)) if r["kind"] == "train"]
a, b = losses(sys.argv[1]), losses(sys.argv[2])
assert a == b, (a, b)
PY

# 2b. the vocabulary-chunked loss (train.loss_chunk) follows the same run up to float rounding
"$build/gpt-train" -c "$cfg" "${small[@]}" --set train.max_iters=12 --set train.eval_interval=4 \
  --set train.loss_chunk=16 --out "$t/ch" -q
python3 - "$t/a/metrics.jsonl" "$t/ch/metrics.jsonl" <<'PY' && ok "train.loss_chunk run" || bad "train.loss_chunk run"
import json, sys
def rows(p, k): return [r for r in map(json.loads, open(p)) if r["kind"] == k]
a, b = sys.argv[1], sys.argv[2]
for k, f in (("train", "loss"), ("eval", "val_loss")):
    x, y = [r[f] for r in rows(a, k)], [r[f] for r in rows(b, k)]
    assert len(x) == len(y) and all(abs(p - q) < 1e-3 for p, q in zip(x, y)), (k, x, y)
PY
grep -q '"loss_chunk": 16' "$t/ch/run_config.json" && ok "loss_chunk in run_config.json" || bad "loss_chunk in run_config.json"

# 3. SIGINT finishes the step, saves, says how to resume, exits 0
"$build/gpt-train" -c "$cfg" "${small[@]}" --set train.max_iters=100000 --set train.eval_interval=1000 \
  --out "$t/c" > /dev/null 2> "$t/c.err" &
pid=$!
for _ in $(seq 100); do grep -q "step 2/" "$t/c.err" 2>/dev/null && break; sleep 0.1; done
kill -INT $pid; set +e; wait $pid; rc=$?; set -e
if [ $rc = 0 ] && grep -q -- "--resume" "$t/c.err" && [ -s "$t/c/ckpt/trainer.json" ]; then ok "SIGINT checkpoint"; else bad "SIGINT (rc=$rc): $(tail -3 "$t/c.err")"; fi
"$build/gpt-train" -c "$cfg" "${small[@]}" --set train.max_iters=100000 --set train.eval_interval=1000 \
  --set train.max_iters=$(( $(python3 -c "import json;print(json.load(open('$t/c/ckpt/trainer.json'))['step'])") + 2 )) \
  --out "$t/c" --resume -q && ok "resume after SIGINT" || bad "resume after SIGINT"

# 4. SIGKILL at random moments while saving every step: the checkpoint always loads and resumes
for trial in 1 2 3 4 5; do
  rm -rf "$t/k"
  "$build/gpt-train" -c "$cfg" "${small[@]}" --set train.max_iters=100000 --set train.eval_interval=1 \
    --set train.always_save=true --out "$t/k" -q 2>/dev/null &
  pid=$!
  for _ in $(seq 200); do [ -f "$t/k/ckpt/trainer.json" ] && break; sleep 0.02; done
  sleep "0.$(( (trial * 37) % 10 ))$trial"
  kill -9 $pid; wait $pid 2>/dev/null || true
  step=$(ckpt_step "$t/k/ckpt")
  "$build/gpt-train" -c "$cfg" "${small[@]}" --set train.max_iters=$((step + 1)) --set train.eval_interval=1 \
    --out "$t/k" --resume -q 2>"$t/k.err" || { bad "resume after SIGKILL trial $trial: $(cat "$t/k.err")"; continue; }
  [ "$(leftovers "$t/k")" = 0 ] && ok "SIGKILL trial $trial (step $step)" || bad "leftover temp dirs after trial $trial"
done

# 5. --profile writes a Chrome trace with forward/backward/op events
"$build/gpt-train" -c "$cfg" "${small[@]}" --set train.max_iters=5 --out "$t/p" --profile "$t/trace.json" -q
python3 -c "
import json; ev = json.load(open('$t/trace.json'))['traceEvents']
names = {e['name'] for e in ev}
assert {'forward', 'backward', 'optimizer', 'linear_fwd', 'attention_bwd'} <= names, names
" && ok "--profile trace" || bad "--profile trace"

# 5b. --init-from starts from a checkpoint's weights (step 0, fresh optimizer): its first eval
# matches the source run's last one; SIGTERM behaves like SIGINT; the plot script draws a PNG.
"$build/gpt-train" -c "$cfg" "${small[@]}" --set train.max_iters=2 --set train.eval_interval=100 \
  --init-from "$t/a/ckpt" --out "$t/i" -q
python3 - "$t/a/metrics.jsonl" "$t/i/metrics.jsonl" <<'PY' && ok "--init-from" || bad "--init-from"
import json, sys
last_a = [r for r in map(json.loads, open(sys.argv[1])) if r["kind"] == "eval"][-1]
first_i = [r for r in map(json.loads, open(sys.argv[2])) if r["kind"] == "eval"][0]
assert first_i["step"] == 0 and abs(first_i["val_loss"] - last_a["val_loss"]) < 1e-9, (first_i, last_a)
PY
"$build/gpt-train" -c "$cfg" "${small[@]}" --set train.max_iters=100000 --set train.eval_interval=1000 \
  --out "$t/s" > /dev/null 2> "$t/s.err" &
pid=$!
for _ in $(seq 100); do grep -q "step 1/" "$t/s.err" 2>/dev/null && break; sleep 0.1; done
kill -TERM $pid; set +e; wait $pid; rc=$?; set -e
[ $rc = 0 ] && [ -s "$t/s/ckpt/trainer.json" ] && ok "SIGTERM checkpoint" || bad "SIGTERM (rc=$rc)"
if /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
  /usr/bin/python3 "$src/scripts/plot_metrics.py" "$t/a" "$t/b" -o "$t/loss.png" >/dev/null &&
    [ "$(head -c 4 "$t/loss.png" | tail -c 3)" = "PNG" ] && ok "plot_metrics.py PNG" || bad "plot_metrics.py"
else
  echo "SKIP: plot_metrics.py (python3-matplotlib not installed)"
fi
"$build/gpt-generate" --ckpt "$t/a/ckpt" --prompt "ROMEO:" --max-new-tokens 20 --seed 3 --json > "$t/g1.json"
"$build/gpt-generate" --ckpt "$t/a/ckpt" --prompt "ROMEO:" --max-new-tokens 20 --seed 3 --json > "$t/g2.json"
python3 -c "
import json; a = json.load(open('$t/g1.json')); b = json.load(open('$t/g2.json'))
assert a['texts'][0].startswith('ROMEO:') and len(a['token_ids'][0]) == 26 and a['token_ids'] == b['token_ids'], a
" && ok "gpt-generate reproducible sample" || bad "gpt-generate"

# 6. bad input: each exits 1 with a clear message and leaves the existing checkpoint intact
sum_before=$(sha256sum "$t/a/ckpt/"* | sha256sum)
expect_fail "unknown key" "did you mean 'max_iters'" "$build/gpt-train" -c "$cfg" "${small[@]}" --set train.max_iter=5 --out "$t/a"
expect_fail "negative loss_chunk" "train.loss_chunk must be >= 0" "$build/gpt-train" -c "$cfg" "${small[@]}" --set train.loss_chunk=-4 --out "$t/a"
expect_fail "bf16 on the CPU" "precision bf16 is a CUDA mode" "$build/gpt-train" -c "$cfg" "${small[@]}" --set precision=bf16 --out "$t/a"
expect_fail "fused attention on the CPU" "fused_attention is a CUDA path" "$build/gpt-train" -c "$cfg" "${small[@]}" --set fused_attention=true --out "$t/a"
expect_fail "wrong type" "must be an integer" "$build/gpt-train" -c "$cfg" "${small[@]}" --set 'train.batch_size="big"' --out "$t/a"
expect_fail "missing data dir" "does not exist" "$build/gpt-train" -c "$cfg" "${small[@]}" --set data.dir="$t/nope" --out "$t/a"
mkdir -p "$t/tiny"; printf 'abcdefgh' > "$t/tiny.txt"
"$build/gpt-prepare" --input "$t/tiny.txt" --out "$t/tiny" >/dev/null 2>&1
expect_fail "data shorter than block_size+1" "block_size" "$build/gpt-train" -c "$cfg" "${small[@]}" --set data.dir="$t/tiny" --out "$t/x"
expect_fail "vocab smaller than data" "smaller than the data" "$build/gpt-train" -c "$cfg" "${small[@]}" --set model.vocab_size=10 --out "$t/x"
cp -r "$t/data" "$t/corrupt"; printf 'XXXX' | dd of="$t/corrupt/train.bin" bs=1 seek=4 conv=notrunc 2>/dev/null
expect_fail "corrupt shard header" "train.bin" "$build/gpt-train" -c "$cfg" "${small[@]}" --set data.dir="$t/corrupt" --out "$t/x"
touch "$t/afile"
expect_fail "non-writable out dir" "output directory" "$build/gpt-train" -c "$cfg" "${small[@]}" --out "$t/afile/run"
expect_fail "resume without checkpoint" "no checkpoint" "$build/gpt-train" -c "$cfg" "${small[@]}" --out "$t/empty" --resume
expect_fail "resume with another shape" "another model shape" "$build/gpt-train" -c "$cfg" "${small[@]}" --set model.n_embd=64 --out "$t/a" --resume
# --device cuda without a GPU (or without CUDA in the build) is a clear error, not a crash.
if ! nvidia-smi -L >/dev/null 2>&1; then
  expect_fail "cuda without a GPU" "--device cpu" "$build/gpt-train" -c "$cfg" "${small[@]}" --device cuda --out "$t/gpu"
fi
set +e; "$build/gpt-train" --bogus >/dev/null 2>&1; rc=$?; set -e
[ $rc = 2 ] && ok "usage error exits 2" || bad "usage error rc=$rc"
"$build/gpt-train" --help | grep -q "Example" && ok "--help teaches" || bad "--help"
[ "$(sha256sum "$t/a/ckpt/"* | sha256sum)" = "$sum_before" ] && ok "checkpoint untouched by failures" || bad "checkpoint changed"

finish train
