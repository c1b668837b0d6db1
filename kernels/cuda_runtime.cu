// Device discovery, memory, copies and the process-wide switches (TF32, deterministic mode).
#include <cmath>
#include <limits>

#include "cuda_common.h"
#include "ops_cuda.h"

namespace gpt::cuda {

namespace {
bool g_tf32 = false;
bool g_deterministic = false;
// Created on first use, so that merely choosing a mode (set_tf32) never touches the GPU: on a
// machine without one, CudaGPT's availability check then gives the readable error.
cublasHandle_t g_handle = nullptr;

__global__ void fill_kernel(float* p, int64_t n, float v) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    p[i] = v;
}
// Values in [-1, 1) from an integer hash: a matmul on zeros runs faster than on real data.
__global__ void fill_noise_kernel(float* p, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    uint32_t x = uint32_t(i) * 2654435761u;
    x ^= x >> 16;
    x *= 0x45d9f3bu;
    x ^= x >> 16;
    p[i] = float(x >> 8) * (2.0f / 16777216.0f) - 1.0f;
  }
}
}  // namespace

bool available(std::string* why) {
  static const std::string reason = [] {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
      cudaGetLastError();
      return std::string("no CUDA GPU found (cudaGetDeviceCount: ") + cudaGetErrorString(e) + ")";
    }
    if (n == 0) return std::string("no CUDA GPU found (cudaGetDeviceCount returned 0)");
    cudaDeviceProp p{};
    if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) return std::string("cannot query GPU 0");
    if (p.major < 8)
      return std::string("GPU 0 (") + p.name + ") is compute capability " + std::to_string(p.major) +
             "." + std::to_string(p.minor) + "; gptkit's CUDA backend needs sm_80 or newer";
    return std::string();
  }();
  if (!reason.empty() && why) *why = reason;
  return reason.empty();
}

std::string device_name() {
  cudaDeviceProp p{};
  if (cudaGetDeviceProperties(&p, 0) != cudaSuccess) return "unknown GPU";
  return std::string(p.name) + ", sm_" + std::to_string(p.major) + std::to_string(p.minor) + ", " +
         std::to_string(p.multiProcessorCount) + " SMs";
}

void* alloc(size_t bytes) {
  if (bytes == 0) return nullptr;
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    raise_error("GPU out of memory: asked for " + std::to_string(bytes >> 20) + " MiB with " +
                std::to_string(free_b >> 20) + " of " + std::to_string(total_b >> 20) +
                " MiB free; lower batch_size or block_size");
  }
  return p;
}

void release(void* p) {
  if (p) cudaFree(p);
}

void to_device(void* dst, const void* src, size_t bytes) {
  if (bytes) GPT_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
void to_host(void* dst, const void* src, size_t bytes) {
  if (bytes) GPT_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
void copy(void* dst, const void* src, size_t bytes) {
  if (bytes) GPT_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, 0));
}
void fill_zero(void* p, size_t bytes) {
  if (bytes) GPT_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, 0));
}
void fill_nan(float* p, size_t n) {
  if (n == 0) return;
  GPT_LAUNCH(fill_kernel, blocks_for(int64_t(n), 256), 256, 0, 0, p, int64_t(n),
             std::numeric_limits<float>::quiet_NaN());
  GPT_CUDA_LAUNCHED();
}
void synchronize() { GPT_CUDA_CHECK(cudaDeviceSynchronize()); }

