// CUDA side of ops/conv1d.h: device discovery, dispatch to the kernel families, the dw/dbias
// partial reduction, and the timing helpers the harness uses.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "conv1d_cuda.h"

namespace gpt::conv1d::cuda {

#ifndef GPT_CONV1D_EMULATE  // the emulator (tests/emu/conv1d_emu.cpp) has its own
void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess)
    raise_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(e));
}

void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

bool device_ok(std::string* why) {
  // Checked once: a process either has a usable GPU or not.
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
      return std::string("GPU 0 (") + p.name + ") is compute capability " +
             std::to_string(p.major) + "." + std::to_string(p.minor) +
             "; gptkit's kernels are built for sm_80 and sm_90 (bf16 needs 8.0+)";
    return std::string();
  }();
  if (!reason.empty() && why) *why = reason;
  return reason.empty();
}

std::string device_summary() {
  cudaDeviceProp p{};
  check(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties");
  int drv = 0, rt = 0;
  cudaDriverGetVersion(&drv);
  cudaRuntimeGetVersion(&rt);
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s, sm_%d%d, %d SMs, %.0f MB L2, %.1f GiB, driver %d, runtime %d",
                p.name, p.major, p.minor, p.multiProcessorCount, p.l2CacheSize / 1e6,
                double(p.totalGlobalMem) / (1 << 30), drv, rt);
  return buf;
}
#endif

// ---- partial reduction ------------------------------------------------------------------------

__global__ void reduce_partials_kernel(const float* part, int64_t P, int64_t C, int K, float* dw,
                                       float* dbias) {
  const int64_t n = C * (K + 1);
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n;
       t += int64_t(gridDim.x) * blockDim.x) {
    float acc = 0.0f;
    for (int64_t p = 0; p < P; ++p) acc += part[p * n + t];  // fixed order: same bits every run
    int64_t c = t / (K + 1);
    int k = int(t % (K + 1));
    if (k < K)
      dw[c * K + k] = acc;
    else if (dbias)
      dbias[c] = acc;
  }
}

void reduce_partials(const float* part, int64_t P, const Shape& s, float* dw, float* dbias,
                     cudaStream_t st) {
  int64_t n = s.C * (s.K + 1);
  int blocks = int(std::min<int64_t>((n + 255) / 256, 65536));
  auto kern = &reduce_partials_kernel;
  GPT_LAUNCH(kern, blocks, 256, 0, st, part, P, s.C, s.K, dw, s.bias ? dbias : nullptr);
  check_launch("reduce_partials_kernel");
}

void zero_grads(const Shape& s, float* dw, float* dbias, cudaStream_t st) {
  check(cudaMemsetAsync(dw, 0, size_t(s.C) * s.K * 4, st), "cudaMemsetAsync(dw)");
  if (s.bias) check(cudaMemsetAsync(dbias, 0, size_t(s.C) * 4, st), "cudaMemsetAsync(dbias)");
}

// ---- dispatch ---------------------------------------------------------------------------------

static cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }

// cuda-vec picks one kernel family per (desc, pass). Version-2 kernels are the default where they
// exist; GPT_CONV1D_BLC_V1=1 and GPT_CONV1D_BCL_BWD_V1=1 (read once per process) bring back the
// version-1 kernels they replaced, so a regression can be measured and reverted.
enum class VecKind { Tiled, V1, Blc2, Bcl2Bwd };

static bool env_on(const char* var) {
  const char* e = std::getenv(var);
  return e && *e && std::string(e) != "0";
}
static bool blc_v1() {
  static const bool v = env_on("GPT_CONV1D_BLC_V1");
  return v;
}
static bool bcl_bwd_v1() {
  static const bool v = env_on("GPT_CONV1D_BCL_BWD_V1");
  return v;
}

