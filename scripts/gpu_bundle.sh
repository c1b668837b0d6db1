#!/usr/bin/env bash
# Builds the CUDA binaries here (nvcc compiles without a GPU) and packs them with their
# non-system shared libraries into a tarball that scripts/gpu_check.sh runs on a GPU machine
# lacking the Debian dev packages.
#   scripts/gpu_bundle.sh [OUT.tar.xz]      (default: .gpu/bundle.tar.xz, ignored by git)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$here/.gpu/bundle.tar.xz}
build=$here/build-gpu-bundle
# x86-64-v3 (AVX2/FMA) rather than -march=native: the GPU host's CPU may differ from ours.
cmake -S "$here" -B "$build" -G Ninja -DGPT_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DGPT_NATIVE=OFF \
  -DCMAKE_CXX_FLAGS="-march=x86-64-v3" >&2
cmake --build "$build" -j "$(nproc)" --target gptkit_tests gpt-conv-bench bench-train-step bench-generate gpt-train gpt-prepare gpt-generate gpt-specdecode gpt-assoc-recall >&2
stage=$(mktemp -d)
mkdir -p "$stage/bin" "$stage/lib"
for b in gptkit_tests gpt-conv-bench bench-train-step bench-generate gpt-train gpt-prepare gpt-generate gpt-specdecode gpt-assoc-recall; do
  cp "$build/$b" "$stage/bin/" && strip "$stage/bin/$b"
done
# Carry every shared library except glibc's, the loader, the GPU driver's own, and the CUDA
# runtime and cuBLAS (hundreds of MB; the GPU host's CUDA toolkit has them, and
# scripts/gpu_check.sh puts its library directories on the loader path).
ldd "$build/gptkit_tests" "$build/gpt-conv-bench" "$build/bench-train-step" "$build/gpt-train" | awk '/=> \//{print $3}' | sort -u | while read -r so; do
  case "$(basename "$so")" in
    libc.so*|libm.so*|libmvec.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*|libcuda.so*|libstdc++.so*|libgcc_s.so*) ;;
    libcublas*|libcudart*) ;;
    *) cp -L "$so" "$stage/lib/" ;;
  esac
done
{ echo "built $(date -u +%Y-%m-%dT%H:%MZ) on $(hostname)"; git -C "$here" rev-parse --short HEAD; nvcc --version | tail -1; } > "$stage/BUILD_INFO"
mkdir -p "$(dirname "$dest")"
tar -C "$stage" -cJf "$dest" .
rm -rf "$stage"
ls -la "$dest" >&2
