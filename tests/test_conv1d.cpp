// Depthwise conv1d: the reference against an independent double-precision definition and finite
// differences; the optimised CPU paths and every CUDA kernel against the reference, on random
// shapes (odd C, L not a multiple of 4/8/16, K from 1 to 64, K > L), with NaN-poisoned outputs.
// CUDA cases skip with a message when no GPU is present.
#include <doctest/doctest.h>
#include <omp.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "ops/conv1d.h"
#ifdef GPT_HAVE_CUDA
#include "../kernels/conv1d_cuda.h"
#endif

using namespace gpt;
using namespace gpt::conv1d;
using Vec = std::vector<double>;

namespace {

// Raw storage for one tensor of n elements of dtype t (float-aligned).
struct Raw {
  DType t = DType::F32;
  int64_t n = 0;
  std::vector<float> mem;
  Raw() = default;
  Raw(DType t_, int64_t n_) : t(t_), n(n_), mem(size_t((n_ * int64_t(dtype_size(t_)) + 3) / 4) + 1) {}
  void* p() { return mem.data(); }
  const void* p() const { return mem.data(); }
  size_t bytes() const { return size_t(n) * dtype_size(t); }
  void poison() { std::memset(mem.data(), 0xFF, mem.size() * 4); }
  std::vector<float> values() const {
    std::vector<float> v(static_cast<size_t>(n));
    to_f32(t, p(), v.data(), n);
    return v;
  }
};

Raw random_raw(DType t, int64_t n, Rng& rng) {
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = 2.0f * rng.uniformf() - 1.0f;
  Raw r(t, n);
  from_f32(t, v.data(), r.p(), n);
  return r;
}

std::vector<float> random_f(int64_t n, Rng& rng) {
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = 2.0f * rng.uniformf() - 1.0f;
  return v;
}

// max|got - ref| / max(max|ref|, floor); infinite when got has a NaN or inf (an unwritten,
// poisoned element). Written out here because std::max silently drops a NaN.
double err_floor(const std::vector<float>& got, const std::vector<float>& ref, double floor) {
  double num = 0, den = floor;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(got[i])) return INFINITY;
    num = std::max(num, std::fabs(double(got[i]) - double(ref[i])));
    den = std::max(den, std::fabs(double(ref[i])));
  }
  return den > 0 ? num / den : num;
}
double err(const std::vector<float>& got, const std::vector<float>& ref) { return err_floor(got, ref, 0); }

double tol_act(DType t) { return t == DType::F32 ? 1e-5 : 1e-2; }

Desc random_desc(Rng& rng, int64_t max_l = 150) {
  static const int widths[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 16, 17, 31, 33, 63, 64};
  static const int64_t chans[] = {1, 2, 3, 7, 8, 13, 31, 64, 67, 130, 257};
  Desc d;
  d.B = 1 + int64_t(rng.below(3));
  d.C = chans[rng.below(std::size(chans))];
  d.L = 1 + int64_t(rng.below(uint64_t(max_l)));
  d.K = widths[rng.below(std::size(widths))];
  d.layout = rng.below(2) ? Layout::BLC : Layout::BCL;
  d.padding = rng.below(3) == 0 ? Padding::Same : Padding::Causal;
  if (d.padding == Padding::Same && d.K % 2 == 0) d.K -= 1;
  d.dtype = DType(rng.below(3));
  d.bias = rng.below(2);
  d.silu = rng.below(2);
  return d;
}

