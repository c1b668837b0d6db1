#!/usr/bin/env bash
# One prepared GPU check: build with CUDA (or use a prebuilt bundle), run the GPU tests, run
# the GPU benchmarks, and write a Markdown summary. Sized to finish in a few minutes on an H100.
#   scripts/gpu_check.sh [OUTDIR]               build here with CUDA (needs the Debian dev packages)
#   GPT_BUNDLE=bundle.tar.xz scripts/gpu_check.sh OUTDIR
#                                                use binaries built elsewhere by scripts/gpu_bundle.sh
# The summary goes to OUTDIR/summary.md (stdout if no OUTDIR); logs and CSV/JSON beside it.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-}
tmp_out=$(mktemp -d)
[ -n "$out" ] || out=$tmp_out
mkdir -p "$out"
summary=$out/summary.md
log() { echo "$*" | tee -a "$summary" >&2; }
: > "$summary"

log "# gptkit GPU check"
log ""
log "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
log "- gpu: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo 'nvidia-smi failed')"
log "- cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores"

if [ -n "${GPT_BUNDLE:-}" ]; then
  bdir=$(mktemp -d)
  tar -xf "$GPT_BUNDLE" -C "$bdir" || { log "- FAILED to unpack $GPT_BUNDLE"; exit 1; }
  build=$bdir/bin
  export LD_LIBRARY_PATH=$bdir/lib:${LD_LIBRARY_PATH:-}
  log "- binaries: prebuilt bundle ($(cat "$bdir/BUILD_INFO" 2>/dev/null | tr '\n' ' '))"
else
  build=$here/build-gpu
  t0=$(date +%s)
  if cmake -S "$here" -B "$build" -G Ninja -DGPT_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 > "$out/build.log" 2>&1 &&
     cmake --build "$build" -j "$(nproc)" >> "$out/build.log" 2>&1; then
    log "- build: CUDA build in $(( $(date +%s) - t0 )) s"
  else
    log "- build: FAILED (see build.log)"; tail -30 "$out/build.log" >&2; exit 1
  fi
fi

log ""
log "## GPU tests"
# Every CUDA test has 'cuda' in its name; run them, then the whole suite for completeness.
if "$build/gptkit_tests" -tc='*cuda*,*CUDA*' > "$out/gpu_tests.log" 2>&1; then status=passed; else status=FAILED; fi
log ""
log "- CUDA test cases: $status — $(grep -E 'test cases:' "$out/gpu_tests.log" | tail -1)"
log "- assertions: $(grep -E 'assertions:' "$out/gpu_tests.log" | tail -1)"
grep -E "ERROR|SKIP|skipp" "$out/gpu_tests.log" | head -20 | sed 's/^/    /' | tee -a "$summary" >&2

log ""
log "## Depthwise conv1d (gpt-conv-bench)"
if [ -f "$here/scripts/bench/conv_gpu.sh" ]; then
  mkdir -p "$out/conv"
  timeout 240 bash "$here/scripts/bench/conv_gpu.sh" "$build" "$out/conv" > "$out/conv.log" 2>&1
  log "- conv_gpu.sh exit code $?"
  [ -f "$out/conv/summary.md" ] && cat "$out/conv/summary.md" >> "$summary"
fi

log ""
log "## Not on the GPU yet"
log "- training / generation on CUDA (issue 10): no CUDA model ops yet, nothing to time."
[ "$out" = "$tmp_out" ] && cat "$summary"
exit 0
