#!/usr/bin/env bash
# One prepared GPU check of the depthwise conv1d kernels (issue 7), sized for a rented H100:
# the CUDA conv1d unit tests, then gpt-conv-bench on causal-conv1d-like shapes (every CUDA impl
# checked against the CPU reference on NaN-poisoned outputs, then timed next to a
# device-to-device copy), a deterministic-backward and a cold-L2 run, and a small --sweep.
# Then the version-1 cuda-vec kernels (GPT_CONV1D_BLC_V1, GPT_CONV1D_BCL_BWD_V1) on the same
# shape as the version-2 defaults. Last, if the run is still under 100 s, compute-sanitizer
# memcheck and racecheck go over the CUDA kernels on tiny shapes (80 s at most). Results land in OUTDIR: summary.md, bench.jsonl,
# sweep.csv (+ sweep.png), tests.txt, sanitizer.txt, gpu.txt, log.txt. About 1-2 minutes on an
# H100 host (the first run, without the sanitizer step, took 57 s).
#
# usage: scripts/bench/conv_gpu.sh BUILD_DIR OUTDIR
#        scripts/bench/conv_gpu.sh --bundle BUILD_DIR
# BUILD_DIR is a CUDA build (GPT_CUDA=ON) holding gpt-conv-bench and gptkit_tests. The GPU
# machine has none of the Debian libraries these link to, so first run --bundle here: it packs
# both binaries and their non-system shared libraries into BUILD_DIR/conv-gpu-bundle.tar.xz,
# which is all that needs to travel; this script unpacks it when the binaries are absent or
# cannot load.
set -uo pipefail