// Hand-picked corners: K > L, K = L, single channel, single position, tails of every width.
std::vector<Desc> corner_descs() {
  std::vector<Desc> v;
  for (Layout lay : {Layout::BCL, Layout::BLC})
    for (Padding pad : {Padding::Causal, Padding::Same})
      for (DType t : {DType::F32, DType::BF16, DType::F16})
        for (auto [B, C, L, K] : std::vector<std::array<int64_t, 4>>{
                 {1, 1, 1, 1}, {1, 1, 5, 64}, {2, 3, 7, 7}, {1, 1, 1000, 5}, {3, 5, 33, 63},
                 {1, 129, 9, 4}, {2, 8, 1030, 3}, {1, 1, 2, 9}, {2, 16, 64, 2}}) {
          Desc d;
          d.B = B; d.C = C; d.L = L; d.K = int(K);
          d.layout = lay; d.padding = pad; d.dtype = t;
          if (pad == Padding::Same && d.K % 2 == 0) d.K += d.K == 64 ? -1 : 1;
          d.bias = (B + C) % 2 == 0;
          d.silu = (L + K) % 2 == 0;
          v.push_back(d);
        }
  return v;
}

struct Problem {
  Desc d;
  Raw x, dy;
  std::vector<float> w, bias;
  Problem(const Desc& d_, Rng& rng) : d(d_) {
    x = random_raw(d.dtype, numel(d), rng);
    dy = random_raw(d.dtype, numel(d), rng);
    w = random_f(d.C * d.K, rng);
    bias = random_f(d.C, rng);
  }
  std::vector<float> ref_y() const {
    std::vector<float> y(size_t(numel(d)));
    detail::ref_forward(d, y.data(), x.p(), w.data(), bias.data(), DType::F32);
    return y;
  }
  void ref_grads(std::vector<float>& dx, std::vector<float>& dw, std::vector<float>& db) const {
    dx.assign(size_t(numel(d)), 0.0f);
    dw.assign(size_t(d.C * d.K), 0.0f);
    db.assign(size_t(d.C), 0.0f);
    detail::ref_backward(d, dx.data(), dw.data(), db.data(), dy.p(), x.p(), w.data(), bias.data(),
                         DType::F32);
  }
};

void check_cpu_forward(const Problem& P) {
  CAPTURE(describe(P.d));
  Raw y(P.d.dtype, numel(P.d));
  y.poison();
  forward(P.d, Impl::Cpu, y.p(), P.x.p(), P.w.data(), P.bias.data());
  CHECK(err(y.values(), P.ref_y()) <= tol_act(P.d.dtype));
}

void check_cpu_backward(const Problem& P) {
  CAPTURE(describe(P.d));
  std::vector<float> rdx, rdw, rdb;
  P.ref_grads(rdx, rdw, rdb);
  Raw dx(P.d.dtype, numel(P.d));
  dx.poison();
  std::vector<float> dw(rdw.size(), NAN), db(rdb.size(), NAN);
  backward(P.d, Impl::Cpu, dx.p(), dw.data(), db.data(), P.dy.p(), P.x.p(), P.w.data(),
           P.bias.data(), nullptr, 0);
  CHECK(err(dx.values(), rdx) <= tol_act(P.d.dtype));
  // Sums of B*L unit-scale terms can cancel, so their error is judged against sqrt(B*L) too.
  CHECK(err_floor(dw, rdw, std::sqrt(double(P.d.B * P.d.L))) <= 1e-5);
  if (P.d.bias) CHECK(err_floor(db, rdb, std::sqrt(double(P.d.B * P.d.L))) <= 1e-5);
}

// The definition, in double, written independently of lib/ops/cpu (for finite differences).
Vec forward_double(const Desc& d, const Vec& x, const Vec& w, const Vec& b) {
  Vec y(x.size());
  const int pad = pad_left(d);
  auto at = [&](int64_t bb, int64_t c, int64_t l) {
    return d.layout == Layout::BCL ? (bb * d.C + c) * d.L + l : (bb * d.L + l) * d.C + c;
  };
  for (int64_t bb = 0; bb < d.B; ++bb)
    for (int64_t c = 0; c < d.C; ++c)
      for (int64_t l = 0; l < d.L; ++l) {
        double a = d.bias ? b[size_t(c)] : 0.0;
        for (int k = 0; k < d.K; ++k) {
          int64_t src = l + k - pad;
          if (src >= 0 && src < d.L) a += w[size_t(c * d.K + k)] * x[size_t(at(bb, c, src))];
        }
        if (d.silu) a = a / (1.0 + std::exp(-a));
        y[size_t(at(bb, c, l))] = a;
      }
  return y;
}

