#!/usr/bin/env bash
# Fault injection for gpt-train (docs/reliability.md): SIGKILL at seeded random moments then
# --resume (bit-exact continuation, nothing half-written left), a file-size limit hit while a
# checkpoint is written (clear error, previous checkpoint intact and resumable), and a loss
# that overflows to NaN/Inf (stop naming the step, or skip; never a checkpoint from it).
set -euo pipefail
build=$1; src=$2
. "$src/tests/cli/lib/common.sh"
need_corpus
export OMP_NUM_THREADS=1
trials=${FAULT_TRIALS:-20}
RANDOM=20261127  # seeded: a failing trial can be replayed

"$build/gpt-prepare" --input "$corpus" --out "$t/data" >/dev/null 2>&1
cfg=$src/configs/shakespeare_char_cpu.json
N=40
# A checkpoint at every step (eval_interval=1 with always_save), so kills often land in a save.
tiny=(--set data.dir="$t/data" --set model.n_layer=1 --set model.n_embd=16 --set model.n_head=2
      --set model.block_size=16 --set train.batch_size=4 --set train.eval_iters=1 --set train.warmup_iters=2
      --set train.lr_decay_iters=$N --set train.log_interval=1 --set train.eval_interval=1
      --set train.always_save=true)
train() { "$build/gpt-train" -c "$cfg" "${tiny[@]}" "$@"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# The uninterrupted reference run, timed from its first checkpoint to its end: the window the
# kills are drawn from.
"$build/gpt-train" -c "$cfg" "${tiny[@]}" --set train.max_iters=$N --out "$t/ref" -q &
pid=$!
for _ in $(seq 1000); do [ -f "$t/ref/ckpt/trainer.json" ] && break; sleep 0.01; done
t0=$(ms); wait $pid; window=$(( $(ms) - t0 ))

# 1. SIGKILL at a random moment after the first checkpoint, then --resume to the end. A trial
# counts when the kill interrupted the run (its checkpoint is short of step N); kills that
# come after the last save are retried, up to 3x the trials.
trial=0 attempts=0
while [ $trial -lt "$trials" ] && [ $attempts -lt $((3 * trials)) ]; do
  attempts=$((attempts + 1))
  rm -rf "$t/k"
  # Not through train(): the background job must be gpt-train itself for kill -9 to hit it.
  "$build/gpt-train" -c "$cfg" "${tiny[@]}" --set train.max_iters=$N --out "$t/k" -q 2>/dev/null &
  pid=$!
  for _ in $(seq 1000); do [ -f "$t/k/ckpt/trainer.json" ] && break; sleep 0.01; done
  # Within the first 2/3 of the window: runs vary in speed, and later kills mostly miss.
  delay=$(( RANDOM % (2 * window / 3 + 1) ))
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  step=$(ckpt_step "$t/k/ckpt" 2>/dev/null) || { bad "attempt $attempts: checkpoint unreadable after SIGKILL"; continue; }
  [ "$step" -lt $N ] || continue
  trial=$((trial + 1))
  if ! train --set train.max_iters=$N --out "$t/k" --resume -q 2>"$t/k.err"; then
    bad "trial $trial: resume from step $step failed: $(cat "$t/k.err")"; continue
  fi
  if [ "$(ckpt_step "$t/k/ckpt")" = $N ] && [ "$(leftovers "$t/k")" = 0 ] && same_losses "$t/ref" "$t/k" 2>"$t/k.diff"; then
    ok "SIGKILL trial $trial, ${delay} ms after the first checkpoint: resumed from step $step, bit-exact to step $N"
  else
    bad "trial $trial (killed at step $step): $(cat "$t/k.diff") leftovers=$(leftovers "$t/k")"
  fi
done
[ $trial = "$trials" ] && ok "$trials SIGKILL trials interrupted the run ($attempts attempts)" ||
  bad "only $trial of $trials kills interrupted the run in $attempts attempts"

# 2. A file-size limit (RLIMIT_FSIZE, as a full disk would) hit while writing a checkpoint:
# exit 1 naming the problem, the previous checkpoint untouched, nothing half-written left, and
# a later resume continues bit-exactly.
train --set train.max_iters=6 --out "$t/full" -q
before=$(sha256sum "$t/full/ckpt/"* | sha256sum)
# 16 KiB: below model.safetensors (about 19 KB), above metrics.jsonl and run_config.json.
expect_fail "file-size limit during a checkpoint" "File too large" \
  bash -c 'ulimit -f 16; exec "$@"' _ "$build/gpt-train" -c "$cfg" "${tiny[@]}" --set train.max_iters=12 \
  --out "$t/full" --resume -q
grep -q "file-size limit" "$t/err" && ok "the error says what to do" || bad "no hint in: $(cat "$t/err")"
[ "$(sha256sum "$t/full/ckpt/"* | sha256sum)" = "$before" ] && ok "checkpoint intact after the failed save" ||
  bad "checkpoint changed by the failed save"
[ "$(leftovers "$t/full")" = 0 ] && ok "no half-written checkpoint left" || bad "leftovers: $(ls "$t/full")"
train --set train.max_iters=12 --out "$t/full" --resume -q && same_losses "$t/ref" "$t/full" &&
  ok "resume after the failed save is bit-exact" || bad "resume after the failed save"

# 3. A learning rate of 1e30 blows the weights up in one update, so the next step's gradient
# norm (or loss) is NaN/Inf: a real trigger, no test hook. Default: stop, naming the step.
nan=(--set train.lr=1e30 --set train.warmup_iters=0 --set train.max_iters=30)
# finite_ckpt DIR: DIR/ckpt is absent, or every float in its safetensors files is finite.
finite_ckpt() {
  [ -e "$1/ckpt" ] || return 0
  python3 - "$1/ckpt" <<'PY'
import json, math, struct, sys
for name in ("model.safetensors", "optimizer.safetensors"):
    raw = open(f"{sys.argv[1]}/{name}", "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    for k, v in json.loads(raw[8:8 + n]).items():
        if k == "__metadata__" or v["dtype"] != "F32": continue
        a, b = v["data_offsets"]
        xs = struct.unpack(f"<{(b - a) // 4}f", raw[8 + n + a:8 + n + b])
        assert all(math.isfinite(x) for x in xs), (name, k)
PY
}
expect_fail "non-finite gradient stops the run" "at step 1;" train "${nan[@]}" --set train.eval_interval=1000 --out "$t/n1" -q
grep -Eq "the (loss|gradient norm) became -?(nan|inf) at step 1" "$t/err" && ok "the error names the value and the step" ||
  bad "message: $(cat "$t/err")"
[ ! -e "$t/n1/ckpt" ] && ok "no checkpoint written" || bad "a checkpoint was written: $(ls "$t/n1/ckpt")"
# With a save at every eval: whatever was saved before the stop holds finite numbers only.
expect_fail "non-finite state with a save at every eval" "at step" train "${nan[@]}" --out "$t/n2" -q
finite_ckpt "$t/n2" && ok "any checkpoint holds finite weights and moments" || bad "non-finite checkpoint in n2"
# on_nonfinite=skip skips those updates (the step still counts), and gives up when the
# weights do not recover.
expect_fail "skip gives up after 10 skips in a row" "in a row" \
  train "${nan[@]}" --set train.eval_interval=1000 --set train.on_nonfinite=skip --out "$t/n3" -q
skips=$(grep -c '"kind":"skip"' "$t/n3/metrics.jsonl" || true)
[ "$skips" = 10 ] && ok "10 skipped updates recorded in metrics.jsonl" || bad "skip records: $skips"
[ ! -e "$t/n3/ckpt" ] && ok "no checkpoint after skipping" || bad "a checkpoint was written in n3"
expect_rc "on_nonfinite is validated" 1 "must be stop or skip" train --set train.on_nonfinite=maybe --out "$t/n4" -q

finish faults
