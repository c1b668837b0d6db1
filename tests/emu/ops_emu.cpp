// The host emulation's stand-ins for kernels/cuda_runtime.cu and cuBLAS (GPT_CUDA=EMULATE):
// "device" memory is the conv1d emulator's guarded host memory, so a kernel that runs past a
// buffer's end faults; __device__ variables are host globals, so symbol copies are memcpy;
// launches are synchronous, so streams and events have nothing to wait for; the column-major
// products the kernels ask cuBLAS for are computed by OpenBLAS. Errors are gpt::Error, as on
// the GPU.
#include <cblas.h>

#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "../../lib/core/half.h"

#include "../../kernels/conv1d_cuda.h"
#include "../../kernels/cuda_common.h"
#include "../../kernels/ops_cuda.h"

namespace gpt::cuda {
namespace {
bool g_tf32 = false, g_deterministic = true;
}  // namespace

bool available(std::string*) { return true; }
std::string device_name() { return "host emulation (tests/emu), not a GPU"; }
void* alloc(size_t bytes) { return bytes ? conv1d::cuda::alloc(bytes) : nullptr; }
void release(void* p) { if (p) conv1d::cuda::release(p); }
void to_device(void* dst, const void* src, size_t bytes) { if (bytes) std::memcpy(dst, src, bytes); }
void to_host(void* dst, const void* src, size_t bytes) { if (bytes) std::memcpy(dst, src, bytes); }
void copy(void* dst, const void* src, size_t bytes) { if (bytes) std::memmove(dst, src, bytes); }
void fill_zero(void* p, size_t bytes) { if (bytes) std::memset(p, 0, bytes); }
void fill_nan(float* p, size_t n) {
  for (size_t i = 0; i < n; ++i) p[i] = std::numeric_limits<float>::quiet_NaN();
}
void synchronize() {}
// The mode is recorded; the emulated matmuls are plain fp32 either way.
void set_tf32(bool allow) { g_tf32 = allow; }
bool tf32() { return g_tf32; }
void set_deterministic(bool on) { g_deterministic = on; }
bool deterministic() { return g_deterministic; }
// Nothing here measures a GPU: nominal figures, so that MFU and roofline reports still print.
double measure_matmul_flops(int) { return 1e12; }
double measure_copy_gbps(size_t) { return 1e3; }
cublasHandle_t cublas() { return nullptr; }  // the cuBLAS below ignores its handle

[[noreturn]] void raise_cuda(cudaError_t, const char* what, const char* file, int line) {
  raise_error(std::string("emulated CUDA error in ") + what + " at " + file + ":" + std::to_string(line));
}
[[noreturn]] void raise_cublas(cublasStatus_t s, const char* what, const char* file, int line) {
  raise_error(std::string("emulated cuBLAS error ") + std::to_string(int(s)) + " in " + what + " at " +
              file + ":" + std::to_string(line));
}
}  // namespace gpt::cuda

namespace {
CBLAS_TRANSPOSE op(cublasOperation_t t) { return t == CUBLAS_OP_N ? CblasNoTrans : CblasTrans; }
}  // namespace

extern "C" {
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaMemcpyToSymbol(const void* symbol, const void* src, size_t count, size_t offset,
                               cudaMemcpyKind) {
  std::memcpy(static_cast<char*>(const_cast<void*>(symbol)) + offset, src, count);
  return cudaSuccess;
}
cudaError_t cudaMemcpyFromSymbol(void* dst, const void* symbol, size_t count, size_t offset,
                                 cudaMemcpyKind) {
  std::memcpy(dst, static_cast<const char*>(symbol) + offset, count);
  return cudaSuccess;
}
// Row copies between pitched buffers.
cudaError_t cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
                              size_t height, cudaMemcpyKind, cudaStream_t) {
  for (size_t r = 0; r < height; ++r)
    std::memmove(static_cast<char*>(dst) + r * dpitch, static_cast<const char*>(src) + r * spitch, width);
  return cudaSuccess;
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                              int k, const float* alpha, const float* A, int lda, const float* B, int ldb,
                              const float* beta, float* C, int ldc) {
  // cuBLAS does not read C when beta is 0, so a poisoned C must not leak through here either.
  if (*beta == 0.0f)
    for (int j = 0; j < n; ++j) std::memset(C + int64_t(j) * ldc, 0, size_t(m) * sizeof(float));
  cblas_sgemm(CblasColMajor, op(ta), op(tb), m, n, k, *alpha, A, lda, B, ldb, *beta, C, ldc);
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                                         int m, int n, int k, const float* alpha, const float* A, int lda,
                                         long long sa, const float* B, int ldb, long long sb,
                                         const float* beta, float* C, int ldc, long long sc, int batch) {
  for (int i = 0; i < batch; ++i)
    cublasSgemm_v2(h, ta, tb, m, n, k, alpha, A + i * sa, lda, B + i * sb, ldb, beta, C + i * sc, ldc);
  return CUBLAS_STATUS_SUCCESS;
}
// The one mixed-precision form the kernels use: bf16 A and B, fp32 C, fp32 accumulation. The
// operands are widened exactly (bf16 -> fp32 is exact), so the product is sgemm's on them.
cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n,
                            int k, const void* alpha, const void* A, cudaDataType at, int lda, const void* B,
                            cudaDataType bt, int ldb, const void* beta, void* C, cudaDataType ct, int ldc,
                            cublasComputeType_t compute, cublasGemmAlgo_t) {
  if (at != CUDA_R_16BF || bt != CUDA_R_16BF || ct != CUDA_R_32F || compute != CUBLAS_COMPUTE_32F)
    return CUBLAS_STATUS_NOT_SUPPORTED;
  // Column-major: op N reads an [rows, cols] block with ld >= rows; op T the transpose.
  auto widen = [](const void* p, int ld, int rows, int cols) {
    std::vector<float> f(size_t(ld) * cols);
    const auto* u = static_cast<const uint16_t*>(p);
    for (int c = 0; c < cols; ++c)
      for (int r = 0; r < rows; ++r) f[size_t(c) * ld + r] = gpt::bf16_to_f32(u[size_t(c) * ld + r]);
    return f;
  };
  const std::vector<float> fa = ta == CUBLAS_OP_N ? widen(A, lda, m, k) : widen(A, lda, k, m);
  const std::vector<float> fb = tb == CUBLAS_OP_N ? widen(B, ldb, k, n) : widen(B, ldb, n, k);
  return cublasSgemm_v2(h, ta, tb, m, n, k, static_cast<const float*>(alpha), fa.data(), lda, fb.data(), ldb,
                        static_cast<const float*>(beta), static_cast<float*>(C), ldc);
}
}