// d/dv of sum(f(v) * R) by central differences.
Vec numgrad(const std::function<Vec(const Vec&)>& f, Vec v, const Vec& R, double h = 1e-6) {
  Vec g(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    double v0 = v[i];
    v[i] = v0 + h;
    Vec a = f(v);
    v[i] = v0 - h;
    Vec b = f(v);
    v[i] = v0;
    double s = 0;
    for (size_t k = 0; k < a.size(); ++k) s += (a[k] - b[k]) * R[k];
    g[i] = s / (2 * h);
  }
  return g;
}

}  // namespace

TEST_CASE("conv1d: bad shapes and names give clear usage errors") {
  Desc d;
  d.K = 4;
  d.padding = Padding::Same;
  CHECK_THROWS_WITH_AS(validate(d), doctest::Contains("odd width"), UsageError);
  d = Desc{};
  d.L = 0;
  CHECK_THROWS_AS(validate(d), UsageError);
  d = Desc{};
  d.C = 0;
  CHECK_THROWS_AS(validate(d), UsageError);
  d = Desc{};
  d.K = 65;
  CHECK_THROWS_WITH_AS(validate(d), doctest::Contains("1..64"), UsageError);
  d.K = 0;
  CHECK_THROWS_AS(validate(d), UsageError);
  CHECK_THROWS_AS(parse_dtype("fp64"), UsageError);
  CHECK_THROWS_AS(parse_impl("cudnn"), UsageError);
  CHECK(parse_impl("cuda-vec") == Impl::CudaVec);
  CHECK(parse_layout("blc") == Layout::BLC);
  CHECK(std::string(name(DType::BF16)) == "bf16");
  // A bad shape never reaches a kernel, also through the harness.
  d = Desc{};
  d.B = 0;
  CHECK_THROWS_AS(bench(d, Pass::Forward, {Impl::Cpu}, {}), UsageError);
}

TEST_CASE("conv1d: causal taps follow causal-conv1d (w[K-1] multiplies the current sample)") {
  Desc d;
  d.C = 2; d.L = 12; d.K = 4;
  std::vector<float> x(size_t(numel(d)), 0.0f), w = {1, 2, 3, 4, 5, 6, 7, 8};
  x[5] = 1.0f;                    // channel 0, position 5
  x[size_t(d.L) + 0] = 1.0f;      // channel 1, position 0
  for (Impl impl : {Impl::CpuRef, Impl::Cpu}) {
    std::vector<float> y(x.size(), NAN);
    forward(d, impl, y.data(), x.data(), w.data(), nullptr);
    // An impulse at t0 comes out as y[t0 + j] = w[K-1-j], and nothing before t0.
    for (int l = 0; l < 12; ++l) {
      float want = (l >= 5 && l < 9) ? w[size_t(3 - (l - 5))] : 0.0f;
      CHECK(y[size_t(l)] == want);
    }
    CHECK(y[size_t(d.L) + 0] == 8.0f);
    CHECK(y[size_t(d.L) + 3] == 5.0f);
    CHECK(y[size_t(d.L) + 4] == 0.0f);
  }
  // 'same' centres the taps: w[(K-1)/2] multiplies the current sample.
  d.padding = Padding::Same;
  d.K = 3;
  std::vector<float> w3 = {1, 2, 3, 4, 5, 6}, y(x.size(), NAN);
  forward(d, Impl::Cpu, y.data(), x.data(), w3.data(), nullptr);
  CHECK(y[4] == 3.0f);
  CHECK(y[5] == 2.0f);
  CHECK(y[6] == 1.0f);
  CHECK(y[7] == 0.0f);
}

