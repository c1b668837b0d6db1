#!/usr/bin/env bash
# Associative recall: hand-built against trained accuracy per preset, and the CPU time a
# trained model needs to reach 99% test accuracy. Long: the Q1 run is 6,260 steps of a
# 3.2M-parameter model and the MQAR run 9,390 steps; run it on a quiet machine.
#   scripts/bench/assoc_recall.sh [BUILD_DIR] [THREADS] [PRESETS...]
# PRESETS default to "q1 mqar" (the training presets of gpt-assoc-recall train). Prints a
# Markdown table for docs/assoc-recall.md; every run directory stays under $OUT.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
threads=${2:-2}
shift $(( $# > 2 ? 2 : $# ))
presets=${*:-q1 mqar}
out=${OUT:-$build/bench/assoc_recall}
examples=${EXAMPLES:-1000}
mkdir -p "$out"
export OMP_NUM_THREADS=$threads

# Hand-built accuracy on every MQAR preset, zero and random filler, plus the course tasks.
for p in toy course-ar mqar-64 mqar-128 mqar-256 mqar-512; do
  fillers=zero; case $p in mqar-*) fillers="zero random";; esac
  for f in $fillers; do
    extra=(); [ "$p" != toy ] && [ "$p" != course-ar ] && extra=(--filler "$f")
    n=$examples; [ "$p" = course-ar ] && n=500
    echo "[hand-built] $p $f" >&2
    "$build/gpt-assoc-recall" hardcode --preset "$p" "${extra[@]}" --examples "$n" --json > "$out/hc_${p}_$f.json"
  done
done

# Trained baselines through the core trainer (data generated into <run>/data).
for t in $presets; do
  echo "[trained] $t, $threads thread(s)" >&2
  "$build/gpt-assoc-recall" train --preset "$t" --out "$out/train_$t" -q --json > "$out/train_$t.json"
done

/usr/bin/python3 - "$out" "$threads" $presets <<'PY'
import glob, json, os, sys
out, threads, presets = sys.argv[1], sys.argv[2], sys.argv[3:]
print("| task | filler | hand-built accuracy | ambiguous | accuracy on unambiguous | n_embd | eval s |")
print("|---|---|---|---|---|---|---|")
for f in sorted(glob.glob(f"{out}/hc_*.json")):
    r = json.load(open(f))
    name = os.path.basename(f)[3:-5].rsplit("_", 1)
    print(f"| {name[0]} | {name[1]} | {r['accuracy']:.6f} ({r['correct']}/{r['scored']}) | {r['ambiguous']} | "
          f"{r['accuracy_unambiguous']:.6f} | {r['model']['n_embd']} | {r['eval_s']:.1f} |")
print()
print(f"| trained preset | test accuracy | steps | CPU time to 99% ({threads} thr) | total time |")
print("|---|---|---|---|---|")
for t in presets:
    r = json.load(open(f"{out}/train_{t}.json"))
    t99 = "not reached"
    for line in open(f"{out}/train_{t}/metrics.jsonl"):
        m = json.loads(line)
        if m.get("kind") == "eval" and m.get("val_acc", 0) >= 0.99:
            t99 = f"{m['elapsed_s']:.0f} s (step {m['step']})"
            break
    print(f"| {t} | {r['test_accuracy']:.4f} | {r['steps']} | {t99} | {r['elapsed_s']:.0f} s |")
PY
