#!/usr/bin/env bash
# gpt-prepare end to end: the tool contract (--help, --version, exit codes), the success
# path with --json, standard input, and each bad input giving exit 1 and a clear message.
set -euo pipefail
build=$1; src=$2
exe=$build/gpt-prepare
. "$src/tests/cli/lib/common.sh"

expect_rc "--help exits 0" 0 "" "$exe" --help
grep -q -- "--val-fraction" "$t/out" && ok "--help lists options" || bad "--help lists options"
expect_rc "--version exits 0" 0 "" "$exe" --version
expect_rc "unknown flag exits 2" 2 "" "$exe" --input x --out "$t/o" --bogus
expect_rc "missing --input exits 2" 2 "input" "$exe" --out "$t/o"
expect_rc "unknown tokenizer exits 2" 2 "" "$exe" --input x --out "$t/o" --tokenizer sentencepiece
expect_rc "val fraction 1 exits 2" 2 "val-fraction" "$exe" --input x --out "$t/o" --val-fraction 1
expect_rc "missing input exits 1" 1 "error: input file $t/nope.txt does not exist" \
  "$exe" --input "$t/nope.txt" --out "$t/o"
: > "$t/empty.txt"
expect_rc "empty input exits 1" 1 "error: the input is empty" "$exe" --input "$t/empty.txt" --out "$t/o"
printf 'caf\xe9 latin-1\n' > "$t/latin1.txt"
expect_rc "invalid UTF-8 exits 1" 1 "latin1.txt: invalid UTF-8 at byte offset 3" \
  "$exe" --input "$t/latin1.txt" --out "$t/o"
expect_rc "gpt2 without --vocab exits 2" 2 "needs --vocab" "$exe" --input "$t/latin1.txt" --out "$t/o" --tokenizer gpt2
echo x > "$t/afile"
expect_rc "unwritable out exits 1" 1 "cannot create output directory" \
  "$exe" --input "$src/README.md" --out "$t/afile/sub"
[ -e "$t/o/meta.json" ] && bad "failed runs left meta.json" || ok "failed runs leave no meta.json"

# Standard input, mixed with a file; --json is one object on stdout, logs go to stderr.
printf 'héllo ' > "$t/a.txt"
printf 'wörld 中\n' | "$exe" --input "$t/a.txt" - --val-fraction 0.2 --out "$t/s" --json >"$t/s.json" 2>"$t/s.err" \
  && ok "stdin run" || bad "stdin run: $(cat "$t/s.err")"
python3 - "$t/s.json" "$t/s" <<'PY' && ok "stdin --json and meta.json" || bad "stdin --json and meta.json"
import json, sys
r = json.load(open(sys.argv[1]))
assert r == dict(r, vocab_size=11, train_tokens=11, val_tokens=3), r   # 14 characters, floor(14*0.8)=11
m = json.load(open(sys.argv[2] + "/meta.json"))
assert m["vocab"] == sorted(set("héllo wörld 中\n")) and m["inputs"][1] == "-", m
PY

if [ -f "$corpus" ]; then
  "$exe" --input "$corpus" --tokenizer char --val-fraction 0.1 --out "$t/d" --json >"$t/d.json" 2>"$t/d.err" \
    && ok "tinyshakespeare run" || bad "tinyshakespeare run: $(cat "$t/d.err")"
  python3 - "$t/d.json" "$t/d" <<'PY' && ok "tinyshakespeare counts" || bad "tinyshakespeare counts"
import json, os, struct, sys
r = json.load(open(sys.argv[1]))
d = sys.argv[2]
assert (r["vocab_size"], r["train_tokens"], r["val_tokens"]) == (65, 1003854, 111540), r
assert r["out_dir"] == d and r["files"] == [d + "/train.bin", d + "/val.bin", d + "/meta.json"], r
head = struct.unpack("<3i", open(d + "/train.bin", "rb").read(12))
assert head == (20240520, 1, 1003854), head
assert os.path.getsize(d + "/val.bin") == 1024 + 2 * 111540
PY
  grep -q "vocab 65 characters" "$t/d.err" && ok "summary on stderr" || bad "summary on stderr"
else
  echo "SKIP: $corpus not found"
fi

finish prepare
