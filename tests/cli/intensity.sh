#!/usr/bin/env bash
# gpt-intensity end to end: every subcommand in text, --json and --csv; the figures of
# issue 6 through the CLI; hardware defaults and files; roofline --measure and
# model --measure on a tiny shape; bad input exits 2 (usage) or 1 (a bad file) with a clear
# message and no stack trace.
set -euo pipefail
build=$(cd "$1" && pwd); src=$(cd "$2" && pwd)
bin=$build/gpt-intensity
. "$src/tests/cli/lib/common.sh"
export OMP_NUM_THREADS=1
# jq-free JSON checks: python3 evaluates an assertion on the parsed object `d`.
check_json() {  # name, file, python expression over d
  if python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert $3, d" "$2" 2>"$t/pyerr"; then
    ok "$1"
  else
    bad "$1: $(tail -1 "$t/pyerr")"
  fi
}

# --help states the counting conventions; --version works.
"$bin" --help > "$t/help"
grep -q "multiply-add is 2 FLOPs" "$t/help" && ok "--help conventions" || bad "--help conventions"
"$bin" mha --help > "$t/help"
grep -q "softmax is 5 FLOPs" "$t/help" && ok "mha --help conventions" || bad "mha --help conventions"
"$bin" --version | grep -q gptkit && ok "--version" || bad "--version"

# matmul: the lecture's example, exact counts in JSON, the default hardware said on stderr.
"$bin" matmul --m 8192 --n 128 --k 8192 --dtype fp16 --json > "$t/mm.json" 2> "$t/mm.err"
check_json "matmul counts" "$t/mm.json" \
  "d['cost']['flops']==17179869184 and d['cost']['bytes']==138412032 and abs(d['cost']['intensity']-124.12)<0.01 and d['cost']['bound']=='memory'"
check_json "matmul default hardware" "$t/mm.json" "d['hardware']['name']=='a100-80gb' and d['hardware']['defaulted']"
grep -q "no --hardware given; using a100-80gb" "$t/mm.err" && ok "default said on stderr" || bad "default said on stderr"
"$bin" matmul --m 8192 --n 8192 --k 8192 --dtype fp16 --hardware a100-80gb > "$t/mm.txt" 2> "$t/mm.err"
grep -q "compute-bound" "$t/mm.txt" && ! grep -q "default" "$t/mm.txt" && ok "matmul text" || bad "matmul text"
[ ! -s "$t/mm.err" ] && ok "no stderr note when --hardware is given" || bad "stderr: $(cat "$t/mm.err")"
"$bin" matmul --m 64 --n 64 --k 64 --csv --hardware h100-sxm > "$t/mm.csv" 2>/dev/null
[ "$(wc -l < "$t/mm.csv")" = 2 ] && head -1 "$t/mm.csv" | grep -q "^m,n,k," && grep -q ",524288," "$t/mm.csv" \
  && ok "matmul csv" || bad "matmul csv: $(cat "$t/mm.csv")"

# mha: unfused vs fused, train rows, decode reading the cache.
"$bin" mha --batch 8 --seq-len 1024 --d-model 768 --heads 12 --dtype fp16 --phase train --json > "$t/u.json" 2>/dev/null
"$bin" mha --batch 8 --seq-len 1024 --d-model 768 --heads 12 --dtype fp16 --phase train --attention fused --json > "$t/f.json" 2>/dev/null
check_json "mha train stages" "$t/u.json" \
  "[o['name'] for o in d['ops'] if o['pass']=='forward']==['qkv_proj','qk','scale_mask','softmax','dropout','pv','out_proj'] and len(d['ops'])==14"
python3 - "$t/u.json" "$t/f.json" <<'PY' && ok "fused moves fewer bytes" || bad "fused moves fewer bytes"
import json, sys
u, f = (json.load(open(p)) for p in sys.argv[1:])
assert f["totals"]["all"]["bytes"] < u["totals"]["all"]["bytes"] / 5
assert f["core_forward"]["intensity"] > 161 > u["core_forward"]["intensity"]
assert abs(sum(o["share"] for o in u["ops"]) - 1) < 1e-9
PY
"$bin" mha --batch 4 --seq-len 1 --phase decode --kv-len 2048 --hardware h100-sxm > "$t/dec.txt" 2>&1
grep -q "1 query token x 2048 keys" "$t/dec.txt" && grep -q "memory-bound" "$t/dec.txt" && ok "mha decode" || bad "mha decode: $(cat "$t/dec.txt")"
"$bin" mha --batch 2 --seq-len 64 --csv > "$t/mha.csv" 2>/dev/null
head -1 "$t/mha.csv" | grep -q "^op,pass,count,flops," && [ "$(wc -l < "$t/mha.csv")" = 8 ] && ok "mha csv" || bad "mha csv"

