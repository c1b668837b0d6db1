#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.cpp, clang, ASan + UBSan) into build-fuzz and
# runs each for SECONDS (default 60) on a copy of its seed corpus tests/fuzz/corpus/<name>/.
#   scripts/fuzz.sh [SECONDS] [TARGET...]     (TARGET: safetensors, config, ... or fuzz_config)
# Prints one summary line per target (executions, corpus, result) and appends it to
# build-fuzz/fuzz-summary.tsv; a crash's input is kept under build-fuzz/artifacts/<name>/.
# Exits 1 when any target found a crash (or failed to build or run).
# Env: FUZZ_SEED (a fixed libFuzzer seed, as CI uses), FUZZ_JOBS (build parallelism, default nproc), GPTKIT_GPT2_VOCAB (real GPT-2 vocab for
# fuzz_bpe_codec), FUZZ_BUILD (build dir, default build-fuzz).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
secs=60
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then secs=$1; shift; fi
build=${FUZZ_BUILD:-$here/build-fuzz}
jobs=${FUZZ_JOBS:-$(nproc)}
cxx=${FUZZ_CXX:-clang++}
command -v "$cxx" >/dev/null || { echo "fuzz.sh: $cxx not found (apt-get install clang libclang-rt-dev)" >&2; exit 1; }

targets=()
if [ $# -gt 0 ]; then
  for a in "$@"; do targets+=("fuzz_${a#fuzz_}"); done
else
  for f in "$here"/tests/fuzz/fuzz_*.cpp; do targets+=("$(basename "$f" .cpp)"); done
fi
for tg in "${targets[@]}"; do
  [ -f "$here/tests/fuzz/$tg.cpp" ] || { echo "fuzz.sh: no target tests/fuzz/$tg.cpp" >&2; exit 2; }
done

mkdir -p "$build"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$here" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" -DGPT_FUZZ=ON -DGPT_CUDA=OFF -DGPT_MPI=OFF \
    -DGPT_NATIVE=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/configure.log" 2>&1 ||
    { cat "$build/configure.log" >&2; exit 1; }
fi
t0=$(date +%s)
ninja -C "$build" -j "$jobs" "${targets[@]}" >&2
echo "fuzz.sh: built ${#targets[@]} targets in $(( $(date +%s) - t0 )) s (-j$jobs)" >&2

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
summary=$build/fuzz-summary.tsv
[ -f "$summary" ] || printf 'date\thost\ttarget\tseconds\texecutions\tcorpus\tresult\n' >"$summary"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0 total=0
printf '%-26s %8s %12s %8s  %s\n' target seconds executions corpus result
for tg in "${targets[@]}"; do
  name=${tg#fuzz_}
  mkdir -p "$work/$name" "$build/artifacts/$name"
  [ -d "$here/tests/fuzz/corpus/$name" ] && cp "$here/tests/fuzz/corpus/$name"/* "$work/$name"/ 2>/dev/null || true
  log=$build/artifacts/$name/last.log
  set +e
  # FUZZ_SEED fixes libFuzzer's random stream (CI sets it, so a CI run repeats the exploration
  # checked before landing instead of drawing a new one); unset, every run explores afresh.
  "$build/$tg" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 ${FUZZ_SEED:+-seed=$FUZZ_SEED} \
    -artifact_prefix="$build/artifacts/$name/" "$work/$name" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  [ -n "$execs" ] || execs=$(grep -o 'Done [0-9]* runs' "$log" | grep -o '[0-9]*' | tail -1)
  execs=${execs:-0}
  corpus=$(find "$work/$name" -type f | wc -l)
  if [ $rc = 0 ]; then
    result=ok
  else
    failed=1
    art=$(grep -o "Test unit written to [^ ]*" "$log" | tail -1 | sed 's/Test unit written to //')
    result="CRASH rc=$rc ${art:-(no artifact; see $log)}"
    grep -m3 -E 'ERROR: |runtime error|SUMMARY' "$log" >&2 || tail -20 "$log" >&2
  fi
  total=$((total + execs))
  printf '%-26s %8s %12s %8s  %s\n' "$tg" "$secs" "$execs" "$corpus" "$result"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%F)" "$(hostname)" "$tg" "$secs" "$execs" "$corpus" "$result" >>"$summary"
done
echo "fuzz.sh: $total executions in total; summary appended to $summary"
exit $failed