if [ "${1:-}" = "--bundle" ]; then
  [ $# -eq 2 ] || { echo "usage: $0 --bundle BUILD_DIR" >&2; exit 2; }
  build=$(cd "$2" && pwd)
  stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage/bin" "$stage/lib"
  for b in gpt-conv-bench gptkit_tests; do
    [ -x "$build/$b" ] || { echo "error: $build/$b is missing; build it first" >&2; exit 1; }
    cp "$build/$b" "$stage/bin/" && strip "$stage/bin/$b"
    # Everything it loads except the C runtime, which the target system provides (newer).
    ldd "$build/$b" | awk '/=> \// {print $3}' | grep -vE '/(libc|libm|libdl|libpthread|librt|libstdc\+\+|libgcc_s|libmvec|ld-linux[^/]*)\.so' |
      while read -r lib; do cp -L "$lib" "$stage/lib/"; done
  done
  tar -C "$stage" -cJf "$build/conv-gpu-bundle.tar.xz" bin lib
  ls -l "$build/conv-gpu-bundle.tar.xz"
  exit 0
fi

[ $# -eq 2 ] || { echo "usage: $0 BUILD_DIR OUTDIR   (or: $0 --bundle BUILD_DIR)" >&2; exit 2; }
build=$(cd "$1" && pwd); out=$2
mkdir -p "$out"; out=$(cd "$out" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
log="$out/log.txt"; : > "$log"
say() { echo "$*" | tee -a "$log" >&2; }
t_start=$(date +%s)

# ---- binaries and their libraries -----------------------------------------------------------
bench="$build/gpt-conv-bench"; tests="$build/gptkit_tests"
loads() { [ -x "$1" ] && ! ldd "$1" 2>/dev/null | grep -q "not found"; }
if ! loads "$bench" || ! loads "$tests"; then
  if [ -f "$build/conv-gpu-bundle.tar.xz" ]; then
    ub=$(mktemp -d)
    tar -C "$ub" -xJf "$build/conv-gpu-bundle.tar.xz"
    bench="$ub/bin/gpt-conv-bench"; tests="$ub/bin/gptkit_tests"
    export LD_LIBRARY_PATH="$ub/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    say "using the bundled binaries and libraries from $build/conv-gpu-bundle.tar.xz"
  fi
fi
if ! loads "$bench"; then
  # A CUDA runtime may be on the machine but off the loader path.
  for d in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib \
           $(ls -d /usr/local/lib/python3*/dist-packages/nvidia/*/lib /opt/*/.venv/lib/python3*/site-packages/nvidia/*/lib 2>/dev/null); do
    [ -d "$d" ] && export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
  done
fi
if ! loads "$bench"; then
  say "error: $bench cannot run here:"; ldd "$bench" 2>&1 | grep -E "not found|GLIBC" | tee -a "$log" >&2
  say "build with CUDA and run: $0 --bundle BUILD_DIR, then carry BUILD_DIR/conv-gpu-bundle.tar.xz"
  exit 1
fi

{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem,clocks.max.sm,temperature.gpu,power.draw --format=csv 2>&1
  nvidia-smi 2>&1 | head -20; } > "$out/gpu.txt"
"$bench" --version >> "$log" 2>&1
say "device: $(OMP_NUM_THREADS=1 "$bench" -B 1 -C 1 -L 8 --impl cpu --iters 1 --warmup 0 --no-check --json 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["cuda"])' 2>/dev/null)"
say "host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"

# ---- 1. unit tests: every CUDA kernel against the CPU reference on random shapes ------------
say "== conv1d unit tests"
timeout 150 "$tests" -tc='conv1d*' > "$out/tests.txt" 2>&1
test_rc=$?
tail -4 "$out/tests.txt" | tee -a "$log" >&2
grep -q "skipping CUDA" "$out/tests.txt" && say "WARNING: the CUDA tests were skipped (no usable GPU)"
# The 16-bit BLC kernels all wide (GPT_CONV1D_BLC_WIDE=1: the forward too) through the same
# cuda-vec cases; the default run above has the wide backward.
GPT_CONV1D_BLC_WIDE=1 timeout 100 "$tests" -tc='conv1d: CUDA cuda-vec*,conv1d: CUDA kernels with*,conv1d: CUDA deter*' \
  > "$out/tests_wide.txt" 2>&1 || test_rc=$?
say "wide BLC kernels: $(tail -2 "$out/tests_wide.txt" | head -1)"

# ---- 2. benchmarks: checked, then timed --------------------------------------------------------
cuda=(--impl cuda-naive,cuda-tiled,cuda-vec --iters 20 --warmup 3 --max-seconds 0.5)
fast=(--impl cuda-tiled,cuda-vec --iters 20 --warmup 3 --max-seconds 0.5)
vec=(--impl cuda-vec --iters 20 --warmup 3 --max-seconds 0.5)
shapes=(8 1024 2048 16 2048 4096 8 4096 4096)
if [ -n "${CONV_GPU_DRY:-}" ]; then  # plumbing test without a GPU: tiny shapes, CPU impls
  cuda=(--impl cpu-ref,cpu --iters 2 --warmup 0); fast=(--impl cpu --iters 2 --warmup 0); vec=("${fast[@]}"); shapes=(2 64 256 2 128 512 2 96 300)
  say "DRY RUN: CPU impls on tiny shapes"
fi
shape_args() { echo "-B ${shapes[$1]} -C ${shapes[$1+1]} -L ${shapes[$1+2]}"; }
bench_rc=0
run() {  # label, args...
  local label=$1; shift
  say "== $label: gpt-conv-bench $*"
  timeout 120 "$bench" "$@" --json > "$out/.one.json" 2>> "$log"
  local rc=$?
  [ $rc -ne 0 ] && { bench_rc=$rc; say "   exit $rc"; }
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["label"]=sys.argv[2]; print(json.dumps(d))' \
    "$out/.one.json" "$label" >> "$out/bench.jsonl" 2>> "$log"
}
: > "$out/bench.jsonl"
run "causal K=4, $(shape_args 0)" $(shape_args 0) -K 4 --layout bcl,blc --dtype fp32,bf16 --pass both "${cuda[@]}"
run "causal K=4, $(shape_args 3)" $(shape_args 3) -K 4 --layout bcl,blc --dtype fp32,bf16 --pass both "${cuda[@]}"
run "causal K=4 +bias +silu, $(shape_args 6)" $(shape_args 6) -K 4 --bias --silu --layout bcl,blc --dtype bf16 --pass both "${cuda[@]}"
run "deterministic backward, $(shape_args 3)" $(shape_args 3) -K 4 --layout bcl,blc --dtype bf16 --pass bwd --deterministic "${cuda[@]}"
run "cold L2, $(shape_args 6)" $(shape_args 6) -K 4 --layout bcl --dtype bf16 --pass both --cold "${fast[@]}"
# The version-1 cuda-vec kernels that v2 replaced (docs/conv1d.md, "Kernel versions and
# switches"), on the shape of the second run above, so old and new are timed in the same run.
GPT_CONV1D_BLC_V1=1 GPT_CONV1D_BCL_BWD_V1=1 run "v1 kernels (GPT_CONV1D_BLC_V1=1 GPT_CONV1D_BCL_BWD_V1=1), $(shape_args 3)" $(shape_args 3) -K 4 --layout blc --dtype fp32,bf16 --pass both "${vec[@]}"
GPT_CONV1D_BCL_BWD_V1=1 run "v1 BCL backward (GPT_CONV1D_BCL_BWD_V1=1), $(shape_args 3)" $(shape_args 3) -K 4 --layout bcl --dtype bf16 --pass bwd "${vec[@]}"
# The 16-bit BLC default is a wide backward (4 channels per thread) and a narrow forward (4);
# time the other choice of each on the same shapes in the same run: the narrow backward
# (GPT_CONV1D_BLC_WIDE=0) and the wide forward (=1).
GPT_CONV1D_BLC_WIDE=0 run "narrow BLC backward (GPT_CONV1D_BLC_WIDE=0), $(shape_args 3)" $(shape_args 3) -K 4 --layout blc --dtype bf16,fp16 --pass bwd "${vec[@]}"
GPT_CONV1D_BLC_WIDE=0 run "narrow BLC backward (GPT_CONV1D_BLC_WIDE=0), +bias +silu, $(shape_args 6)" $(shape_args 6) -K 4 --bias --silu --layout blc --dtype bf16 --pass bwd "${vec[@]}"
GPT_CONV1D_BLC_WIDE=1 run "wide BLC forward (GPT_CONV1D_BLC_WIDE=1), $(shape_args 3)" $(shape_args 3) -K 4 --layout blc --dtype bf16 --pass fwd "${vec[@]}"
say "== sweep"
sweep_c=512,2048; [ -n "${CONV_GPU_DRY:-}" ] && sweep_c=16,64
timeout 120 "$bench" -B 1,8 -C $sweep_c -L 2048 -K 4 --layout bcl,blc --dtype bf16 --pass both \
  "${cuda[@]}" --sweep "$out/sweep.csv" > "$out/.sweep.txt" 2>> "$log" || bench_rc=$?
plotted=
for py in python3 /usr/bin/python3; do
  "$py" "$src/scripts/plot_conv_sweep.py" "$out/sweep.csv" "$out/sweep.png" >> "$log" 2>&1 && { plotted=1; break; }
done
[ -n "$plotted" ] || say "(no sweep.png: no python3 with matplotlib)"
# The same sweep shapes through PyTorch's conv1d(groups=C) on the GPU, when a python3 with
# CUDA-enabled torch is there (the comparison table lands in torch_compare.md).
if [ -z "${CONV_GPU_DRY:-}" ] && python3 -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  say "== torch conv1d on the same shapes"
  timeout 120 python3 "$src/scripts/bench/conv_vs_torch.py" --device cuda --compare "$out/sweep.csv" \
    --csv "$out/torch_sweep.csv" > "$out/torch_compare.md" 2>> "$log" || say "(torch comparison failed; see log.txt)"
else
  say "(no python3 with CUDA torch: torch comparison skipped)"
fi
rm -f "$out/.one.json" "$out/.sweep.txt"

# ---- 3. compute-sanitizer on tiny shapes: out-of-bounds accesses and shared-memory races -------
san=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer /opt/nvidia/*/compute-sanitizer 2>/dev/null | head -1)
san_rc=0
if [ -z "$san" ] || [ -n "${CONV_GPU_DRY:-}" ]; then
  say "(compute-sanitizer not found or dry run: skipped)"
elif [ $(( $(date +%s) - t_start )) -gt 130 ]; then
  say "(compute-sanitizer skipped: out of time)"   # the whole script is meant to take <= 2.5 min
else
  : > "$out/sanitizer.txt"
  san_run() {  # seconds, tool, args...
    local secs=$1 tool=$2; shift 2
    say "== compute-sanitizer --tool $tool gpt-conv-bench $*"
    echo "== $tool: $*" >> "$out/sanitizer.txt"
    timeout "$secs" "$san" --tool "$tool" --error-exitcode 3 "$bench" "$@" --iters 1 --warmup 0 \
      >> "$out/sanitizer.txt" 2>&1
    local rc=$?; [ $rc -ne 0 ] && { san_rc=$rc; say "   exit $rc"; }
  }
  san_run 15 memcheck -B 2 -C 67 -L 1100 -K 4 --bias --silu --layout bcl,blc --dtype fp32,bf16 \
    --pass both --impl cuda-naive,cuda-tiled,cuda-vec
  san_run 15 memcheck -B 1 -C 40 -L 300 -K 9,33 --padding same --layout bcl,blc --dtype fp16 \
    --pass both --impl cuda-tiled,cuda-vec
  san_run 20 racecheck -B 1 -C 67 -L 1100 -K 4 --bias --silu --layout bcl,blc --dtype fp32 \
    --pass both --impl cuda-tiled,cuda-vec
  # The vector paths of the v2 kernels (C % 4 == 0, L % 8 == 0), and the shared-memory sum of
  # the BLC v2 backward under racecheck.
  san_run 15 memcheck -B 2 -C 72 -L 1096 -K 4 --bias --silu --layout bcl,blc --dtype fp32,bf16 \
    --pass both --impl cuda-vec
  san_run 15 racecheck -B 1 -C 72 -L 1096 -K 4 --layout blc --dtype bf16 --pass bwd --impl cuda-vec
  GPT_CONV1D_BLC_WIDE=1 san_run 15 memcheck -B 2 -C 72 -L 1096 -K 4 --bias --silu --layout blc --dtype bf16 \
    --pass fwd --impl cuda-vec
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Hazard|Invalid" "$out/sanitizer.txt" | sort | uniq -c | head -20 | tee -a "$log" >&2
fi

# ---- 4. summary ----------------------------------------------------------------------------------
python3 - "$out" "$test_rc" "$bench_rc" "$(( $(date +%s) - t_start ))" "$san_rc" > "$out/summary.md" <<'EOF'
import json, sys
out, test_rc, bench_rc, secs, san_rc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
runs = [json.loads(l) for l in open(f"{out}/bench.jsonl") if l.strip()]
rows = [(r, run) for run in runs for r in run["results"]]
bad = [r for r, _ in rows if r["ran"] and not r["ok"]]
unavailable = [r for r, _ in rows if not r["ran"]]
print("# conv1d GPU check\n")
print(f"- device: {runs[0]['cuda'] if runs else '?'}")
print(f"- unit tests (conv1d*): {'PASS' if test_rc == 0 else 'FAIL (exit %d, see tests.txt)' % test_rc}")
print(f"- kernel checks in the benchmarks: {len(rows) - len(bad) - len(unavailable)} ok, {len(bad)} FAILED, {len(unavailable)} not run")
san = {0: "clean or skipped", 124: "timed out (no verdict; see sanitizer.txt)", 1: "a kernel check failed under the sanitizer (see sanitizer.txt)"}
print(f"- compute-sanitizer (memcheck, racecheck on tiny shapes): {san.get(san_rc, 'FOUND ERRORS (exit %d, see sanitizer.txt)' % san_rc)}")
print(f"- wall time: {secs} s\n")
for r in bad:
    s = r["shape"]
    errs = ", ".join(f"{e['tensor']} rel {e['max_rel']:.2e} (tol {e['tol']:.0e}, nonfinite {e['nonfinite']})" for e in r["errors"])
    print(f"- **FAIL** {r['pass']} {r['impl']} B={s['B']} C={s['C']} L={s['L']} K={s['K']} {s['layout']} {s['dtype']}: {errs}")
for r in unavailable[:3]:
    print(f"- not run: {r['impl']}: {r.get('note', '')}")
print("\n| run | pass | shape | impl | ms | GB/s | % of D2D copy | copy GB/s | check | kernel |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r, run in rows:
    if not r["ran"]:
        continue
    s = r["shape"]
    shape = f"B={s['B']} C={s['C']} L={s['L']} K={s['K']} {s['layout']} {s['dtype']}" + (" +bias" if s["bias"] else "") + (" +silu" if s["silu"] else "")
    flag = ("det " if run.get("deterministic") and r["pass"] == "bwd" else "") + ("cold" if run.get("cold") else "")
    print(f"| {run['label']} | {r['pass']} {flag} | {shape} | {r['impl']} | {r['ms']:.4f} | {r['gbps']:.0f} | "
          f"{r['pct_copy']:.0f}% | {r['copy_gbps']:.0f} | {'ok' if r['ok'] else 'FAIL'} | {r['kernel']} |")
EOF
# The reply of a remote run shows only the end of the output: the verdict and the cuda-vec rows.
grep -E "^- |FAIL" "$out/summary.md" >&2
grep -E "\| cuda-vec \|" "$out/summary.md" | awk -F'|' '{printf "%-5s %-44s %9s ms %6s GB/s %5s of copy %s\n", $3, $4, $6, $7, $8, $10}' >&2
say "done in $(( $(date +%s) - t_start )) s; results in $out"
[ $test_rc -eq 0 ] && [ $bench_rc -eq 0 ] && [ $san_rc -eq 0 ]
