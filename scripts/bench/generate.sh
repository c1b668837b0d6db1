#!/usr/bin/env bash
# Decode benchmark (issue 4): tokens/s with and without the KV cache at batch 1 and 32, against
# the memory roofline (weights + KV cache read per step over the copy bandwidth measured in the
# same run), for the trained shakespeare_char_cpu model and a random GPT-2-124M-shaped model;
# then gpt-generate's peak memory on the 124M checkpoint. Markdown on stdout, JSON in $OUT.
#   scripts/bench/generate.sh [BUILD_DIR] [SHAKESPEARE_CKPT] [THREADS]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
ckpt=${2:-$here/runs/shakespeare_char_cpu/ckpt}
threads=${3:-2}
out=${OUT:-$build/bench/generate}
mkdir -p "$out"
: > "$out/decode.jsonl"
export OMP_NUM_THREADS=$threads
[ -d "$ckpt" ] || { echo "error: $ckpt not found: train it first (scripts/quickstart.sh, or gpt-train --config configs/shakespeare_char_cpu.json)" >&2; exit 1; }
b=$build/bench-generate
echo "[shakespeare_char_cpu] prompt 128, 256 new (past block_size 64: every step re-encodes the window)" >&2
$b --ckpt "$ckpt" --prompt 128 --new 256 --batch 1,32 >> "$out/decode.jsonl"
echo "[shakespeare_char_cpu] prompt 16, 48 new (inside block_size)" >&2
$b --ckpt "$ckpt" --prompt 16 --new 48 --batch 1,32 >> "$out/decode.jsonl"
echo "[gpt2-124m] prompt 128, 256 new" >&2
$b --gpt2-124m --prompt 128 --new 256 --batch 1,32 --uncached-samples 4 >> "$out/decode.jsonl"

echo "[gpt2-124m] gpt-generate peak memory" >&2
$b --gpt2-124m --save "$out/gpt2_ckpt"
ids=$(/usr/bin/python3 -c "import random; random.seed(1); print(','.join(str(random.randrange(50257)) for _ in range(128)))")
: > "$out/memory.jsonl"
for n in 1 32; do
  "$build/gpt-generate" --ckpt "$out/gpt2_ckpt" --prompt-tokens "$ids" --max-new-tokens 256 --num-samples $n \
    --json 2>/dev/null | /usr/bin/python3 -c "
import json, sys; d = json.load(sys.stdin)
print(json.dumps({k: d[k] for k in ('num_samples', 'weights_bytes', 'kv_cache_bytes', 'peak_rss_bytes', 'decode_tokens_per_s')}))" >> "$out/memory.jsonl"
done
rm -rf "$out/gpt2_ckpt"

/usr/bin/python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
rows = [json.loads(l) for l in open(f"{out}/decode.jsonl")]
print(f"copy bandwidth measured in the same run: {rows[0]['copy_gbps']:.1f} GB/s, {rows[0]['threads']} thread(s)\n")
print("| model | prompt + new | batch | cached tok/s | uncached tok/s | cached / uncached | cached % of roofline |")
print("|---|---|---|---|---|---|---|")
key = lambda r: (r["model"], r["prompt"], r["new_tokens"], r["batch"])
seen = {}
for r in rows: seen.setdefault(key(r), {})[r["kv_cache"]] = r
for k, d in seen.items():
    c, u = d.get(True), d.get(False)
    name = "gpt2-124m (random)" if "gpt2" in k[0] else "shakespeare_char_cpu"
    est = " (est.)" if u and u["method"] != "measured" else ""
    print(f"| {name} | {k[1]} + {k[2]} | {k[3]} | {c['decode_tokens_per_s']:.1f} | {u['decode_tokens_per_s']:.1f}{est} | "
          f"{c['decode_tokens_per_s'] / u['decode_tokens_per_s']:.1f}x | {100 * c['roofline_frac']:.0f}% |")
print("\n| gpt-generate, 124M, 128 + 256 | samples | weights MiB | KV cache MiB | peak RSS MiB | peak / (weights + cache) |")
print("|---|---|---|---|---|---|")
for l in open(f"{out}/memory.jsonl"):
    m = json.loads(l); mib = 1 << 20
    print(f"| | {m['num_samples']} | {m['weights_bytes'] / mib:.0f} | {m['kv_cache_bytes'] / mib:.0f} | "
          f"{m['peak_rss_bytes'] / mib:.0f} | {m['peak_rss_bytes'] / (m['weights_bytes'] + m['kv_cache_bytes']):.2f} |")
PY