# model: GPT-2 parameter counts, nanoGPT's 874.9 GFLOP, MFU.
"$bin" model --preset gpt2 --batch 1 --seq-len 1024 --set bias=false --dtype fp32 --step-time 0.5 --json > "$t/m.json" 2>/dev/null
check_json "model params" "$t/m.json" "d['params']['with_bias']==124439808 and d['params']['total']==124337664"
check_json "model 874.9 GFLOP" "$t/m.json" "d['flops']['matmul']==874944921600 and abs(d['flops']['matmul_per_token_over_rule']-1)<2e-4"
check_json "model MFU" "$t/m.json" "0 < d['mfu']['mfu'] < 1 and d['mfu']['tokens_per_s']==2048"
"$bin" model --preset gpt2 --phase decode --batch 16 --seq-len 512 --hardware h200 > "$t/m.txt" 2>&1
grep -q "KV cache" "$t/m.txt" && grep -q "decode step" "$t/m.txt" && ok "model decode text" || bad "model decode text"
"$bin" model --config "$src/tests/fixtures/gpt2_like/config.json" --batch 2 --seq-len 16 --csv > "$t/m.csv" 2>/dev/null
grep -q "^attn.c_attn,forward,2," "$t/m.csv" && grep -q "^adamw,optimizer,1," "$t/m.csv" && ok "model --config csv" || bad "model --config csv"

# kv: gpt2-large fp16 bytes per token, capacity on a T4.
"$bin" kv --preset gpt2-large --batch 32 --seq-len 256 --dtype fp16 --hardware t4 --json > "$t/kv.json"
check_json "kv bytes per token" "$t/kv.json" "d['kv_bytes_per_token']==184320 and d['kv_bytes_total']==1509949440 and d['fits']"
"$bin" kv --preset gpt2 --memory-gb 1 --dtype fp16 --batch 8 > "$t/kv.txt" 2>/dev/null
grep -q "tokens that fit *20,375" "$t/kv.txt" && ok "kv capacity" || bad "kv capacity: $(cat "$t/kv.txt")"

# specdecode: the issue's figures, conversions, the gamma sweep, --from-stats.
"$bin" specdecode --alpha 0.8 --gamma 4 --c 0.05 --json > "$t/s.json"
check_json "specdecode figures" "$t/s.json" \
  "abs(d['expected_tokens_per_call']-3.3616)<1e-4 and abs(d['speedup']-2.8013)<1e-4 and d['best_gamma']==8 and len(d['sweep'])==32"
"$bin" specdecode --accept-rate 0.5904 --gamma 4 --c 0.05 --json > "$t/s2.json"
check_json "accept rate -> alpha" "$t/s2.json" "abs(d['alpha']-0.8)<1e-6"
"$bin" specdecode --tokens-per-call 5 --gamma 4 --c 0.05 --json > "$t/s3.json"
check_json "alpha = 1 limit" "$t/s3.json" "d['alpha']==1 and d['expected_tokens_per_call']==5"
"$bin" specdecode --alpha 0.8 --c 0.05 --csv > "$t/s.csv"
[ "$(wc -l < "$t/s.csv")" = 33 ] && ok "specdecode csv sweep" || bad "specdecode csv sweep"
"$bin" specdecode --alpha 0.7 --target gpt2-large --draft gpt2 --hardware t4 --dtype fp16 --context 256 --json > "$t/s4.json" 2>/dev/null
check_json "specdecode c from models" "$t/s4.json" "0.1 < d['c'] < 0.25 and d['derived']['hardware']['name']=='t4'"
cat > "$t/stats.json" <<'JSON'
{"gamma": 4, "drafted": 400, "accepted": 236, "acceptance": 0.59, "alpha_hat": 0.8,
 "tokens_per_target_call": 3.36, "c_measured": 0.05, "measured_speedup": 2.5}
JSON
"$bin" specdecode --from-stats "$t/stats.json" --json > "$t/fs.json"
check_json "--from-stats" "$t/fs.json" "abs(d['speedup']['predicted']-2.8013)<1e-3 and d['speedup']['measured']==2.5"
"$bin" specdecode --from-stats "$t/stats.json" > "$t/fs.txt"
grep -q "tokens per target call" "$t/fs.txt" && ok "--from-stats text" || bad "--from-stats text"

# roofline: the A100 ridge, --all, a hardware file, --measure and cpu-local.
"$bin" roofline --hardware a100-80gb --json > "$t/r.json"
check_json "a100 ridge" "$t/r.json" "[abs(p['ridge']-161.24)<0.01 for p in d['peaks'] if p['dtype']=='bf16']==[True]"
"$bin" roofline --all > "$t/all.txt"
for h in t4 a100-40gb a100-80gb h100-sxm h100-pcie h200 rtx4090 cpu; do
  grep -q "^$h " "$t/all.txt" || bad "roofline --all lacks $h"
