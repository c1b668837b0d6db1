# Sourced by the CLI tests (tests/cli/*.sh): a scratch directory $t removed on exit, pass/fail
# counters, and checks of a command's exit code and error message.
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
# The corpus tests train on: $GPT_CORPUS (as the quickstart takes it), else the shared copy
# beside the clone. need_corpus skips the calling test, with a message, when it is missing.
corpus=${GPT_CORPUS:-${src:?}/../shared/data/tinyshakespeare.txt}
need_corpus() { [ -f "$corpus" ] || { echo "SKIP: $corpus not found (set GPT_CORPUS to a tinyshakespeare.txt)"; exit 0; }; }
pass=0; failn=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; failn=$((failn + 1)); }
# expect_rc NAME RC FRAGMENT COMMAND...: exit code RC, the fixed string FRAGMENT in stderr
# ('' for any), and no sign of a crash (an uncaught exception or abort).
expect_rc() {
  local name=$1 want=$2 frag=$3; shift 3
  set +e; "$@" >"$t/out" 2>"$t/err"; local rc=$?; set -e
  if [ "$rc" = "$want" ] && { [ -z "$frag" ] || grep -qF -- "$frag" "$t/err"; } &&
     ! grep -qi "terminate called\|abort" "$t/err"; then ok "$name"
  else bad "$name (rc=$rc, want $want): $(cat "$t/err")"; fi
}
# expect_fail NAME FRAGMENT COMMAND...: a runtime error (exit 1) that says FRAGMENT.
expect_fail() { local name=$1 frag=$2; shift 2; expect_rc "$name" 1 "$frag" "$@"; }
# finish NAME: the summary line, and the script's exit status.
finish() { echo "$1: $pass passed, $failn failed"; [ "$failn" = 0 ]; }
# ckpt_step DIR: the step a checkpoint directory (DIR/trainer.json) resumes from.
ckpt_step() { python3 -c "import json,sys; print(json.load(open(sys.argv[1] + '/trainer.json'))['step'])" "$1"; }
# leftovers DIR: how many half-written checkpoint directories (.tmp-*, .old-*) DIR holds.
leftovers() { find "$1" -maxdepth 1 \( -name '*.tmp-*' -o -name '*.old-*' \) | wc -l; }
# same_losses REF RUN: every train/eval record of RUN's metrics.jsonl has exactly (bit for bit)
# the losses of the record for the same step in REF's; RUN must cover steps 1..its last.
same_losses() {
  python3 - "$1/metrics.jsonl" "$2/metrics.jsonl" <<'PY'
import json, sys
def recs(p):
    out = {}
    for r in map(json.loads, open(p)):
        if r["kind"] in ("train", "eval"):
            key = (r["kind"], r["step"])
            assert key not in out, f"{p}: {key} recorded twice"
            out[key] = [r.get(k) for k in ("loss", "train_loss", "val_loss", "grad_norm")]
    return out
ref, run = recs(sys.argv[1]), recs(sys.argv[2])
last = max(s for k, s in run if k == "train")
assert [s for k, s in sorted(run) if k == "train"] == list(range(1, last + 1)), sorted(run)
bad = [(k, run[k], ref.get(k)) for k in run if run[k] != ref.get(k)]
assert not bad, bad[:3]
PY
}