static VecKind vec_kind(const Desc& d, Impl impl, Pass pass) {
  if (impl != Impl::CudaVec || vec_bucket(d) == 0) return VecKind::Tiled;
  if (d.layout == Layout::BLC) return blc_v1() ? VecKind::V1 : VecKind::Blc2;
  if (pass == Pass::Backward && d.dtype != DType::F32 && !bcl_bwd_v1()) return VecKind::Bcl2Bwd;
  return VecKind::V1;
}

std::string kernel_name(const Desc& d, Impl impl, Pass pass) {
  switch (impl) {
    case Impl::CudaNaive:
      return pass == Pass::Forward ? "cuda-naive: thread per output"
                                   : "cuda-naive: thread per dx element, thread per (c,k) for dw";
    case Impl::CudaTiled:
      return d.layout == Layout::BCL ? "cuda-tiled: smem tile of 1024 positions + halo"
                                     : "cuda-tiled: smem tile of 32 rows x 32 channels + halo";
    case Impl::CudaVec: {
      const int kb = vec_bucket(d);
      if (kb == 0)
        return "cuda-tiled (cuda-vec has no K=" + std::to_string(d.K) + " " + name(d.padding) +
               " fast path)";
      const std::string k = "taps<=" + std::to_string(kb);
      switch (vec_kind(d, impl, pass)) {
        case VecKind::Blc2:
          return blc2_name(d, pass);
        case VecKind::Bcl2Bwd:
          return "cuda-vec: BCL bwd v2, warp per row, 16B loads, shuffle halos, " + k;
        default:
          break;
      }
      if (d.layout == Layout::BLC)
        return "cuda-vec: coalesced BLC, register sliding window along L, " + k +
               " [v1: GPT_CONV1D_BLC_V1]";
      return "cuda-vec: 16B loads, register window, smem halo, " + k +
             (pass == Pass::Backward && d.dtype != DType::F32 ? " [v1: GPT_CONV1D_BCL_BWD_V1]" : "");
    }
    default: return "?";
  }
}

void forward(const Desc& d, Impl impl, void* y, const void* x, const float* w, const float* bias,
             void* stream) {
  cudaStream_t st = as_stream(stream);
  switch (impl) {
    case Impl::CudaNaive: return naive_forward(d, y, x, w, bias, st);
    case Impl::CudaTiled: return tiled_forward(d, y, x, w, bias, st);
    case Impl::CudaVec:
      switch (vec_kind(d, impl, Pass::Forward)) {
        case VecKind::Blc2: return blc2_forward(d, y, x, w, bias, st);
        case VecKind::V1: return vec_forward(d, y, x, w, bias, st);
        default: return tiled_forward(d, y, x, w, bias, st);
      }
    default: raise_error("conv1d: not a CUDA implementation");
  }
}

// Partial rows of the deterministic dw/dbias workspace for the kernel that runs d.
static int64_t partials(const Desc& d, Impl impl) {
  switch (vec_kind(d, impl, Pass::Backward)) {
    case VecKind::Blc2: return blc2_partials(d);
    case VecKind::Bcl2Bwd: return bcl2_partials(d);
    case VecKind::V1: return vec_partials(d);
    default: return tiled_partials(d);
  }
}

size_t backward_workspace_bytes(const Desc& d, Impl impl, const BackwardOptions& opt) {
  if (impl == Impl::CudaNaive || !opt.deterministic) return 0;
  return size_t(partials(d, impl)) * size_t(d.C) * size_t(d.K + 1) * sizeof(float);
}