TEST_CASE("conv1d: reference forward and backward match double definitions and finite differences") {
  Rng rng(7);
  for (Layout lay : {Layout::BCL, Layout::BLC})
    for (Padding pad : {Padding::Causal, Padding::Same})
      for (bool silu : {false, true}) {
        Desc d;
        d.B = 2; d.C = 3; d.L = 9; d.K = pad == Padding::Same ? 5 : 4;
        d.layout = lay; d.padding = pad; d.bias = true; d.silu = silu;
        CAPTURE(describe(d));
        Problem P(d, rng);
        std::vector<float> xf = P.x.values(), dyf = P.dy.values();
        Vec x(xf.begin(), xf.end()), R(dyf.begin(), dyf.end());
        Vec w(P.w.begin(), P.w.end()), b(P.bias.begin(), P.bias.end());
        Vec yd = forward_double(d, x, w, b);
        CHECK(err(P.ref_y(), std::vector<float>(yd.begin(), yd.end())) <= 1e-6);

        std::vector<float> dx, dw, db;
        P.ref_grads(dx, dw, db);
        Vec gx = numgrad([&](const Vec& v) { return forward_double(d, v, w, b); }, x, R);
        Vec gw = numgrad([&](const Vec& v) { return forward_double(d, x, v, b); }, w, R);
        Vec gb = numgrad([&](const Vec& v) { return forward_double(d, x, w, v); }, b, R);
        CHECK(err(dx, std::vector<float>(gx.begin(), gx.end())) <= 1e-5);
        CHECK(err(dw, std::vector<float>(gw.begin(), gw.end())) <= 1e-5);
        CHECK(err(db, std::vector<float>(gb.begin(), gb.end())) <= 1e-5);
      }
}

TEST_CASE("conv1d: optimised CPU forward matches the reference") {
  for (const Desc& d : corner_descs()) {
    Rng rng(uint64_t(d.B * 131 + d.C * 17 + d.L * 3 + d.K));
    check_cpu_forward(Problem(d, rng));
  }
  Rng rng(11);
  for (int i = 0; i < 300; ++i) check_cpu_forward(Problem(random_desc(rng), rng));
}

TEST_CASE("conv1d: optimised CPU backward matches the reference") {
  for (const Desc& d : corner_descs()) {
    Rng rng(uint64_t(d.B * 131 + d.C * 17 + d.L * 3 + d.K));
    check_cpu_backward(Problem(d, rng));
  }
  Rng rng(12);
  for (int i = 0; i < 300; ++i) check_cpu_backward(Problem(random_desc(rng), rng));
}

TEST_CASE("conv1d: optimised CPU paths with streamed (non-temporal) stores match the reference") {
  // Outputs of kStreamBytes or more take the streaming-store path, with aligned and unaligned rows.
  Rng rng(31);
  struct S { int64_t B, C, L; DType t; Layout lay; };
  for (S sh : {S{1, 3, 700001, DType::F32, Layout::BCL}, S{1, 3, 700001, DType::F32, Layout::BLC},
               S{2, 64, 40003, DType::BF16, Layout::BCL}, S{2, 64, 40003, DType::F16, Layout::BLC},
               S{1, 67, 70001, DType::BF16, Layout::BLC}}) {
    Desc d;
    d.B = sh.B; d.C = sh.C; d.L = sh.L; d.K = 4; d.dtype = sh.t; d.layout = sh.lay;
    d.bias = true; d.silu = sh.C == 64;
    REQUIRE(numel(d) * int64_t(dtype_size(d.dtype)) >= detail::kStreamBytes);
    Problem P(d, rng);
    check_cpu_forward(P);
    check_cpu_backward(P);
  }
}