done
ok "roofline --all"
"$bin" roofline --hardware "$src/configs/hardware/h200.json" | grep -q "4.800 TB/s" && ok "hardware file" || bad "hardware file"
(cd "$t" && "$bin" roofline --measure > measure.txt 2>/dev/null)
check_json "roofline --measure writes cpu-local.json" "$t/cpu-local.json" \
  "d['name']=='cpu-local' and d['peak_tflops']['fp32']>0 and d['memory_bandwidth_gb_s']>0"
(cd "$t" && "$bin" matmul --m 256 --n 256 --k 256 --hardware cpu-local --json > cl.json)
check_json "--hardware cpu-local" "$t/cl.json" "d['hardware']['name']=='cpu-local' and d['dtype']=='fp32'"
(cd "$t" && "$bin" model --preset shakespeare_char --batch 1 --seq-len 32 --phase prefill --measure --json > meas.json 2>/dev/null)
check_json "model --measure" "$t/meas.json" \
  "all(o['measured_s']>0 and o['predicted_s']>0 for o in d['ops']) and 'attn.attention' in [o['name'] for o in d['ops']]"
(cd "$t" && "$bin" model --preset shakespeare_char --batch 1 --seq-len 16 --phase train --measure > meas.txt 2>/dev/null)
grep -q "adamw" "$t/meas.txt" && grep -q "(bwd)" "$t/meas.txt" && ok "model --measure train" || bad "model --measure train"

# Bad input: usage errors exit 2, bad files exit 1, each with a message that says what to do.
expect_rc "unknown preset" 2 "did you mean 'gpt2-medium'" "$bin" model --preset gpt2-medum
expect_rc "unknown hardware" 2 "unknown hardware 'a100'" "$bin" matmul --m 1 --n 1 --k 1 --hardware a100
expect_rc "cpu-local missing" 2 "roofline --measure" "$bin" roofline --hardware cpu-local
expect_rc "zero size" 2 "--m must be positive" "$bin" matmul --m 0 --n 1 --k 1
expect_rc "negative size" 2 "--k must be positive" "$bin" matmul --m 4 --n 1 --k -3
expect_rc "negative batch" 2 "batch must be positive" "$bin" mha --batch -1
expect_rc "heads do not divide" 2 "heads (5) must divide d_model (768)" "$bin" mha --heads 5
expect_rc "alpha > 1" 2 "alpha must be in [0, 1]" "$bin" specdecode --alpha 1.5 --c 0.1
expect_rc "alpha < 0" 2 "alpha must be in [0, 1]" "$bin" specdecode --alpha -0.2 --c 0.1
expect_rc "no c" 2 "--c is required" "$bin" specdecode --alpha 0.5
expect_rc "gamma 0" 2 "gamma must be at least 1" "$bin" specdecode --alpha 0.5 --c 0.1 --gamma 0
expect_rc "no bf16 on T4" 2 "t4 has no bf16 peak" "$bin" matmul --m 1 --n 1 --k 1 --hardware t4 --dtype bf16
expect_rc "unknown dtype" 2 "unknown dtype 'fp12'" "$bin" matmul --m 1 --n 1 --k 1 --dtype fp12
expect_rc "seq beyond block" 2 "exceeds the model's block_size" "$bin" model --preset gpt2 --seq-len 4096
expect_rc "preset and config" 2 "excludes" "$bin" kv --preset gpt2 --config x.json
expect_rc "no model" 2 "no model given" "$bin" kv
expect_rc "json and csv" 2 "excludes" "$bin" roofline --json --csv
expect_rc "no subcommand" 2 "subcommand" "$bin"
expect_rc "kv-len outside decode" 2 "--phase decode only" "$bin" mha --kv-len 99
expect_rc "step time outside train" 2 "--phase train" "$bin" model --preset gpt2 --phase prefill --step-time 1
expect_rc "missing config" 2 "does not exist" "$bin" model --config "$t/none.json"
echo '{"model": {"n_layr": 4}}' > "$t/typo.json"
expect_rc "config typo" 1 "did you mean 'n_layer'" "$bin" model --config "$t/typo.json"
echo '{"name": "x", "memory_bandwidth_gb_s": -5, "peak_tflops": {"fp32": 1}}' > "$t/hw.json"
expect_rc "bad hardware file" 1 "memory_bandwidth_gb_s must be a positive number" "$bin" roofline --hardware "$t/hw.json"
echo 'not json' > "$t/junk.json"
expect_rc "junk stats file" 1 "junk.json" "$bin" specdecode --from-stats "$t/junk.json"

finish intensity