void backward(const Desc& d, Impl impl, void* dx, float* dw, float* dbias, const void* dy,
              const void* x, const float* w, const float* bias, void* workspace,
              size_t workspace_bytes, const BackwardOptions& opt, void* stream) {
  cudaStream_t st = as_stream(stream);
  Shape s = shape_of(d);
  if (impl == Impl::CudaNaive) return naive_backward(d, dx, dw, dbias, dy, x, w, bias, st);
  // Deterministic: every block writes its own partial row, then one fixed-order sum.
  // Otherwise blocks add their partials straight into zeroed dw/dbias with fp32 atomics.
  float* part = opt.deterministic ? static_cast<float*>(workspace) : nullptr;
  if (!part) zero_grads(s, dw, dbias, st);
  switch (vec_kind(d, impl, Pass::Backward)) {
    case VecKind::Blc2: blc2_backward(d, dx, dw, dbias, dy, x, w, bias, part, st); break;
    case VecKind::Bcl2Bwd: bcl2_backward(d, dx, dw, dbias, dy, x, w, bias, part, st); break;
    case VecKind::V1: vec_backward(d, dx, dw, dbias, dy, x, w, bias, part, st); break;
    default: tiled_backward(d, dx, dw, dbias, dy, x, w, bias, part, st); break;
  }
  if (part) reduce_partials(part, partials(d, impl), s, dw, dbias, st);
}

#ifndef GPT_CONV1D_EMULATE
// ---- harness helpers --------------------------------------------------------------------------

void* alloc(size_t bytes) {
  void* p = nullptr;
  cudaError_t e = cudaMalloc(&p, bytes);
  if (e != cudaSuccess) {
    cudaGetLastError();
    raise_error("cudaMalloc of " + std::to_string(bytes >> 20) +
                " MiB failed (" + cudaGetErrorString(e) + "); try a smaller shape");
  }
  return p;
}
void release(void* p) { cudaFree(p); }
void to_device(void* dst, const void* src, size_t bytes) {
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), "cudaMemcpy H2D");
}
void to_host(void* dst, const void* src, size_t bytes) {
  check(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
}
void fill_bytes(void* p, int value, size_t bytes) {
  check(cudaMemset(p, value, bytes), "cudaMemset");
}

std::vector<double> time_runs(const std::function<void()>& fn, int warmup, int iters,
                              double max_seconds, bool cold) {
  static void* flush = nullptr;
  static size_t flush_bytes = 0;
  if (cold && !flush) {
    cudaDeviceProp p{};
    check(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties");
    flush_bytes = size_t(std::max(p.l2CacheSize, 1 << 20)) * 2;
    flush = alloc(flush_bytes);
  }
  for (int i = 0; i < warmup; ++i) fn();
  check(cudaDeviceSynchronize(), "warm-up");
  // Runs are queued in batches so that launch latency overlaps the previous run (as in a real
  // step), while the batch boundary still lets a slow impl stop early.
  constexpr int kBatch = 10;
  std::vector<cudaEvent_t> ev(2 * kBatch);
  for (auto& e : ev) check(cudaEventCreate(&e), "cudaEventCreate");
  std::vector<double> ms;
  double spent = 0;
  while (int(ms.size()) < std::max(iters, 1) && (ms.empty() || spent < max_seconds * 1e3)) {
    int n = std::min(kBatch, std::max(iters, 1) - int(ms.size()));
    for (int i = 0; i < n; ++i) {
      if (cold) check(cudaMemsetAsync(flush, i & 0xff, flush_bytes), "L2 flush");
      cudaEventRecord(ev[2 * i]);
      fn();
      cudaEventRecord(ev[2 * i + 1]);
    }
    check(cudaEventSynchronize(ev[2 * n - 1]), "timed runs");
    for (int i = 0; i < n; ++i) {
      float t = 0;
      check(cudaEventElapsedTime(&t, ev[2 * i], ev[2 * i + 1]), "cudaEventElapsedTime");
      ms.push_back(t);
      spent += t;
    }
  }
  for (auto& e : ev) cudaEventDestroy(e);
  return ms;
}

double copy_ms(size_t bytes, int iters) {
  void* a = alloc(bytes);
  void* b = alloc(bytes);
  check(cudaMemset(a, 1, bytes), "cudaMemset");
  auto ms = time_runs([&] { cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice); }, 3, iters,
                      2.0, false);
  release(a);
  release(b);
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}
#endif  // GPT_CONV1D_EMULATE

}  // namespace gpt::conv1d::cuda
