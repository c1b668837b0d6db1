#!/usr/bin/env bash
# The CUDA tests without a GPU: a build with GPT_CUDA=EMULATE compiles every kernel file as C++
# against the host emulation of tests/emu (each CUDA thread a fiber; barriers, warp shuffles and
# buffer ends checked; cuBLAS by OpenBLAS; docs/cuda.md) and runs the CUDA test cases: every op
# against the CPU, a training step of the whole model against the CPU engine, determinism, the
# KV-cache decoder and greedy generation, and the conv1d kernels. It checks logic, not speed.
# About 6 minutes to build on the 2-core VM and 2 to run. CI runs it.
#   scripts/test_cuda_emulated.sh [BUILD_DIR]     (default: build-emu)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$src/build-emu}
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$src" -B "$out" "${gen[@]}" -DGPT_CUDA=EMULATE -DGPT_MPI=OFF >/dev/null
cmake --build "$out" -j"${JOBS:-2}" --target gptkit_tests
OMP_NUM_THREADS=2 "$out/gptkit_tests" -tc='cuda*,conv1d: CUDA*'
