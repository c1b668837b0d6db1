#!/usr/bin/env bash
# Associative-recall training runs on a GPU from the prebuilt bundle (scripts/gpu_bundle.sh),
# all at once (each run is launch-bound, so they share the GPU well), then each run's test
# accuracy per epoch. Every RUN is "NAME PRESET [--set k=v ...]" on one line of stdin.
#   GPT_BUNDLE=.gpu/bundle.tar.xz scripts/bench/assoc_gpu.sh OUTDIR SECONDS < runs.txt
set -uo pipefail
out=$1; secs=$2
mkdir -p "$out"
b=$(mktemp -d); tar -xf "${GPT_BUNDLE:-.gpu/bundle.tar.xz}" -C "$b"
export LD_LIBRARY_PATH=$b/lib:${LD_LIBRARY_PATH:-}
for d in /usr/local/cuda/lib64 $(ls -d /usr/local/lib/python3*/dist-packages/nvidia/*/lib /opt/*/.venv/lib/python3*/site-packages/nvidia/*/lib 2>/dev/null); do
  [ -d "$d" ] && LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$d
done
runs=$(mktemp -d); pids=(); names=()
while read -r name preset rest; do
  [ -z "$name" ] && continue
  # shellcheck disable=SC2086
  timeout "$secs" "$b/bin/gpt-assoc-recall" train --preset "$preset" --device cuda --out "$runs/$name" $rest \
    --json > "$out/$name.json" 2> "$out/$name.log" &
  pids+=($!); names+=("$name")
done
wait "${pids[@]}"
for name in "${names[@]}"; do
  cp "$runs/$name/metrics.jsonl" "$out/$name.metrics.jsonl" 2>/dev/null
  python3 - "$out/$name.metrics.jsonl" "$name" <<'PY'
import json, sys
ev = [r for r in map(json.loads, open(sys.argv[1])) if r.get("kind") == "eval"]
first = next((r for r in ev if r.get("val_acc", 0) >= 0.99), None)
print(f"{sys.argv[2]}: " + ", ".join(f"{r['step']}:{r['val_acc']:.3f}@{r['elapsed_s']:.0f}" for r in ev))
print(f"  first >= 0.99: {'step %d at %.1f s' % (first['step'], first['elapsed_s']) if first else 'not reached'}")
PY
done
