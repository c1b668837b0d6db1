// Validation, names and dispatch for ops/conv1d.h. CUDA entry points are reached only through
// kernels/conv1d_cuda.h and only when gptkit was built with CUDA.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/error.h"
#include "core/half.h"
#include "ops/conv1d.h"
#ifdef GPT_HAVE_CUDA
#include "../../../kernels/conv1d_cuda.h"
#endif

namespace gpt::conv1d {

void raise_error(const std::string& msg) { throw Error(msg); }

void validate(const Desc& d) {
  if (d.B < 1 || d.C < 1 || d.L < 1)
    throw UsageError(fmt::format("conv1d: batch, channels and seqlen must be >= 1 (got B={} C={} L={})",
                                 d.B, d.C, d.L));
  if (d.K < 1 || d.K > kMaxWidth)
    throw UsageError(fmt::format("conv1d: width K={} is out of range; use 1..{}", d.K, kMaxWidth));
  if (d.padding == Padding::Same && d.K % 2 == 0)
    throw UsageError(fmt::format(
        "conv1d: 'same' padding needs an odd width (got K={}); use K={} or causal padding", d.K,
        d.K + 1));
  if (d.C > (int64_t(1) << 31) || d.L > (int64_t(1) << 40) || d.B > (int64_t(1) << 31))
    throw UsageError("conv1d: sizes too large");
}

size_t dtype_size(DType t) { return t == DType::F32 ? 4 : 2; }

const char* name(Layout v) { return v == Layout::BCL ? "bcl" : "blc"; }
const char* name(Padding v) { return v == Padding::Causal ? "causal" : "same"; }
const char* name(DType v) { return v == DType::F32 ? "fp32" : v == DType::BF16 ? "bf16" : "fp16"; }
const char* name(Pass v) { return v == Pass::Forward ? "fwd" : "bwd"; }
const char* name(Impl v) {
  switch (v) {
    case Impl::CpuRef: return "cpu-ref";
    case Impl::Cpu: return "cpu";
    case Impl::CudaNaive: return "cuda-naive";
    case Impl::CudaTiled: return "cuda-tiled";
    case Impl::CudaVec: return "cuda-vec";
  }
  return "?";
}

std::vector<Impl> all_impls() {
  return {Impl::CpuRef, Impl::Cpu, Impl::CudaNaive, Impl::CudaTiled, Impl::CudaVec};
}

Layout parse_layout(const std::string& s) {
  if (s == "bcl") return Layout::BCL;
  if (s == "blc") return Layout::BLC;
  throw UsageError("unknown layout '" + s + "'; use bcl or blc");
}
Padding parse_padding(const std::string& s) {
  if (s == "causal") return Padding::Causal;
  if (s == "same") return Padding::Same;
  throw UsageError("unknown padding '" + s + "'; use causal or same");
}
DType parse_dtype(const std::string& s) {
  if (s == "fp32" || s == "f32" || s == "float32") return DType::F32;
  if (s == "bf16" || s == "bfloat16") return DType::BF16;
  if (s == "fp16" || s == "f16" || s == "float16" || s == "half") return DType::F16;
  throw UsageError("unknown dtype '" + s + "'; use fp32, bf16 or fp16");
}
Pass parse_pass(const std::string& s) {
  if (s == "fwd" || s == "forward") return Pass::Forward;
  if (s == "bwd" || s == "backward") return Pass::Backward;
  throw UsageError("unknown pass '" + s + "'; use fwd or bwd");
}
Impl parse_impl(const std::string& s) {
  for (Impl i : all_impls())
    if (s == name(i)) return i;
  throw UsageError("unknown implementation '" + s +
                   "'; use cpu-ref, cpu, cuda-naive, cuda-tiled, cuda-vec or all");
}

bool is_cuda(Impl impl) { return impl != Impl::CpuRef && impl != Impl::Cpu; }

bool available(Impl impl, std::string* why) {
  if (!is_cuda(impl)) return true;
#ifdef GPT_HAVE_CUDA
  return cuda::device_ok(why);
#else
  if (why) *why = "CUDA implementations are unavailable: gptkit was built without CUDA (GPT_CUDA=OFF or no nvcc)";
  return false;
#endif
}

static void require(Impl impl) {
  std::string why;
  if (!available(impl, &why)) throw Error(std::string(name(impl)) + ": " + why);
}

std::string kernel_name(const Desc& d, Impl impl, Pass pass) {
  switch (impl) {
    case Impl::CpuRef: return "cpu-ref (plain loops, double sums)";
    case Impl::Cpu: {
      bool fast = d.K <= 8;
      return fmt::format("cpu/{} {}", name(d.layout), fast ? fmt::format("K={} unrolled", d.K) : "generic K");
    }
    default:
#ifdef GPT_HAVE_CUDA
      return cuda::kernel_name(d, impl, pass);
#else
      return std::string(name(impl)) + " (not built)";
#endif
  }
}

void forward(const Desc& d, Impl impl, void* y, const void* x, const float* w, const float* bias,
             void* stream) {
  validate(d);
  check(y && x && w && (!d.bias || bias), "conv1d forward: null tensor pointer");
  switch (impl) {
    case Impl::CpuRef: return detail::ref_forward(d, y, x, w, bias, d.dtype);
    case Impl::Cpu: return detail::cpu_forward(d, y, x, w, bias);
    default:
      require(impl);
#ifdef GPT_HAVE_CUDA
      cuda::forward(d, impl, y, x, w, bias, stream);
#endif
  }
}

size_t backward_workspace_bytes(const Desc& d, Impl impl, const BackwardOptions& opt) {
  validate(d);
  if (!is_cuda(impl)) return 0;
#ifdef GPT_HAVE_CUDA
  return cuda::backward_workspace_bytes(d, impl, opt);
#else
  return 0;
#endif
}

void backward(const Desc& d, Impl impl, void* dx, float* dw, float* dbias, const void* dy,
              const void* x, const float* w, const float* bias, void* workspace,
              size_t workspace_bytes, const BackwardOptions& opt, void* stream) {
  validate(d);
  check(dx && dw && dy && x && w && (!d.bias || (bias && dbias)),
        "conv1d backward: null tensor pointer");
  switch (impl) {
    case Impl::CpuRef: return detail::ref_backward(d, dx, dw, dbias, dy, x, w, bias, d.dtype);
    case Impl::Cpu: return detail::cpu_backward(d, dx, dw, dbias, dy, x, w, bias);
    default:
      require(impl);
#ifdef GPT_HAVE_CUDA
      {
        size_t need = cuda::backward_workspace_bytes(d, impl, opt);
        check(workspace_bytes >= need && (need == 0 || workspace),
              "conv1d backward: {} needs a {}-byte workspace (got {}); size it with "
              "backward_workspace_bytes()",
              name(impl), need, workspace_bytes);
        cuda::backward(d, impl, dx, dw, dbias, dy, x, w, bias, workspace, workspace_bytes, opt,
                       stream);
      }
#endif
  }
}

#ifdef __AVX2__
// 8 floats -> 8 bf16, round to nearest even, NaN kept a (quiet) NaN: the scalar rule, vectorised.
static inline __m128i bf16x8(__m256 v) {
  const __m256i u = _mm256_castps_si256(v);
  const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  __m256i r = _mm256_srli_epi32(_mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), lsb)), 16);
  const __m256i nan = _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
  r = _mm256_blendv_epi8(r, nan, _mm256_castps_si256(_mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
  return _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1));
}
#endif

