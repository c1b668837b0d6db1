#pragma once
// The model ops on the GPU: the signatures of ops/ops.h, with every tensor pointer a device
// pointer (allocated with gpt::cuda::alloc). Plain C++ only, so g++ code and tests include it;
// everything here exists only when GPT_HAVE_CUDA is defined. Ops run in order on one stream
// (the default stream); functions that return a host value (a count, a norm) synchronise.
// Every op is tested against its CPU twin in tests/test_cuda_*.cpp. nvcc compiles C++17, so this
// header and what it includes stay free of C++20 (config.h, ops.h, fmt).
#include <cstddef>
#include <cstdint>
#include <string>

#include "model/activation.h"
#include "ops/adamw_params.h"

namespace gpt::cuda {

// ---- runtime (kernels/cuda_runtime.cu) ---------------------------------------------------
// True when a usable GPU (sm_80+) is present, checked once; otherwise *why says what is missing.
bool available(std::string* why = nullptr);
std::string device_name();  // "NVIDIA H100 80GB HBM3, sm_90, 132 SMs"
void* alloc(size_t bytes);  // throws gpt::Error when out of memory, naming the size
void release(void* p);
void to_device(void* dst, const void* src, size_t bytes);
void to_host(void* dst, const void* src, size_t bytes);
void copy(void* dst, const void* src, size_t bytes);  // device to device
void fill_zero(void* p, size_t bytes);
void fill_nan(float* p, size_t n);  // poison: a read of an unwritten output shows as NaN
void synchronize();  // waits, and throws a gpt::Error for an earlier kernel's failure
// TF32 tensor cores for fp32 matmuls (off by default: fp32 results then match the CPU to 1e-5).
void set_tf32(bool allow);
bool tf32();
// bf16 matmuls for the linear layers (kernels/ops_linear.cu): operands rounded to bf16, fp32
// accumulation and fp32 result; everything stored stays fp32. Takes precedence over TF32
// there; the attention's GEMMs stay fp32/TF32. The rounded copies live in a scratch buffer
// that grows to the largest call's operands and is kept: bf16_scratch_bytes().
void set_bf16_matmuls(bool on);
bool bf16_matmuls();
size_t bf16_scratch_bytes();
// dst[i] = src[i] rounded to bf16 (nearest even, NaN kept), on the device: lib/core/half.h's
// f32_to_bf16.
void round_to_bf16(uint16_t* dst, const float* src, int64_t n);
// Measured matmul rate (FLOP/s) of cuBLAS on an n^3 product in the current mode (fp32, TF32, or
// bf16 with fp32 accumulation when bf16 matmuls are on): the peak that MFU is reported against,
// as the CPU engine uses its measured sgemm peak.
double measure_matmul_flops(int n = 4096);
// Device-to-device copy bandwidth (GB/s, bytes read + written) over a buffer of `bytes`: the
// memory roofline that decode and memory-bound kernels are reported against.
double measure_copy_gbps(size_t bytes = size_t(1) << 30);
// Deterministic mode: every reduction runs in a fixed order, so a run repeats bit for bit.
void set_deterministic(bool on);
bool deterministic();

// A device float buffer that frees itself.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) { resize(n); }
  ~DeviceBuffer() { release(p_); }
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr; o.n_ = 0; }
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) { release(p_); p_ = o.p_; n_ = o.n_; o.p_ = nullptr; o.n_ = 0; }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void resize(size_t n) {  // discards contents; new memory is zeroed
    release(p_);
    p_ = nullptr;
    n_ = 0;
    if (n == 0) return;
    p_ = static_cast<float*>(alloc(n * sizeof(float)));
    fill_zero(p_, n * sizeof(float));
    n_ = n;
  }
  void zero() { if (p_) fill_zero(p_, n_ * sizeof(float)); }
  float* data() { return p_; }
  const float* data() const { return p_; }
  size_t size() const { return n_; }

 private:
  float* p_ = nullptr;
  size_t n_ = 0;
};

// ---- matmul (kernels/ops_linear.cu, cuBLAS) -------------------------------------------------
void linear_forward(float* y, const float* x, const float* W, const float* b, int64_t N, int IN,
                    int OUT, bool w_out_in = false);
void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x,
                     const float* W, int64_t N, int IN, int OUT, bool w_out_in = false);

// ---- short conv (kernels/ops_conv.cu) ------------------------------------------------------
// Same contract as ops::short_conv_forward/backward/kv_forward.
void short_conv_forward(float* y, const float* x, const float* w, const float* bias, int B, int T,
                        int C, int K);
