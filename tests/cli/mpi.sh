#!/usr/bin/env bash
# Data-parallel gpt-train under mpirun (issue 11): 2 ranks equal 1 rank with grad_accum=2 on
# the same micro-batches (losses and final weights), a 2-rank resume is bit-exact, a rank that
# dies ends the job within a bounded time, and a resume with another world size warns.
set -euo pipefail
build=$1; src=$2
. "$src/tests/cli/lib/common.sh"
if ! command -v mpirun >/dev/null || ! ldd "$build/gpt-train" | grep libmpi >/dev/null; then
  echo "SKIP: gpt-train was built without MPI or mpirun is missing (apt-get install libopenmpi-dev openmpi-bin)"; exit 0
fi
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Containers often lack the kernel support Open MPI's shared-memory single copy wants.
export OMPI_MCA_btl_vader_single_copy_mechanism=none OMPI_MCA_btl=self,vader
mpi() { mpirun -np 2 "$@"; }

printf 'to be or not to be, that is the question: whether tis nobler in the mind to suffer.\n%.0s' {1..60} > "$t/text.txt"
"$build/gpt-prepare" --input "$t/text.txt" --out "$t/data" >/dev/null 2>&1
cfg=(-c "$src/configs/shakespeare_char_cpu.json" --set data.dir="$t/data" --set model.n_layer=2 --set model.n_embd=32
     --set model.n_head=2 --set model.block_size=16 --set model.dropout=0.1 --set train.batch_size=4
     --set train.eval_iters=2 --set train.eval_interval=3 --set train.warmup_iters=2 --set train.lr_decay_iters=8
     --set train.log_interval=1 --set train.always_save=true -q)