// Conversions are called per tile (tens to hundreds of elements) by the optimised CPU paths,
// so they must vectorise: bf16 is a shift, fp16 goes through F16C when the CPU has it.
void to_f32(DType t, const void* src, float* dst, int64_t n) {
  if (t == DType::F32) {
    std::memcpy(dst, src, size_t(n) * 4);
  } else if (t == DType::BF16) {
    const uint16_t* s = static_cast<const uint16_t*>(src);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) {
      uint32_t u = uint32_t(s[i]) << 16;
      float f;
      std::memcpy(&f, &u, 4);
      dst[i] = f;
    }
  } else {
    const uint16_t* s = static_cast<const uint16_t*>(src);
    int64_t i = 0;
#ifdef __F16C__
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i))));
#endif
    for (; i < n; ++i) dst[i] = f16_to_f32(s[i]);
  }
}

void from_f32(DType t, const float* src, void* dst, int64_t n) {
  if (t == DType::F32) {
    std::memcpy(dst, src, size_t(n) * 4);
  } else if (t == DType::BF16) {
    uint16_t* o = static_cast<uint16_t*>(dst);
    int64_t i0 = 0;
#ifdef __AVX2__
    for (; i0 + 8 <= n; i0 += 8)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + i0), bf16x8(_mm256_loadu_ps(src + i0)));
