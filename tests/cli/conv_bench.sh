#!/usr/bin/env bash
# gpt-conv-bench end to end: --help/--version, a small check+time run in text and --json,
# every impl either checked ok or reported unavailable with the reason, --sweep CSV and the
# plot script, and bad input exiting 2 (usage) or 1 (runtime) with a clear message.
set -euo pipefail
build=$(cd "$1" && pwd); src=$(cd "$2" && pwd)
bin=$build/gpt-conv-bench
. "$src/tests/cli/lib/common.sh"
export OMP_NUM_THREADS=1
check_json() {  # name, file, python expression over the parsed object d
  if python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert $3, d" "$2" 2>"$t/pyerr"; then
    ok "$1"
  else
    bad "$1: $(tail -1 "$t/pyerr")"
  fi
}

"$bin" --help | grep -q -- "--sweep" && ok "--help" || bad "--help"
"$bin" --version | grep -q gptkit && ok "--version" || bad "--version"

# Text table: every impl appears; CPU ones are checked ok.
small=(-B 2 -C 19 -L 203 -K 5 --iters 3 --warmup 1)
"$bin" "${small[@]}" --pass both --bias --silu --dtype bf16 --layout bcl,blc > "$t/table" 2> "$t/table.err"
[ "$(grep -c '^  cpu ' "$t/table")" = 4 ] && ok "table has cpu rows for 2 layouts x 2 passes" || bad "table rows: $(cat "$t/table")"
! grep -q FAIL "$t/table" && ok "no failed checks" || bad "failed check: $(cat "$t/table")"
grep -q "cuda-vec" "$t/table" && ok "cuda impls listed" || bad "cuda impls missing"

# JSON: one object on stdout; unavailable impls carry a note naming CUDA.
"$bin" "${small[@]}" --pass bwd --padding same --dtype fp16 --json > "$t/r.json" 2> "$t/r.err"
check_json "json is one object with results" "$t/r.json" "d['tool'] == 'gpt-conv-bench' and len(d['results']) == 5"
check_json "cpu impls ran and passed" "$t/r.json" \
  "all(r['ran'] and r['ok'] and r['checked'] for r in d['results'] if r['impl'].startswith('cpu'))"
check_json "backward reports dx, dw errors" "$t/r.json" \
  "[e['tensor'] for e in d['results'][1]['errors']] == ['dx', 'dw']"
check_json "cuda impls ran ok or say why not" "$t/r.json" \
  "all((r['ran'] and r['ok']) or 'CUDA' in r['note'] for r in d['results'] if r['impl'].startswith('cuda'))"
check_json "timing fields" "$t/r.json" \
  "all(r['ms'] > 0 and r['gbps'] > 0 and r['copy_gbps'] > 0 for r in d['results'] if r['ran'])"

# Without a GPU, naming a CUDA impl is an error that says so.
if python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if any(not r['ran'] for r in d['results']) else 1)" "$t/r.json"; then
  expect_rc "cuda impl by name without a GPU" 1 "cannot run" "$bin" "${small[@]}" --impl cuda-vec
fi

# --sweep writes a CSV row per (shape, impl, pass); the plot script turns it into a PNG.
"$bin" -B 1,2 -C 8 -L 100 -K 3 --impl cpu-ref,cpu --iters 2 --warmup 0 --sweep "$t/s.csv" > /dev/null 2>&1
[ "$(wc -l < "$t/s.csv")" = 5 ] && ok "sweep csv rows" || bad "sweep csv: $(cat "$t/s.csv")"
head -1 "$t/s.csv" | grep -q "^pass,impl,kernel" && ok "sweep csv header" || bad "sweep header"
if /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
  /usr/bin/python3 "$src/scripts/plot_conv_sweep.py" "$t/s.csv" "$t/s.png" > /dev/null 2>&1 \
    && [ -s "$t/s.png" ] && ok "plot png" || bad "plot script failed"
else
  echo "skip: plot (no matplotlib in /usr/bin/python3)"
fi

# Usage errors exit 2 with the reason; no stack traces.
expect_rc "even width with same padding" 2 "odd width" "$bin" -K 4 --padding same
expect_rc "zero batch" 2 "must be >= 1" "$bin" -B 0
expect_rc "width too large" 2 "1..64" "$bin" -K 65
expect_rc "unknown dtype" 2 "unknown dtype" "$bin" --dtype fp64
expect_rc "unknown impl" 2 "unknown implementation" "$bin" --impl cudnn
expect_rc "not an integer" 2 "not an integer" "$bin" -L 12x
expect_rc "sweep into a missing directory" 1 "cannot write" "$bin" -B 1 -C 1 -L 8 --impl cpu --sweep "$t/no/such/dir.csv"

finish conv_bench