# 1. one rank, grad_accum 2 against two ranks, grad_accum 1
"$build/gpt-train" "${cfg[@]}" --set train.grad_accum=2 --set train.max_iters=8 --out "$t/one"
mpi "$build/gpt-train" "${cfg[@]}" --set train.max_iters=8 --out "$t/two" > "$t/two.out" 2> "$t/two.err" || bad "2 ranks: $(cat "$t/two.err")"
cmp_runs() {  # A B TOL: train losses per step and final weights within TOL (0 = bit-exact)
  python3 - "$1" "$2" "$3" <<'PY'
import json, struct, sys, array
a, b, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
def losses(d): return {r["step"]: r["loss"] for r in map(json.loads, open(d + "/metrics.jsonl")) if r["kind"] == "train"}
def weights(d):
    raw = open(d + "/ckpt/model.safetensors", "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]; h = json.loads(raw[8:8 + n]); out = {}
    for k, v in h.items():
        if k == "__metadata__": continue
        s, e = v["data_offsets"]; out[k] = array.array("f", raw[8 + n + s:8 + n + e])
    return out
la, lb = losses(a), losses(b)
assert la.keys() == lb.keys() and la, (sorted(la), sorted(lb))
for s in la: assert abs(la[s] - lb[s]) <= tol * abs(la[s]), (s, la[s], lb[s])
wa, wb = weights(a), weights(b)
assert wa.keys() == wb.keys()
for k in wa:
    scale = max(abs(x) for x in wa[k]) or 1.0
    err = max(abs(x - y) for x, y in zip(wa[k], wb[k]))
    assert err <= tol * scale, (k, err, scale)
PY
}
cmp_runs "$t/one" "$t/two" 1e-6 && ok "2 ranks == 1 rank with grad_accum=2 (losses, final weights, 1e-6)" || bad "2 ranks vs grad_accum=2"
# Both ranks evaluate (half the batches each): the step-0 eval, from identical weights, is
# bit-equal to one rank's, and the later ones agree as the weights do.
python3 - "$t/one" "$t/two" <<'PY' && ok "eval split over 2 ranks == 1 rank's eval (step 0 bit-equal)" || bad "eval split over ranks"
import json, sys
ev = [[r for r in map(json.loads, open(d + "/metrics.jsonl")) if r["kind"] == "eval"] for d in sys.argv[1:]]
assert [r["step"] for r in ev[0]] == [r["step"] for r in ev[1]] and ev[0][0]["step"] == 0
for a, b in zip(*ev):
    tol = 0 if a["step"] == 0 else 1e-5
    for k in ("train_loss", "val_loss"):
        assert abs(a[k] - b[k]) <= tol * abs(a[k]), (a, b)
PY
grep -q '"world_size": 2' "$t/two/ckpt/trainer.json" && ok "checkpoint records world_size 2" || bad "world_size in trainer.json"
[ ! -s "$t/two.out" ] && [ "$(grep -c '"kind":"eval"' "$t/two/metrics.jsonl")" = 4 ] && ok "rank 0 alone writes metrics" \
  || bad "metrics written once: $(cat "$t/two/metrics.jsonl")"

# Example files (per-example accuracy over the whole test split): 37 test examples in batches of
# 4 leave an odd number of batches and a short last one; the 2-rank step-0 eval equals 1 rank's.
"$build/gpt-assoc-recall" data --preset course-ar --train 64 --test 37 --out "$t/ar" > /dev/null
arcfg=(-c "$src/configs/assoc_q1.json" --set data.dir="$t/ar" --set model.n_layer=1 --set model.n_embd=32
       --set train.batch_size=4 --set train.max_iters=1 --set train.eval_interval=1 --set train.lr_decay_iters=1 -q)
"$build/gpt-train" "${arcfg[@]}" --out "$t/ar1"
mpi "$build/gpt-train" "${arcfg[@]}" --out "$t/ar2" 2> "$t/ar2.err" || bad "2 ranks on example files: $(cat "$t/ar2.err")"
python3 - "$t/ar1" "$t/ar2" <<'PY' && ok "2-rank eval of an example test split == 1 rank's (loss, accuracy, count)" || bad "example eval split"
import json, sys
ev = [[r for r in map(json.loads, open(d + "/metrics.jsonl")) if r["kind"] == "eval"][0] for d in sys.argv[1:]]
assert ev[0]["step"] == 0 and ev[0]["val_scored"] == 37, ev
for k in ("train_loss", "val_loss", "val_acc", "val_scored"):
    assert ev[0][k] == ev[1][k], (k, ev)
PY

# 2. a 2-rank resume continues bit-exactly
mpi "$build/gpt-train" "${cfg[@]}" --set train.max_iters=5 --out "$t/res" 2>/dev/null
mpi "$build/gpt-train" "${cfg[@]}" --set train.max_iters=8 --out "$t/res" --resume 2>/dev/null
cmp_runs "$t/two" "$t/res" 0 && ok "2-rank resume is bit-exact" || bad "2-rank resume"

# ZeRO-1 (train.zero1): each rank keeps the AdamW moments of its half of the parameters. The
# update is elementwise, so the run is bit-identical to the unsharded 2-rank run, and the
# checkpoint (moments gathered to rank 0) too; a sharded 2-rank resume is bit-exact.
loud=(); for a in "${cfg[@]}"; do [ "$a" != -q ] && loud+=("$a"); done
mpi "$build/gpt-train" "${loud[@]}" --set train.max_iters=8 --set train.zero1=true --out "$t/z" \
  > /dev/null 2> "$t/z.err" || bad "zero1: $(cat "$t/z.err")"
grep -q "ZeRO-1: AdamW moments" "$t/z.err" && ok "zero1 reports the optimizer memory per rank" || bad "zero1 log: $(head -3 "$t/z.err")"
cmp -s "$t/two/ckpt/optimizer.safetensors" "$t/z/ckpt/optimizer.safetensors" && cmp_runs "$t/two" "$t/z" 0 &&
  ok "zero1: losses, weights and the gathered optimizer state bit-equal to the unsharded run" || bad "zero1 differs"
mpi "$build/gpt-train" "${cfg[@]}" --set train.max_iters=5 --set train.zero1=true --out "$t/zr" 2>/dev/null
mpi "$build/gpt-train" "${cfg[@]}" --set train.max_iters=8 --set train.zero1=true --out "$t/zr" --resume 2>/dev/null
cmp_runs "$t/z" "$t/zr" 0 && ok "zero1 2-rank resume is bit-exact" || bad "zero1 resume"

# 3. another world size on resume: allowed, with a warning that the batches differ
"$build/gpt-train" "${cfg[@]}" --set train.max_iters=9 --out "$t/res" --resume 2> "$t/w.err" >/dev/null &&
  grep -q "saved by 2 ranks" "$t/w.err" && ok "resume with another world size warns" || bad "world-size warning: $(cat "$t/w.err")"

# 4. a rank that dies: the job ends (non-zero) instead of hanging in the allreduce
mpi "$build/gpt-train" "${cfg[@]}" --set train.max_iters=100000 --set train.eval_interval=100000 --out "$t/die" \
  > /dev/null 2> "$t/die.err" &
job=$!
for _ in $(seq 100); do [ -s "$t/die/metrics.jsonl" ] && [ "$(wc -l < "$t/die/metrics.jsonl")" -gt 3 ] && break; sleep 0.2; done
victim=$(pgrep -f -- "--out $t/die" | while read -r p; do [ "$(cat /proc/$p/comm)" = gpt-train ] && echo $p; done | tail -1)
kill -9 "$victim"
start=$(date +%s)
for _ in $(seq 300); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
if kill -0 $job 2>/dev/null; then bad "job still running 30 s after a rank died"; pkill -9 -f -- "--out $t/die" || true
else set +e; wait $job; rc=$?; set -e; [ $rc != 0 ] && ok "a dead rank ends the job in $(( $(date +%s) - start )) s (rc $rc)" || bad "job rc 0 after a rank died"; fi
# 5. an error on one rank (rank 0's non-finite eval, after lr 1e30) ends every rank
set +e
timeout 60 mpirun -np 2 "$build/gpt-train" "${cfg[@]}" --set train.lr=1e30 --set train.max_iters=6 --out "$t/nan" \
  > /dev/null 2> "$t/nan.err"
rc=$?; set -e
[ $rc != 0 ] && [ $rc != 124 ] && grep -q "at step" "$t/nan.err" && [ ! -e "$t/nan/ckpt" ] &&
  ok "a non-finite loss stops all ranks (rc $rc), no checkpoint" || bad "NaN under 2 ranks (rc $rc): $(cat "$t/nan.err")"
finish mpi