void set_tf32(bool allow) {
  g_tf32 = allow;
  if (g_handle)
    GPT_CUBLAS_CHECK(cublasSetMathMode(g_handle, allow ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
}
bool tf32() { return g_tf32; }
void set_deterministic(bool on) { g_deterministic = on; }
bool deterministic() { return g_deterministic; }

double measure_matmul_flops(int n) {
  float *a = static_cast<float*>(alloc(size_t(n) * n * sizeof(float)));
  float *b = static_cast<float*>(alloc(size_t(n) * n * sizeof(float)));
  float *c = static_cast<float*>(alloc(size_t(n) * n * sizeof(float)));
  const int64_t nn = int64_t(n) * n;
  GPT_LAUNCH(fill_noise_kernel, blocks_for(nn, 256), 256, 0, 0, a, nn);
  GPT_LAUNCH(fill_noise_kernel, blocks_for(nn, 256), 256, 0, 0, b, nn);
  GPT_CUDA_LAUNCHED();
  const float one = 1.0f, zero = 0.0f;
  // With bf16 matmuls on, the peak is cuBLAS's bf16 product with fp32 accumulation, the GEMM
  // the linear layers then run; the bf16 operands live in c (n*n floats hold 2*n*n halves).
  const bool bf16 = bf16_matmuls();
  uint16_t* ha = reinterpret_cast<uint16_t*>(c);
  uint16_t* hb = ha + nn;
  if (bf16) {
    round_to_bf16(ha, a, nn);
    round_to_bf16(hb, b, nn);
  }
  auto run = [&] {
    if (bf16)
      GPT_CUBLAS_CHECK(cublasGemmEx(cublas(), CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, ha, CUDA_R_16BF, n, hb,
                                    CUDA_R_16BF, n, &zero, a, CUDA_R_32F, n, CUBLAS_COMPUTE_32F,
                                    CUBLAS_GEMM_DEFAULT));
    else
      GPT_CUBLAS_CHECK(cublasSgemm(cublas(), CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, a, n, b, n, &zero, c, n));
  };
  run();  // warm-up: cuBLAS picks its kernel
  cudaEvent_t e0, e1;
  GPT_CUDA_CHECK(cudaEventCreate(&e0));
  GPT_CUDA_CHECK(cudaEventCreate(&e1));
  const int iters = 10;
  GPT_CUDA_CHECK(cudaEventRecord(e0));
  for (int i = 0; i < iters; ++i) run();
  GPT_CUDA_CHECK(cudaEventRecord(e1));
  GPT_CUDA_CHECK(cudaEventSynchronize(e1));
  float ms = 0;
  GPT_CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  release(a);
  release(b);
  release(c);
  return 2.0 * double(n) * n * n * iters / (double(ms) * 1e-3);
}

double measure_copy_gbps(size_t bytes) {
  void* a = alloc(bytes);
  void* b = alloc(bytes);
  fill_zero(a, bytes);
  GPT_CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, 0));  // warm-up
  cudaEvent_t e0, e1;
  GPT_CUDA_CHECK(cudaEventCreate(&e0));
  GPT_CUDA_CHECK(cudaEventCreate(&e1));
  const int iters = 10;
  GPT_CUDA_CHECK(cudaEventRecord(e0));
  for (int i = 0; i < iters; ++i) GPT_CUDA_CHECK(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, 0));
  GPT_CUDA_CHECK(cudaEventRecord(e1));
  GPT_CUDA_CHECK(cudaEventSynchronize(e1));
  float ms = 0;
  GPT_CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  release(a);
  release(b);
  return 2.0 * double(bytes) * iters / (double(ms) * 1e-3) / 1e9;
}

cublasHandle_t cublas() {
  if (!g_handle) {
    GPT_CUBLAS_CHECK(cublasCreate(&g_handle));
    // Plain fp32 unless set_tf32(true): the tests compare with the CPU at 1e-5.
    GPT_CUBLAS_CHECK(cublasSetMathMode(g_handle, g_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  }
  return g_handle;
}

void raise_cuda(cudaError_t e, const char* what, const char* file, int line) {
  cudaGetLastError();
  raise_error(std::string("CUDA error ") + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) +
              ") in " + what + " at " + file + ":" + std::to_string(line));
}
void raise_cublas(cublasStatus_t s, const char* what, const char* file, int line) {
  raise_error(std::string("cuBLAS error ") + cublasGetStatusString(s) + " in " + what + " at " +
              file + ":" + std::to_string(line));
}

}  // namespace gpt::cuda