TEST_CASE("conv1d: CPU results are bitwise identical for 1 and 2 threads") {
  Rng rng(13);
  const int saved = omp_get_max_threads();
  for (Layout lay : {Layout::BCL, Layout::BLC}) {
    Desc d;
    d.B = 3; d.C = 300; d.L = 777; d.K = 4;
    d.layout = lay; d.dtype = DType::BF16; d.bias = true; d.silu = true;
    CAPTURE(describe(d));
    Problem P(d, rng);
    std::vector<Raw> ys, dxs;
    std::vector<std::vector<float>> dws, dbs;
    for (int th : {1, 2}) {
      omp_set_num_threads(th);
      Raw y(d.dtype, numel(d)), dx(d.dtype, numel(d));
      std::vector<float> dw(static_cast<size_t>(d.C * d.K)), db(size_t(d.C));
      forward(d, Impl::Cpu, y.p(), P.x.p(), P.w.data(), P.bias.data());
      backward(d, Impl::Cpu, dx.p(), dw.data(), db.data(), P.dy.p(), P.x.p(), P.w.data(),
               P.bias.data(), nullptr, 0);
      ys.push_back(y); dxs.push_back(dx); dws.push_back(dw); dbs.push_back(db);
    }
    omp_set_num_threads(saved);
    CHECK(std::memcmp(ys[0].p(), ys[1].p(), ys[0].bytes()) == 0);
    CHECK(std::memcmp(dxs[0].p(), dxs[1].p(), dxs[0].bytes()) == 0);
    CHECK(dws[0] == dws[1]);
    CHECK(dbs[0] == dbs[1]);
  }
}

TEST_CASE("conv1d: the bench harness checks every impl and reports unavailable ones") {
  Desc d;
  d.B = 2; d.C = 33; d.L = 101; d.K = 4; d.bias = true; d.silu = true; d.dtype = DType::BF16;
  BenchOptions opt;
  opt.warmup = 0;
  opt.iters = 2;
  for (Pass pass : {Pass::Forward, Pass::Backward}) {
    auto res = bench(d, pass, all_impls(), opt);
    REQUIRE(res.size() == all_impls().size());
    for (auto& r : res) {
      CAPTURE(name(r.impl));
      if (!available(r.impl)) {
        CHECK_FALSE(r.ran);
        CHECK(r.note.find("CUDA") != std::string::npos);
        continue;
      }
      CHECK(r.ran);
      CHECK(r.checked);
      CHECK(r.ok);
      CHECK(r.errors.size() == (pass == Pass::Forward ? 1u : 3u));
      CHECK(r.runs >= 1);
      CHECK(r.ms > 0);
      CHECK(r.gbps > 0);
    }
  }
}

// ---- CUDA ----------------------------------------------------------------------------------

namespace {
bool gpu_or_skip() {
  std::string why;
  if (available(Impl::CudaVec, &why)) return true;
  MESSAGE("skipping CUDA conv1d checks: " << why);
  return false;
}

void check_cuda_all(const Desc& d, bool deterministic) {
  BenchOptions opt;
  opt.warmup = 0;
  opt.iters = 1;
  opt.bwd.deterministic = deterministic;
  CAPTURE(describe(d));
  CAPTURE(deterministic);
  std::vector<Impl> impls = {Impl::CudaNaive, Impl::CudaTiled, Impl::CudaVec};
#ifdef GPT_CONV1D_EMULATED_GPU
  // The host emulation (tests/emu) runs the naive kernels' K^2 work per element far too slowly
  // on the big vector-path shapes; they are checked on the small ones.
  if (double(numel(d)) * d.K * d.K > 4e6) impls.erase(impls.begin());
#endif
  for (Pass pass : {Pass::Forward, Pass::Backward}) {
    auto res = bench(d, pass, impls, opt);
    for (auto& r : res) {
      CAPTURE(name(pass));
      CAPTURE(r.kernel);
      REQUIRE(r.ran);
      for (auto& e : r.errors) {
        CAPTURE(e.tensor);
        CAPTURE(e.bad);
        CHECK(e.ok);
        CHECK(e.max_rel <= e.tol);
      }
      CHECK(r.ok);
    }
  }
}
}  // namespace

