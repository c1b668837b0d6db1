// Token + position embeddings. Backward is deterministic without atomics: the host groups the
// positions of each distinct token (in (b, t) order), and one block per token adds its rows in
// that order, starting from the existing gradient: the same additions in the same order as
// lib/ops/cpu/embedding.cpp, so the result is bit-identical to the CPU's.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "cuda_common.h"
#include "device_util.cuh"
#include "ops_cuda.h"

namespace gpt::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void emb_fwd_kernel(float* y, const int32_t* idx, const float* wte, const float* wpe,
                               int64_t BT, int T, int C, int pos0) {
  GPT_GRID_STRIDE(i, BT * C) {
    const int64_t bt = i / C;
    const int c = int(i - bt * C);
    const int64_t t = bt % T;
    y[i] = wte[int64_t(idx[bt]) * C + c] + wpe[(pos0 + t) * C + c];
  }
}

// groups: [U tokens][U + 1 offsets into positions][BT positions b*T + t, ascending per token].
__global__ void emb_bwd_wte_kernel(float* dwte, const float* dy, const int32_t* groups, int U,
                                   int C) {
  const int32_t* tokens = groups;
  const int32_t* offsets = groups + U;
  const int32_t* positions = groups + 2 * int64_t(U) + 1;
  for (int64_t u = blockIdx.x; u < U; u += gridDim.x) {
    float* row = dwte + int64_t(tokens[u]) * C;
    const int32_t k0 = offsets[u], k1 = offsets[u + 1];
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
      float acc = row[c];
      for (int32_t k = k0; k < k1; ++k) acc += dy[int64_t(positions[k]) * C + c];
      row[c] = acc;
    }
  }
}

// One thread per (t, c), adding over b in order.
__global__ void emb_bwd_wpe_kernel(float* dwpe, const float* dy, int B, int T, int C) {
  GPT_GRID_STRIDE(i, int64_t(T) * C) {
    const int64_t stride = int64_t(T) * C;
    float acc = dwpe[i];
    for (int b = 0; b < B; ++b) acc += dy[b * stride + i];
    dwpe[i] = acc;
  }
}

}  // namespace

void embedding_forward(float* y, const int32_t* idx, const float* wte, const float* wpe, int B,
                       int T, int C, int pos0) {
  const int64_t BT = int64_t(B) * T;
  if (BT <= 0 || C <= 0) return;
  GPT_LAUNCH(emb_fwd_kernel, blocks_for(BT * C, kThreads), kThreads, 0, 0, y, idx, wte, wpe, BT, T,
             C, pos0);
  GPT_CUDA_LAUNCHED();
}

void embedding_backward(float* dwte, float* dwpe, const float* dy, const int32_t* idx, int B,
                        int T, int C) {
  const int64_t BT = int64_t(B) * T;
  if (BT <= 0 || C <= 0) return;
  if (BT > INT32_MAX) raise_error("embedding_backward: B*T too large");

  if (dwpe) {
    GPT_LAUNCH(emb_bwd_wpe_kernel, blocks_for(int64_t(T) * C, kThreads), kThreads, 0, 0, dwpe, dy,
               B, T, C);
    GPT_CUDA_LAUNCHED();
  }
  if (!dwte) return;

  std::vector<int32_t> ids(static_cast<size_t>(BT));
  to_host(ids.data(), idx, ids.size() * sizeof(int32_t));  // also waits for earlier kernels
  std::vector<int32_t> order(static_cast<size_t>(BT));
  std::iota(order.begin(), order.end(), 0);
  // Stable, so each token's positions stay in (b, t) order: the CPU's order of additions.
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return ids[size_t(a)] < ids[size_t(b)]; });
  std::vector<int32_t> tokens, offsets;
  for (int64_t k = 0; k < BT; ++k) {
    const int32_t tok = ids[size_t(order[size_t(k)])];
    if (k == 0 || tok != tokens.back()) {
      tokens.push_back(tok);
      offsets.push_back(int32_t(k));
    }
  }
  offsets.push_back(int32_t(BT));
  const int U = int(tokens.size());
  std::vector<int32_t> groups;
  groups.reserve(tokens.size() + offsets.size() + order.size());
  groups.insert(groups.end(), tokens.begin(), tokens.end());
  groups.insert(groups.end(), offsets.begin(), offsets.end());
  groups.insert(groups.end(), order.begin(), order.end());

  struct Scratch {  // freed on every path, an error's included
    int32_t* p;
    ~Scratch() { release(p); }
  } d_groups{static_cast<int32_t*>(alloc(groups.size() * sizeof(int32_t)))};
  to_device(d_groups.p, groups.data(), groups.size() * sizeof(int32_t));
  const unsigned blocks = unsigned(std::min<int64_t>(U, 65535 * 32));
  GPT_LAUNCH(emb_bwd_wte_kernel, blocks, kThreads, 0, 0, dwte, dy, d_groups.p, U, C);
  GPT_CUDA_LAUNCHED();
  // The scratch must outlive the kernel that reads it.
  GPT_CUDA_CHECK(cudaStreamSynchronize(0));
}

}  // namespace gpt::cuda