#endif
#pragma omp simd
    for (int64_t i = i0; i < n; ++i) {
      uint32_t u;
      std::memcpy(&u, &src[i], 4);
      uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
      o[i] = (u & 0x7fffffffu) > 0x7f800000u ? uint16_t((u >> 16) | 0x40u) : uint16_t(r);
    }
  } else {
    uint16_t* o = static_cast<uint16_t*>(dst);
    int64_t i = 0;
#ifdef __F16C__
    for (; i + 8 <= n; i += 8)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(o + i),
                       _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
#endif
    for (; i < n; ++i) o[i] = f32_to_f16(src[i]);
  }
}

namespace detail {

// Non-temporal stores skip the read-for-ownership of the destination line: a streamed output
// costs one write instead of a read plus a write, which is what lets a memory-bound op reach
// memcpy speed (glibc's large memcpy streams too). The caller fences once per parallel region.
void store_stream(DType t, const float* src, void* dst, int64_t n) {
#ifdef __AVX2__
  char* d = static_cast<char*>(dst);
  const int64_t s = int64_t(dtype_size(t));
  int64_t head = (32 - int64_t(reinterpret_cast<uintptr_t>(d) & 31)) & 31;
  if (head % s != 0) return from_f32(t, src, dst, n);  // misaligned element: plain stores
  head = std::min(head / s, n);
  from_f32(t, src, d, head);
  int64_t i = head;
  if (t == DType::F32) {
    for (; i + 8 <= n; i += 8)
      _mm256_stream_ps(reinterpret_cast<float*>(d + i * 4), _mm256_loadu_ps(src + i));
  } else if (t == DType::BF16) {
    for (; i + 16 <= n; i += 16)
      _mm256_stream_si256(reinterpret_cast<__m256i*>(d + i * 2),
                          _mm256_set_m128i(bf16x8(_mm256_loadu_ps(src + i + 8)),
                                           bf16x8(_mm256_loadu_ps(src + i))));
  } else {
#ifdef __F16C__
    for (; i + 16 <= n; i += 16)
      _mm256_stream_si256(
          reinterpret_cast<__m256i*>(d + i * 2),
          _mm256_set_m128i(_mm256_cvtps_ph(_mm256_loadu_ps(src + i + 8), _MM_FROUND_TO_NEAREST_INT),
                           _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT)));
#endif
  }
  from_f32(t, src + i, d + i * s, n - i);
#else
  from_f32(t, src, dst, n);
#endif
}

void stream_fence() {
#ifdef __AVX2__
  _mm_sfence();
#endif
}

// expf for SiLU without a libm call per element, so the loops around it vectorise: 2^n * p(r)
// with r = x - n ln2 in two parts and a degree-6 polynomial (Cephes coefficients).
static inline float exp_vec(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  float n = __builtin_floorf(x * 1.44269504088896341f + 0.5f);
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t e = (int32_t(n) + 127) << 23;
  float s;
  std::memcpy(&s, &e, 4);
  return p * s;
}

void silu_inplace(float* v, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) v[i] = v[i] / (1.0f + exp_vec(-v[i]));
}

void silu_grad(float* g, const float* dy, const float* pre, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    float s = 1.0f / (1.0f + exp_vec(-pre[i]));
    g[i] = dy[i] * s * (1.0f + pre[i] * (1.0f - s));
  }
}

}  // namespace detail

std::string cuda_device_summary() {
#ifdef GPT_HAVE_CUDA
  std::string why;
  if (!cuda::device_ok(&why)) return why;
  return cuda::device_summary();
#else
  return "CUDA implementations are unavailable: gptkit was built without CUDA";
#endif
}

}  // namespace gpt::conv1d
