#!/usr/bin/env bash
# The CUDA conv1d kernels without a GPU: builds the host emulation (tests/emu: kernels/conv1d_*.cu
# compiled as C++ with GPT_CONV1D_EMULATE, each CUDA thread a fiber; see docs/conv1d.md) and runs
# the CUDA test cases of tests/test_conv1d.cpp against the CPU reference:
#   1. every CUDA case with the default kernels (cuda-vec v2 where it exists);
#   2. the cuda-vec cases with the version-1 fallbacks (GPT_CONV1D_BLC_V1=1 GPT_CONV1D_BCL_BWD_V1=1);
#   3. the cuda-vec cases with the BLC v2 rows per warp forced to 32 and 64 (GPT_CONV1D_BLC_SEG;
#      the small test shapes otherwise pick 16);
#   4. the cuda-vec cases with the 16-bit BLC kernels all wide (GPT_CONV1D_BLC_WIDE=1) and all
#      narrow (=0); the default is a wide backward and a narrow forward.
# About 5 minutes on the 2-core VM, after a first build of ~4 minutes (make -j1 by default;
# JOBS=N to change). Exit status: non-zero on the first failing step.
#
# usage: scripts/bench/conv_emulate.sh [OUT_DIR]     (default: build-conv-emu)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$src/build-conv-emu}
make -s -f "$src/tests/emu/Makefile" OUT="$out" -j"${JOBS:-1}"
t="$out/conv1d_emu_tests"
vec_cases='conv1d: CUDA cuda-vec*,conv1d: CUDA kernels with*,conv1d: CUDA deter*'
step() { echo "== $*" >&2; }
step "1/6 all CUDA cases, default kernels"
"$t" -tc='conv1d: CUDA*'
step "2/6 cuda-vec cases, v1 kernels"
GPT_CONV1D_BLC_V1=1 GPT_CONV1D_BCL_BWD_V1=1 "$t" -tc="$vec_cases"
for seg in 32 64; do
  step "$((seg / 32 + 2))/6 cuda-vec cases, GPT_CONV1D_BLC_SEG=$seg"
  GPT_CONV1D_BLC_SEG=$seg "$t" -tc="$vec_cases"
done
for w in 1 0; do
  step "$((6 - w))/6 cuda-vec cases, GPT_CONV1D_BLC_WIDE=$w"
  GPT_CONV1D_BLC_WIDE=$w "$t" -tc="$vec_cases"
done
step "all emulated CUDA checks passed"
