#!/usr/bin/env bash
# The CUDA model-op kernels without a GPU: builds the host emulation (tests/emu: each CUDA
# thread a fiber, "device" memory guarded host memory; see tests/emu/conv1d_emu.h) of
# kernels/ops_{basic,embedding,layernorm,xent}.cu and runs tests/test_cuda_ops.cpp against it:
# every model op but matmul and attention (cuBLAS) against its CPU twin. A first build takes
# a few minutes on the 2-core VM (JOBS=N, default 2); the run takes seconds. CI runs it.
#   scripts/bench/ops_emulate.sh [OUT_DIR]     (default: build-ops-emu)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$src/build-ops-emu}
make -s -f "$src/tests/emu/Makefile" OUT="$out" -j"${JOBS:-2}" ops
"$out/ops_emu_tests"