TEST_CASE("conv1d: CUDA kernels match the CPU reference") {
  if (!gpu_or_skip()) return;
  for (const Desc& d : corner_descs()) check_cuda_all(d, d.C % 2 == 0);
  Rng rng(21);
  for (int i = 0; i < 120; ++i) check_cuda_all(random_desc(rng, 3000), i % 2 == 0);
  // Shapes with the vector fast paths (L and C multiples of 8) and several chunks per row.
  for (Layout lay : {Layout::BCL, Layout::BLC})
    for (DType t : {DType::F32, DType::BF16, DType::F16})
      for (int K : {2, 3, 4, 5, 8, 9}) {
        Desc d;
        d.B = 2; d.C = 256; d.L = 4096 + 8; d.K = K;
        d.layout = lay; d.dtype = t;
        d.padding = K % 2 ? Padding::Same : Padding::Causal;
        d.bias = true; d.silu = K % 3 == 0;
        check_cuda_all(d, K % 2 == 0);
      }
}

namespace {
// cuda-vec alone (both passes), for the shapes below.
void check_cuda_vec(const Desc& d, bool deterministic) {
  BenchOptions opt;
  opt.warmup = 0;
  opt.iters = 1;
  opt.bwd.deterministic = deterministic;
  CAPTURE(describe(d));
  CAPTURE(deterministic);
  for (Pass pass : {Pass::Forward, Pass::Backward}) {
    auto res = bench(d, pass, {Impl::CudaVec}, opt);
    for (auto& r : res) {
      CAPTURE(name(pass));
      CAPTURE(r.kernel);
      REQUIRE(r.ran);
      for (auto& e : r.errors) {
        CAPTURE(e.tensor);
        CAPTURE(e.bad);
        CHECK(e.max_rel <= e.tol);
      }
      CHECK(r.ok);
    }
  }
}

bool env_set(const char* var) {
  const char* e = std::getenv(var);
  return e && *e && std::string(e) != "0";
}
}  // namespace

