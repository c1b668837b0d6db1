// Check-then-time harness behind gpt-conv-bench and the tests: one reference run on random
// inputs, then for each implementation a run on NaN-poisoned outputs compared with it, then
// warm-up and timed runs next to a copy of the same number of bytes.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>

#include "core/buffer.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"
#include "ops/conv1d.h"
#ifdef GPT_HAVE_CUDA
#include "../../../kernels/conv1d_cuda.h"
#endif

namespace gpt::conv1d {
namespace {

// Host tensor of `bytes` bytes, 64-byte aligned.
struct Host {
  Buffer buf;
  size_t bytes = 0;
  explicit Host(size_t b = 0) : buf((b + 3) / 4), bytes(b) {}
  void* data() { return buf.data(); }
  float* f() { return buf.data(); }
};

void fill_uniform(void* p, DType t, int64_t n, uint64_t seed) {
#pragma omp parallel
  {
    float tmp[256];
#pragma omp for schedule(static)
    for (int64_t i0 = 0; i0 < n; i0 += 256) {
      int64_t m = std::min<int64_t>(256, n - i0);
      for (int64_t i = 0; i < m; ++i) tmp[i] = 2.0f * hash_uniform(seed, uint64_t(i0 + i)) - 1.0f;
      from_f32(t, tmp, static_cast<char*>(p) + i0 * int64_t(dtype_size(t)), m);
    }
  }
}

// Compares got (n elements of dtype t) with ref (fp32) relative to max|ref|.
// floor: a lower bound for the scale, for sums that may cancel (see check_outputs).
TensorError compare(const std::string& name, const void* got, DType t, const float* ref, int64_t n,
                    double tol, double floor = 0) {
  double max_abs = 0, scale = 0;
  int64_t bad = 0;
#pragma omp parallel reduction(max : max_abs, scale) reduction(+ : bad)
  {
    float tmp[256];
#pragma omp for schedule(static)
    for (int64_t i0 = 0; i0 < n; i0 += 256) {
      int64_t m = std::min<int64_t>(256, n - i0);
      to_f32(t, static_cast<const char*>(got) + i0 * int64_t(dtype_size(t)), tmp, m);
      for (int64_t i = 0; i < m; ++i) {
        double r = ref[i0 + i], g = tmp[i];
        scale = std::max(scale, std::fabs(r));
        if (!std::isfinite(g)) {
          ++bad;
          continue;
        }
        max_abs = std::max(max_abs, std::fabs(g - r));
      }
    }
  }
  TensorError e;
  e.tensor = name;
  e.max_abs = max_abs;
  e.max_rel = max_abs / std::max({scale, floor, 1e-30});
  e.tol = tol;
  e.bad = bad;
  e.ok = bad == 0 && e.max_rel <= tol;
  return e;
}

double median_of(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  double pos = q * double(v.size() - 1);
  size_t i = size_t(pos);
  double f = pos - double(i);
  return i + 1 < v.size() ? v[i] * (1 - f) + v[i + 1] * f : v[i];
}

// Times fn on the host: warm-up then up to iters runs, stopping after max_seconds.
std::vector<double> time_host(const std::function<void()>& fn, int warmup, int iters,
                              double max_seconds) {
  double t_start = now_s();
  for (int i = 0; i < warmup && now_s() - t_start < max_seconds; ++i) fn();
  std::vector<double> ms;
  double t_timed = now_s();
  for (int i = 0; i < std::max(iters, 1); ++i) {
    double t0 = now_s();
    fn();
    ms.push_back((now_s() - t0) * 1e3);
    if (now_s() - t_timed > max_seconds) break;
  }
  return ms;
}

struct Tensors {
  Desc d;
  int64_t n = 0;
  size_t xs = 0;  // bytes of one activation tensor
  Host x, w, bias, dy, yref, dxref, dwref, dbref;
  Host y, dx, dw, db;
};

double tol_act(DType t) { return t == DType::F32 ? 1e-5 : 1e-2; }
double tol_param(DType t) { return t == DType::F32 ? 1e-5 : 1e-4; }

void check_outputs(BenchResult& r, Tensors& T, Pass pass, const void* y, const void* dx,
                   const float* dw, const float* db) {
  const Desc& d = T.d;
  if (pass == Pass::Forward) {
    r.errors.push_back(compare("y", y, d.dtype, T.yref.f(), T.n, tol_act(d.dtype)));
  } else {
    r.errors.push_back(compare("dx", dx, d.dtype, T.dxref.f(), T.n, tol_act(d.dtype)));
    // dw and dbias are sums of B*L terms of order 1 that can cancel (with one channel, max|ref|
    // may be far below the rounding of the sum), so their scale is at least sqrt(B*L).
    const double floor = std::sqrt(double(d.B * d.L));
    r.errors.push_back(compare("dw", dw, DType::F32, T.dwref.f(), d.C * d.K, tol_param(d.dtype), floor));
    if (d.bias)
      r.errors.push_back(compare("dbias", db, DType::F32, T.dbref.f(), d.C, tol_param(d.dtype), floor));
  }
  r.checked = true;
  for (auto& e : r.errors) r.ok = r.ok && e.ok;
}

void finish_timing(BenchResult& r, const std::vector<double>& ms) {
  r.runs = int(ms.size());
  r.ms = median_of(ms, 0.5);
  r.ms_p10 = median_of(ms, 0.1);
  r.ms_p90 = median_of(ms, 0.9);
  if (r.ms > 0) {
    r.gbps = r.bytes / (r.ms * 1e-3) / 1e9;
    r.gflops = r.flops / (r.ms * 1e-3) / 1e9;
  }
}

void run_cpu(BenchResult& r, Tensors& T, Pass pass, const BenchOptions& opt) {
  const Desc& d = T.d;
  auto once = [&] {
    if (pass == Pass::Forward)
      forward(d, r.impl, T.y.data(), T.x.data(), T.w.f(), T.bias.f());
    else
      backward(d, r.impl, T.dx.data(), T.dw.f(), T.db.f(), T.dy.data(), T.x.data(), T.w.f(),
               T.bias.f(), nullptr, 0, opt.bwd);
  };
  // Poison: 0xFF bytes are NaN in fp32, bf16 and fp16, so any element left unwritten fails.
  for (Host* h : {&T.y, &T.dx, &T.dw, &T.db})
    if (h->bytes) std::memset(h->data(), 0xFF, h->bytes);
  double t0 = now_s();
  once();
  double first_ms = (now_s() - t0) * 1e3;
  if (opt.check) check_outputs(r, T, pass, T.y.data(), T.dx.data(), T.dw.f(), T.db.f());
  int warm = std::max(0, opt.warmup - 1);  // the checked run was the first warm-up
  auto ms = time_host(once, warm, opt.iters, std::max(0.0, opt.max_seconds - first_ms * 1e-3));
  finish_timing(r, ms);
  r.ran = true;
}

#ifdef GPT_HAVE_CUDA
struct DevBuf {
  void* p = nullptr;
  explicit DevBuf(size_t b) { p = b ? cuda::alloc(b) : nullptr; }
  ~DevBuf() { if (p) cuda::release(p); }
  DevBuf(const DevBuf&) = delete;
  DevBuf& operator=(const DevBuf&) = delete;
};

struct DevTensors {
  DevBuf x, w, bias, dy, y, dx, dw, db;
  DevTensors(Tensors& T, Pass pass)
      : x(T.xs), w(T.w.bytes), bias(T.bias.bytes), dy(pass == Pass::Backward ? T.xs : 0),
        y(pass == Pass::Forward ? T.xs : 0), dx(pass == Pass::Backward ? T.xs : 0),
        dw(T.dw.bytes), db(T.db.bytes) {
    cuda::to_device(x.p, T.x.data(), T.xs);
    cuda::to_device(w.p, T.w.data(), T.w.bytes);
    cuda::to_device(bias.p, T.bias.data(), T.bias.bytes);
    if (dy.p) cuda::to_device(dy.p, T.dy.data(), T.xs);
  }
};

void run_cuda(BenchResult& r, Tensors& T, DevTensors& D, Pass pass, const BenchOptions& opt) {
  const Desc& d = T.d;
  size_t ws_bytes = pass == Pass::Backward ? backward_workspace_bytes(d, r.impl, opt.bwd) : 0;
  DevBuf ws(ws_bytes);
  auto once = [&] {
    if (pass == Pass::Forward)
      forward(d, r.impl, D.y.p, D.x.p, static_cast<float*>(D.w.p), static_cast<float*>(D.bias.p));
    else
      backward(d, r.impl, D.dx.p, static_cast<float*>(D.dw.p), static_cast<float*>(D.db.p),
               D.dy.p, D.x.p, static_cast<float*>(D.w.p), static_cast<float*>(D.bias.p), ws.p,
               ws_bytes, opt.bwd);
  };
  if (D.y.p) cuda::fill_bytes(D.y.p, 0xFF, T.xs);
  if (D.dx.p) cuda::fill_bytes(D.dx.p, 0xFF, T.xs);
  cuda::fill_bytes(D.dw.p, 0xFF, T.dw.bytes);
  cuda::fill_bytes(D.db.p, 0xFF, T.db.bytes);
  once();
  if (opt.check) {
    if (pass == Pass::Forward) {
      cuda::to_host(T.y.data(), D.y.p, T.xs);
    } else {
      cuda::to_host(T.dx.data(), D.dx.p, T.xs);
      cuda::to_host(T.dw.data(), D.dw.p, T.dw.bytes);
      cuda::to_host(T.db.data(), D.db.p, T.db.bytes);
    }
    check_outputs(r, T, pass, T.y.data(), T.dx.data(), T.dw.f(), T.db.f());
  }
  auto ms = cuda::time_runs(once, opt.warmup, opt.iters, opt.max_seconds, opt.cold);
  finish_timing(r, ms);
  r.ran = true;
}
#endif

}  // namespace

double copy_gbps_cpu(double bytes, int iters) {
  size_t half = size_t(bytes / 2);
  if (half == 0) return 0;
  Host a(half), b(half);
  std::memset(a.data(), 1, half);
  auto once = [&] {
#pragma omp parallel
    {
      size_t nth = size_t(omp_get_num_threads()), tid = size_t(omp_get_thread_num());
      size_t lo = half * tid / nth / 64 * 64, hi = tid + 1 == nth ? half : half * (tid + 1) / nth / 64 * 64;
      std::memcpy(static_cast<char*>(b.data()) + lo, static_cast<char*>(a.data()) + lo, hi - lo);
    }
  };
  auto ms = time_host(once, 2, iters, 2.0);
  double m = median_of(ms, 0.5);
  return m > 0 ? bytes / (m * 1e-3) / 1e9 : 0;
}

double copy_gbps_cuda(double bytes, int iters) {
#ifdef GPT_HAVE_CUDA
  std::string why;
  if (!cuda::device_ok(&why)) throw Error(why);
  double m = cuda::copy_ms(size_t(bytes / 2), iters);
  return m > 0 ? bytes / (m * 1e-3) / 1e9 : 0;
#else
  throw Error("CUDA implementations are unavailable: gptkit was built without CUDA");
#endif
}

std::vector<BenchResult> bench(const Desc& d, Pass pass, const std::vector<Impl>& impls,
                               const BenchOptions& opt) {
  validate(d);
  Tensors T;
  T.d = d;
  T.n = numel(d);
  T.xs = size_t(T.n) * dtype_size(d.dtype);
  const bool bwd = pass == Pass::Backward;
  T.x = Host(T.xs);
  T.w = Host(size_t(d.C * d.K) * 4);
  T.bias = Host(size_t(d.C) * 4);
  T.y = Host(bwd ? 0 : T.xs);
  T.dy = Host(bwd ? T.xs : 0);
  T.dx = Host(bwd ? T.xs : 0);
  T.dw = Host(bwd ? size_t(d.C * d.K) * 4 : 0);
  T.db = Host(bwd ? size_t(d.C) * 4 : 0);
  fill_uniform(T.x.data(), d.dtype, T.n, opt.seed * 4 + 0);
  fill_uniform(T.w.data(), DType::F32, d.C * d.K, opt.seed * 4 + 1);
  fill_uniform(T.bias.data(), DType::F32, d.C, opt.seed * 4 + 2);
  if (bwd) fill_uniform(T.dy.data(), d.dtype, T.n, opt.seed * 4 + 3);

  double ref_ms = 0;
  if (opt.check) {
    double t0 = now_s();
    if (!bwd) {
      T.yref = Host(size_t(T.n) * 4);
      detail::ref_forward(d, T.yref.data(), T.x.data(), T.w.f(), T.bias.f(), DType::F32);
    } else {
      T.dxref = Host(size_t(T.n) * 4);
      T.dwref = Host(size_t(d.C * d.K) * 4);
      T.dbref = Host(size_t(d.C) * 4);
      detail::ref_backward(d, T.dxref.data(), T.dwref.f(), T.dbref.f(), T.dy.data(), T.x.data(),
                           T.w.f(), T.bias.f(), DType::F32);
    }
    ref_ms = (now_s() - t0) * 1e3;
  }

  const double s = double(dtype_size(d.dtype));
  const double nd = double(T.n);
  const double params = double(d.C * d.K) * 4 + (d.bias ? double(d.C) * 4 : 0);
  const double bytes = bwd ? 3 * nd * s + 2 * params : 2 * nd * s + params;
  const double flops = (bwd ? (d.silu ? 6.0 : 4.0) : 2.0) * d.K * nd;

  std::vector<BenchResult> out;
  double cpu_copy = 0;
#ifdef GPT_HAVE_CUDA
  double gpu_copy = 0;
  std::unique_ptr<DevTensors> dev;
#endif
  for (Impl impl : impls) {
    BenchResult r;
    r.desc = d;
    r.pass = pass;
    r.impl = impl;
    r.bytes = bytes;
    r.flops = flops;
    r.ref_ms = ref_ms;
    r.threads = omp_get_max_threads();
    std::string why;
    if (!available(impl, &why)) {
      r.note = why;
      r.ok = true;
      out.push_back(r);
      continue;
    }
    r.kernel = kernel_name(d, impl, pass);
    if (!is_cuda(impl)) {
      run_cpu(r, T, pass, opt);
      if (cpu_copy == 0) cpu_copy = copy_gbps_cpu(bytes, 10);
      r.copy_gbps = cpu_copy;
    } else {
#ifdef GPT_HAVE_CUDA
      if (!dev) dev = std::make_unique<DevTensors>(T, pass);
      run_cuda(r, T, *dev, pass, opt);
      if (gpu_copy == 0) gpu_copy = copy_gbps_cuda(bytes, 20);
      r.copy_gbps = gpu_copy;
#endif
    }
    if (r.copy_gbps > 0) r.pct_copy = 100.0 * r.gbps / r.copy_gbps;
    out.push_back(r);
  }
  // Speed-up against the reference: its timed median when it was benchmarked, else the one
  // checking run above.
  double ref_time = ref_ms;
  for (auto& r : out)
    if (r.impl == Impl::CpuRef && r.ran) ref_time = r.ms;
  for (auto& r : out)
    if (r.ran && r.ms > 0 && ref_time > 0) r.speedup_vs_ref = ref_time / r.ms;
  return out;
}

}  // namespace gpt::conv1d
