# Sourced by the CLI tests (tests/cli/*.sh): a scratch directory $t removed on exit, pass/fail
# counters, and checks of a command's exit code and error message.
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
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