// The version-2 cuda-vec kernels (BLC: V channels x R-row groups per thread, `seg` rows per
// warp; BCL backward for 16-bit storage: a warp per row in chunks of 256) where their indexing
// changes: C around the 2- and 4-channel vectors (and so the vector and element-wise paths),
// L around the row groups, the rows per warp and the BCL chunks, every tap bucket, both
// paddings. With GPT_CONV1D_BLC_V1 / GPT_CONV1D_BCL_BWD_V1 set the same shapes check the
// version-1 kernels instead.
TEST_CASE("conv1d: CUDA cuda-vec kernels on channel, row-group and chunk edges") {
  if (!gpu_or_skip()) return;
  {
    Desc d;
    d.C = 64; d.L = 64; d.K = 4; d.layout = Layout::BLC; d.dtype = DType::BF16;
    const bool v2 = kernel_name(d, Impl::CudaVec, Pass::Forward).find("BLC v2") != std::string::npos;
    CHECK(v2 == !env_set("GPT_CONV1D_BLC_V1"));
    d.layout = Layout::BCL;
    const bool b2 = kernel_name(d, Impl::CudaVec, Pass::Backward).find("BCL bwd v2") != std::string::npos;
    CHECK(b2 == !env_set("GPT_CONV1D_BCL_BWD_V1"));
    d.dtype = DType::F32;  // fp32 BCL backward stays on version 1
    CHECK(kernel_name(d, Impl::CudaVec, Pass::Backward).find("v2") == std::string::npos);
  }
  static const int64_t chans[] = {1, 2, 3, 4, 5, 6, 8, 12, 126, 128, 130, 132, 260, 516};
  static const int64_t rows[] = {1, 2, 3, 5, 8, 15, 16, 17, 31, 63, 64, 65, 129, 255, 257, 700};
  static const int widths[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  Rng rng(77);
  for (int i = 0; i < 160; ++i) {
    Desc d;
    d.layout = Layout::BLC;
    d.B = 1 + int64_t(rng.below(3));
    d.C = chans[rng.below(std::size(chans))];
    d.L = rows[rng.below(std::size(rows))];
    d.K = widths[rng.below(std::size(widths))];
    d.padding = d.K % 2 && rng.below(2) ? Padding::Same : Padding::Causal;
    d.dtype = DType(rng.below(3));
    d.bias = rng.below(2);
    d.silu = rng.below(2);
    check_cuda_vec(d, i % 2 == 0);
  }
  static const int64_t lens[] = {1, 7, 8, 9, 248, 255, 256, 257, 264, 504, 512, 520, 777, 1024, 1288};
  for (int i = 0; i < 90; ++i) {
    Desc d;
    d.layout = Layout::BCL;
    d.B = 1 + int64_t(rng.below(3));
    d.C = 1 + int64_t(rng.below(9));  // rows = B*C: whole and partial 4-warp blocks
    d.L = lens[rng.below(std::size(lens))];
    d.K = widths[rng.below(std::size(widths))];
    d.padding = d.K % 2 && rng.below(2) ? Padding::Same : Padding::Causal;
    d.dtype = i % 5 == 0 ? DType::F32 : (i % 2 ? DType::BF16 : DType::F16);
    d.bias = rng.below(2);
    d.silu = rng.below(2);
    check_cuda_vec(d, i % 2 == 1);
  }
}

#ifdef GPT_HAVE_CUDA
TEST_CASE("conv1d: CUDA deterministic backward gives the same bits on every run") {
  if (!gpu_or_skip()) return;
  for (Impl impl : {Impl::CudaTiled, Impl::CudaVec})
    for (Layout lay : {Layout::BCL, Layout::BLC})
      for (DType t : {DType::F32, DType::BF16}) {
        Desc d;
        d.B = 4; d.C = 96; d.L = 3000; d.K = 4; d.layout = lay; d.bias = true; d.silu = true;
        d.dtype = t;
        CAPTURE(describe(d));
        CAPTURE(name(impl));
        Rng rng(5);
        Problem P(d, rng);
        BackwardOptions opt;
        opt.deterministic = true;
        size_t ws = backward_workspace_bytes(d, impl, opt);
        void* x = cuda::alloc(P.x.bytes());
        void* dy = cuda::alloc(P.x.bytes());
        void* dx = cuda::alloc(P.x.bytes());
        float* w = static_cast<float*>(cuda::alloc(P.w.size() * 4));
        float* b = static_cast<float*>(cuda::alloc(P.bias.size() * 4));
        float* dw = static_cast<float*>(cuda::alloc(P.w.size() * 4));
        float* db = static_cast<float*>(cuda::alloc(P.bias.size() * 4));
        void* wsp = ws ? cuda::alloc(ws) : nullptr;
        cuda::to_device(x, P.x.p(), P.x.bytes());
        cuda::to_device(dy, P.dy.p(), P.x.bytes());
        cuda::to_device(w, P.w.data(), P.w.size() * 4);
        cuda::to_device(b, P.bias.data(), P.bias.size() * 4);
        std::vector<std::vector<float>> runs;
        for (int rep = 0; rep < 3; ++rep) {
          cuda::fill_bytes(dw, 0xFF, P.w.size() * 4);
          backward(d, impl, dx, dw, db, dy, x, w, b, wsp, ws, opt);
          std::vector<float> h(P.w.size() + P.bias.size());
          cuda::to_host(h.data(), dw, P.w.size() * 4);
          cuda::to_host(h.data() + P.w.size(), db, P.bias.size() * 4);
          runs.push_back(h);
        }
        CHECK(std::memcmp(runs[0].data(), runs[1].data(), runs[0].size() * 4) == 0);
        CHECK(std::memcmp(runs[0].data(), runs[2].data(), runs[0].size() * 4) == 0);
        // And a workspace that is too small is refused rather than overrun.
        if (ws > 0)
          CHECK_THROWS_AS(backward(d, impl, dx, dw, db, dy, x, w, b, wsp, ws - 1, opt), Error);
        for (void* p : {x, dy, dx, static_cast<void*>(w), static_cast<void*>(b),
                        static_cast<void*>(dw), static_cast<void*>(db), wsp})
          if (p) cuda::release(p);
      }
}

// Pointers one element past a 16-byte boundary: every vector path must notice and go element
// by element (the harness's own buffers are always aligned).
TEST_CASE("conv1d: CUDA kernels with unaligned tensors") {
  if (!gpu_or_skip()) return;
  Rng rng(9);
  for (Layout lay : {Layout::BCL, Layout::BLC})
    for (DType t : {DType::F32, DType::BF16, DType::F16})
      for (Impl impl : {Impl::CudaTiled, Impl::CudaVec}) {
        Desc d;
        d.B = 2; d.C = 64; d.L = 520; d.K = 4; d.layout = lay; d.dtype = t;
        d.bias = true; d.silu = true;
        CAPTURE(describe(d));
        CAPTURE(name(impl));
        Problem P(d, rng);
        const size_t es = dtype_size(t), bytes = P.x.bytes();
        char* xb = static_cast<char*>(cuda::alloc(bytes + 16));
        char* dyb = static_cast<char*>(cuda::alloc(bytes + 16));
        char* outb = static_cast<char*>(cuda::alloc(bytes + 16));
        float* w = static_cast<float*>(cuda::alloc(P.w.size() * 4));
        float* b = static_cast<float*>(cuda::alloc(P.bias.size() * 4));
        float* dw = static_cast<float*>(cuda::alloc(P.w.size() * 4));
        float* db = static_cast<float*>(cuda::alloc(P.bias.size() * 4));
        void* x = xb + es;
        void* dy = dyb + es;
        void* out = outb + es;
        cuda::to_device(x, P.x.p(), bytes);
        cuda::to_device(dy, P.dy.p(), bytes);
        cuda::to_device(w, P.w.data(), P.w.size() * 4);
        cuda::to_device(b, P.bias.data(), P.bias.size() * 4);
        cuda::fill_bytes(out, 0xFF, bytes);
        forward(d, impl, out, x, w, b);
        Raw y(t, numel(d));
        cuda::to_host(y.p(), out, bytes);
        CHECK(err(y.values(), P.ref_y()) <= tol_act(t));
        std::vector<float> rdx, rdw, rdb;
        P.ref_grads(rdx, rdw, rdb);
        cuda::fill_bytes(out, 0xFF, bytes);
        backward(d, impl, out, dw, db, dy, x, w, b, nullptr, 0);
        Raw dxh(t, numel(d));
        std::vector<float> dwh(P.w.size()), dbh(P.bias.size());
        cuda::to_host(dxh.p(), out, bytes);
        cuda::to_host(dwh.data(), dw, P.w.size() * 4);
        cuda::to_host(dbh.data(), db, P.bias.size() * 4);
        const double dtol = t == DType::F32 ? 1e-5 : 1e-4, fl = std::sqrt(double(d.B * d.L));
        CHECK(err(dxh.values(), rdx) <= tol_act(t));
        CHECK(err_floor(dwh, rdw, fl) <= dtol);
        CHECK(err_floor(dbh, rdb, fl) <= dtol);
        for (void* p : {static_cast<void*>(xb), static_cast<void*>(dyb), static_cast<void*>(outb),
                        static_cast<void*>(w), static_cast<void*>(b), static_cast<void*>(dw),
                        static_cast<void*>(db)})
          cuda::release(p);
      }
}
#endif
