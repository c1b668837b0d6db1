#pragma once
// Depthwise (per-channel) 1D convolution: one backend-neutral API over the CPU reference, the
// optimised CPU version and the CUDA kernels, plus the check/timing harness that
// gpt-conv-bench and the tests share.
//
//   y[b,c,l] = act( bias[c] + sum_{k<K} w[c,k] * x[b,c,l+k-pad] ),  x = 0 outside [0, L)
//
// causal: pad = K-1 (w[c,K-1] multiplies the current sample, as in causal-conv1d);
// same:   K odd, pad = (K-1)/2. The output has length L in both cases. act is identity or SiLU.
// x, y, dx, dy are stored as fp32, bf16 or fp16 ("storage dtype"); w, bias, dw, dbias are
// always fp32 (they are tiny and the optimizer wants fp32 masters); all sums are in fp32
// (double in the reference).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>
#ifndef __CUDACC__
#include <nlohmann/json_fwd.hpp>
#endif

namespace gpt::conv1d {

enum class Layout { BCL, BLC };          // BCL: x[b][c][l] (channel-first); BLC: x[b][l][c]
enum class Padding { Causal, Same };
enum class DType { F32, BF16, F16 };
enum class Pass { Forward, Backward };
enum class Impl { CpuRef, Cpu, CudaNaive, CudaTiled, CudaVec };

struct Desc {
  int64_t B = 1, C = 1, L = 1;
  int K = 4;
  Layout layout = Layout::BCL;
  Padding padding = Padding::Causal;
  DType dtype = DType::F32;
  bool bias = false;  // bias (and dbias) pointers are used only when set
  bool silu = false;
};

constexpr int kMaxWidth = 64;

// The form a transformer's short-conv layer uses: activations x[B][T][C] (BLC), causal, fp32.
inline Desc model_desc(int64_t B, int64_t T, int64_t C, int K, bool bias) {
  Desc d;
  d.B = B;
  d.C = C;
  d.L = T;
  d.K = K;
  d.layout = Layout::BLC;
  d.padding = Padding::Causal;
  d.dtype = DType::F32;
  d.bias = bias;
  return d;
}

// Throws gpt::UsageError naming the bad field: sizes < 1, K outside 1..64, even K with same.
void validate(const Desc& d);
inline int pad_left(const Desc& d) { return d.padding == Padding::Causal ? d.K - 1 : (d.K - 1) / 2; }
inline int64_t numel(const Desc& d) { return d.B * d.C * d.L; }
size_t dtype_size(DType t);

// Names used on the command line and in JSON/CSV: "bcl", "causal", "bf16", "cuda-vec", ...
const char* name(Layout v);
const char* name(Padding v);
const char* name(DType v);
const char* name(Pass v);
const char* name(Impl v);
// Parsers throw gpt::UsageError listing the accepted names.
Layout parse_layout(const std::string& s);
Padding parse_padding(const std::string& s);
DType parse_dtype(const std::string& s);
Pass parse_pass(const std::string& s);
Impl parse_impl(const std::string& s);
std::vector<Impl> all_impls();

bool is_cuda(Impl impl);
// True when impl can run here; otherwise *why (if given) says what is missing, e.g. "gptkit
// was built without CUDA" or "no CUDA GPU found (cudaGetDeviceCount: ...)".
bool available(Impl impl, std::string* why = nullptr);
// The kernel that impl runs for d, e.g. "cuda-vec/bcl-chunk K<=4" or "cuda-tiled (cuda-vec
// has no K=17 fast path)"; for the bench's "kernel" column.
std::string kernel_name(const Desc& d, Impl impl, Pass pass);

struct BackwardOptions {
  // CUDA only: dw/dbias from per-block partials reduced in a fixed order (same bits every
  // run) instead of fp32 atomics. The CPU paths are always deterministic, for any thread count.
  bool deterministic = false;
};

// Forward. Pointers live where impl runs (host memory for CPU impls, device memory for CUDA
// impls). x, y: numel(d) elements of d.dtype in d.layout; w: [C][K] fp32; bias: [C] fp32
// (only read when d.bias). y is overwritten. stream: a cudaStream_t for CUDA impls (null =
// default stream), ignored on CPU. CUDA impls are asynchronous like any kernel launch.
void forward(const Desc& d, Impl impl, void* y, const void* x, const float* w, const float* bias,
             void* stream = nullptr);

// Bytes of scratch that backward needs for (d, impl, opt); 0 for the CPU impls. Allocate it
// once (device memory for CUDA) and reuse it: backward itself never allocates.
size_t backward_workspace_bytes(const Desc& d, Impl impl, const BackwardOptions& opt = {});

// Backward of forward(): given dy, writes dx (storage dtype), dw [C][K] and, when d.bias,
// dbias [C] (fp32). All three are overwritten, not accumulated. With SiLU the pre-activation
// is recomputed from x, so nothing is saved between forward and backward.
void backward(const Desc& d, Impl impl, void* dx, float* dw, float* dbias, const void* dy,
              const void* x, const float* w, const float* bias, void* workspace,
              size_t workspace_bytes, const BackwardOptions& opt = {}, void* stream = nullptr);

// Storage conversions (round to nearest even), used by the harness and tests.
void to_f32(DType t, const void* src, float* dst, int64_t n);
void from_f32(DType t, const float* src, void* dst, int64_t n);

// ---- harness: check against the reference, then time ----------------------------------------

struct BenchOptions {
  int warmup = 2;
  int iters = 20;          // timed runs; the median is reported
  double max_seconds = 2;  // stop timing an impl early once this much time was spent
  bool cold = false;       // CUDA: flush the L2 before every timed run
  bool check = true;
  uint64_t seed = 1;
  BackwardOptions bwd;
};

struct TensorError {
  std::string tensor;  // "y", "dx", "dw", "dbias"
  double max_abs = 0, max_rel = 0, tol = 0;  // max_rel = max_abs / max|reference|
  int64_t bad = 0;                           // elements not finite (unwritten poison included)
  bool ok = true;
};

struct BenchResult {
  Desc desc;
  Pass pass = Pass::Forward;
  Impl impl = Impl::CpuRef;
  std::string kernel;
  bool ran = false;      // false: impl unavailable (see note)
  std::string note;
  bool checked = false;  // compared against the reference (BenchOptions::check)
  bool ok = true;        // every tensor within tolerance and finite
  std::vector<TensorError> errors;
  int runs = 0;
  double ms = 0, ms_p10 = 0, ms_p90 = 0;
  double bytes = 0;      // minimum bytes moved (each input read once, each output written once)
  double flops = 0;
  double gbps = 0, gflops = 0;
  double copy_gbps = 0;  // a copy (memcpy / device-to-device) of the same bytes, same run
  double pct_copy = 0;   // 100 * gbps / copy_gbps
  double ref_ms = 0;     // one cpu-ref run on the same data (0 when not run)
  double speedup_vs_ref = 0;
  int threads = 1;       // OpenMP threads for CPU impls
};

// Fills the inputs for d from seed (uniform in [-1, 1), rounded to the storage dtype), runs the
// reference once (when opt.check), then for every impl: poisons the outputs with NaN, runs it,
// compares with the reference, and times it (warm-up, then the median of up to opt.iters runs).
// Unavailable impls come back with ran=false and a note instead of throwing.
std::vector<BenchResult> bench(const Desc& d, Pass pass, const std::vector<Impl>& impls,
                               const BenchOptions& opt);

// Measured copy bandwidth for `bytes` bytes moved (bytes/2 read + bytes/2 written), GB/s.
double copy_gbps_cpu(double bytes, int iters);
double copy_gbps_cuda(double bytes, int iters);  // throws when CUDA is not available

// Reporting: one JSON object / CSV row per result, and an aligned text table for humans.
#ifndef __CUDACC__
nlohmann::json to_json(const BenchResult& r);
#endif
std::string csv_header();
std::string csv_row(const BenchResult& r);
std::string format_table(const std::vector<BenchResult>& rs);
std::string describe(const Desc& d);  // "B=8 C=1024 L=2048 K=4 bcl causal fp32 +bias +silu"

// A short description of where CUDA impls would run: GPU name, SMs, L2, memory clock; or why not.
std::string cuda_device_summary();

// Internal pieces shared by lib/ops/cpu/conv1d_*.cpp; not for callers.
namespace detail {
// The reference writes y / dx in out_dtype (the harness asks for fp32 to compare against).
void ref_forward(const Desc& d, void* y, const void* x, const float* w, const float* bias,
                 DType out_dtype);
void ref_backward(const Desc& d, void* dx, float* dw, float* dbias, const void* dy, const void* x,
                  const float* w, const float* bias, DType out_dtype);
void cpu_forward(const Desc& d, void* y, const void* x, const float* w, const float* bias);
void cpu_backward(const Desc& d, void* dx, float* dw, float* dbias, const void* dy, const void* x,
                  const float* w, const float* bias);
// out[t] = b0 + sum_k w[k] in[t+k] for t < n (in holds n+K-1 floats). K <= 8 is unrolled.
void conv_lanes(float* out, const float* in, const float* w, int K, int64_t n, float b0);
// One BLC output row: out[j] = b0[j] + sum_k wt[k*ld + j] rows[k][j] for j < cn (b0 may be
// null): wt holds the K taps transposed to [K][ld]. K <= 8 is unrolled.
void conv_rows(float* out, const float* const* rows, const float* wt, const float* b0, int K,
               int cn, int ld);
// Loads x[start, start+len) of a row of L storage elements as floats, zero outside [0, L).
void load_window(float* dst, const void* row, DType t, int64_t L, int64_t start, int64_t len);
// from_f32 with non-temporal stores where aligned (for outputs too large to stay in cache);
// call stream_fence() before other threads read what was stored.
void store_stream(DType t, const float* src, void* dst, int64_t n);
void stream_fence();
// Outputs at least this large are streamed past the caches.
constexpr int64_t kStreamBytes = int64_t(8) << 20;
// v = silu(v) over n floats, vectorised (|error| < 2 ulp of expf).
void silu_inplace(float* v, int64_t n);
// g = dy * silu'(pre) over n floats; g may alias dy.
void silu_grad(float* g, const float* dy, const float* pre, int64_t n);
}  // namespace detail

}  // namespace gpt::conv1d