void short_conv_backward(float* dx, float* dw, float* dbias, const float* dy, const float* x,
                         const float* w, const float* bias, int B, int T, int C, int K);
void short_conv_kv_forward(float* y, float* hist, const float* x, const float* w, const float* bias,
                           int B, int n, int C, int K, int cap, int len);

// ---- attention (kernels/ops_attention.cu) ---------------------------------------------------
// Same contract as ops::attention_forward/backward: att[B,NH,T,T] holds the softmax
// probabilities (zeros above the diagonal); dropout on them is keyed exactly as on the CPU
// (hash_uniform(seed, bh*T*T + t*T + j)), so CPU and GPU drop the same entries.
// workspace: attention_workspace_floats(B, T, C, NH) floats of device memory.
int64_t attention_workspace_floats(int B, int T, int C, int NH);
void attention_forward(float* out, float* att, const float* qkv, int B, int T, int C, int NH,
                       float p, uint64_t seed, float* workspace);
void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* att, int B,
                        int T, int C, int NH, float p, uint64_t seed, float* workspace);
// Fused flash-style attention (kernels/ops_attention_fused.cu): the same function of qkv, with
// the same dropout keys, but no T x T array: forward keeps lse[B,NH,T] (each row's
// log-sum-exp) for backward, which also takes forward's out. Head sizes up to 128
// (attention_fused_supports). workspace: attention_fused_workspace_floats(B, T, NH) floats.
bool attention_fused_supports(int C, int NH);
int64_t attention_fused_workspace_floats(int B, int T, int NH);
void attention_fused_forward(float* out, float* lse, const float* qkv, int B, int T, int C, int NH,
                             float p, uint64_t seed);
void attention_fused_backward(float* dqkv, const float* dout, const float* qkv, const float* out,
                              const float* lse, int B, int T, int C, int NH, float p,
                              uint64_t seed, float* workspace);
// Decode attention over a KV cache, as ops::attention_kv_forward (caches on the device).
int64_t attention_kv_workspace_floats(int B, int n, int NH, int cap);
void attention_kv_forward(float* out, float* kcache, float* vcache, const float* qkv, int B, int n,
                          int C, int NH, int cap, int len, float* workspace);

// ---- everything else (kernels/ops_basic.cu, kernels/ops_layernorm.cu, ...) ------------------
void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* w,
                       const float* b, int64_t N, int C, float eps);
void layernorm_backward(float* dx, float* dw, float* db, const float* dy, const float* x,
                        const float* w, const float* mean, const float* rstd, int64_t N, int C);
void activation_forward(float* y, const float* x, int64_t n, Activation a);
void activation_backward(float* dx, const float* dy, const float* x, int64_t n, Activation a);
// idx is a device array of B*T ids already checked against V.
void embedding_forward(float* y, const int32_t* idx, const float* wte, const float* wpe, int B,
                       int T, int C, int pos0 = 0);
void embedding_backward(float* dwte, float* dwpe, const float* dy, const int32_t* idx, int B,
                        int T, int C);
// losses[N] per row; returns the number of counted rows (targets != -1). Synchronises.
int64_t softmax_xent_forward(float* losses, const float* logits, const int32_t* targets, int64_t N,
                             int V);
// dlogits may alias logits (the LM head's gradient then overwrites its logits in place).
void softmax_xent_backward(float* dlogits, const float* logits, const int32_t* targets, int64_t N,
                           int V, float scale);
// The vocabulary-chunked loss of ops/ops.h (xent_chunk_*); stats is a device [N,4]. The last
// chunk's call returns the count and synchronises.
int64_t xent_chunk_forward(float* losses, float* stats, const float* logits,
                           const int32_t* targets, int64_t N, int v0, int vc, int V);
void xent_chunk_backward(float* dlogits, const float* logits, const float* stats,
                         const int32_t* targets, int64_t N, int v0, int vc, float scale);
void dropout(float* y, const float* x, int64_t n, float p, uint64_t seed);
void add(float* y, const float* a, const float* b, int64_t n);
void scale(float* x, int64_t n, float s);
double l2_norm(const float* g, int64_t n);  // synchronises
// Sum of v[0..n) into *out (a device float), without leaving the GPU.
void sum(float* out, const float* v, int64_t n);
void adamw_step(float* p, const float* g, float* m, float* v, int64_t n, const ops::AdamWParams& h,
                int64_t step, bool decay);

}  // namespace gpt::cuda
