// Every CPU op: forward against naive double-precision loops, backward against central finite
// differences of those loops, on random shapes that are not multiples of 4, 8 or 16.
#include <omp.h>
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/error.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "test_util.h"

using namespace gpt;
using test::scaled_err;
using Vec = std::vector<double>;

namespace {

std::vector<float> to_f(const Vec& v) { return {v.begin(), v.end()}; }
Vec randd(size_t n, Rng& rng, double sd = 1.0) {
  Vec v(n);
  for (auto& x : v) x = double(float(sd * rng.normal()));  // representable in float
  return v;
}

// d/dx of sum(f(x) * R) by central differences in double.
Vec numgrad(const std::function<Vec(const Vec&)>& f, Vec x, const Vec& R, double h = 1e-6) {
  Vec g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    double x0 = x[i];
    x[i] = x0 + h;
    Vec a = f(x);
    x[i] = x0 - h;
    Vec b = f(x);
    x[i] = x0;
    double s = 0.0;
    for (size_t k = 0; k < a.size(); ++k) s += (a[k] - b[k]) * R[k];
    g[i] = s / (2 * h);
  }
  return g;
}

Vec poisoned(size_t n) { return Vec(n, std::nan("")); }

// ---- naive references -------------------------------------------------------------------

Vec ref_linear(const Vec& x, const Vec& W, const Vec* b, int N, int IN, int OUT, bool oi) {
  Vec y(size_t(N) * OUT);
  for (int n = 0; n < N; ++n)
    for (int o = 0; o < OUT; ++o) {
      double s = b ? (*b)[size_t(o)] : 0.0;
      for (int i = 0; i < IN; ++i) s += x[size_t(n * IN + i)] * W[size_t(oi ? o * IN + i : i * OUT + o)];
      y[size_t(n * OUT + o)] = s;
    }
  return y;
}

Vec ref_layernorm(const Vec& x, const Vec& w, const Vec* b, int N, int C, double eps) {
  Vec y(x.size());
  for (int n = 0; n < N; ++n) {
    double m = 0, v = 0;
    for (int c = 0; c < C; ++c) m += x[size_t(n * C + c)];
    m /= C;
    for (int c = 0; c < C; ++c) v += (x[size_t(n * C + c)] - m) * (x[size_t(n * C + c)] - m);
    v /= C;
    for (int c = 0; c < C; ++c)
      y[size_t(n * C + c)] = (x[size_t(n * C + c)] - m) / std::sqrt(v + eps) * w[size_t(c)] + (b ? (*b)[size_t(c)] : 0.0);
  }
  return y;
}

double ref_act(double v, Activation a) {
  switch (a) {
    case Activation::GeluTanh: return 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    case Activation::Gelu: return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
    case Activation::Tanh: return std::tanh(v);
    case Activation::Relu: return v > 0 ? v : 0;
  }
  return 0;
}

Vec ref_attention(const Vec& qkv, int B, int T, int C, int NH, float p, uint64_t seed) {
  int hd = C / NH;
  Vec out(size_t(B) * T * C, 0.0);
  for (int b = 0; b < B; ++b)
    for (int h = 0; h < NH; ++h)
      for (int t = 0; t < T; ++t) {
        auto q = [&](int tt, int part, int d) { return qkv[size_t((b * T + tt) * 3 * C + part * C + h * hd + d)]; };
        std::vector<double> s(size_t(t) + 1);
        double mx = -1e300;
        for (int j = 0; j <= t; ++j) {
          double dot = 0;
          for (int d = 0; d < hd; ++d) dot += q(t, 0, d) * q(j, 1, d);
          s[size_t(j)] = dot / std::sqrt(double(hd));
          mx = std::max(mx, s[size_t(j)]);
        }
        double sum = 0;
        for (auto& v : s) { v = std::exp(v - mx); sum += v; }
        for (int j = 0; j <= t; ++j) {
          double pj = s[size_t(j)] / sum;
          if (p > 0) {
            uint64_t idx = uint64_t((b * NH + h) * T + t) * T + uint64_t(j);
            pj = hash_uniform(seed, idx) >= p ? pj / (1.0 - p) : 0.0;
          }
          for (int d = 0; d < hd; ++d) out[size_t((b * T + t) * C + h * hd + d)] += pj * q(j, 2, d);
        }
      }
  return out;
}

}  // namespace

TEST_CASE("linear forward and backward, both weight layouts, with and without bias") {
  Rng rng(1);
  for (int trial = 0; trial < 20; ++trial) {
    // N = 1 takes the matrix-vector path (batch-1 decode) and N = 2..8 the few-rows kernel
    // (speculative verification), each in both layouts, with and without bias; the widths
    // straddle its 16-column blocks.
    int N = trial < 4 ? 1 : trial < 16 ? 2 + (trial - 4) % 7 : 9 + int(rng.below(13));
    int IN = 1 + int(rng.below(19)), OUT = 1 + int(rng.below(trial >= 4 && trial < 16 ? 40 : 23));
    bool oi = trial % 2, has_b = trial % 3 != 0;
    Vec x = randd(size_t(N * IN), rng), W = randd(size_t(IN * OUT), rng), b = randd(size_t(OUT), rng);
    Vec R = randd(size_t(N * OUT), rng);
    CAPTURE(N); CAPTURE(IN); CAPTURE(OUT); CAPTURE(oi);
    auto y = to_f(poisoned(size_t(N * OUT)));
    auto xf = to_f(x), Wf = to_f(W), bf = to_f(b);
    ops::linear_forward(y.data(), xf.data(), Wf.data(), has_b ? bf.data() : nullptr, N, IN, OUT, oi);
    CHECK(scaled_err(y, ref_linear(x, W, has_b ? &b : nullptr, N, IN, OUT, oi)) < 1e-5);

    auto dx = to_f(poisoned(size_t(N * IN)));
    std::vector<float> dW(size_t(IN * OUT), 0.5f), db(size_t(OUT), 0.25f);  // backward accumulates
    auto Rf = to_f(R);
    ops::linear_backward(dx.data(), dW.data(), has_b ? db.data() : nullptr, Rf.data(), xf.data(), Wf.data(), N, IN, OUT, oi);
    auto gx = numgrad([&](const Vec& v) { return ref_linear(v, W, has_b ? &b : nullptr, N, IN, OUT, oi); }, x, R);
    auto gW = numgrad([&](const Vec& v) { return ref_linear(x, v, has_b ? &b : nullptr, N, IN, OUT, oi); }, W, R);
    for (auto& v : gW) v += 0.5;
    CHECK(scaled_err(dx, gx) < 1e-4);
    CHECK(scaled_err(dW, gW) < 1e-4);
    if (has_b) {
      auto gb = numgrad([&](const Vec& v) { return ref_linear(x, W, &v, N, IN, OUT, oi); }, b, R);
      for (auto& v : gb) v += 0.25;
      CHECK(scaled_err(db, gb) < 1e-4);
    }
  }
}

TEST_CASE("linear forward split into row blocks across threads equals the reference") {
  // Enough rows for the row-block path (>= 64 per thread); odd N leaves a short last block.
  // OpenBLAS picks its kernels by shape, so the bits may differ between thread counts, but
  // a repeat at the same thread count must give the same bits.
  Rng rng(7);
  int saved = omp_get_max_threads();
  for (int trial = 0; trial < 6; ++trial) {
    int N = 257 + int(rng.below(200)), IN = 1 + int(rng.below(70)), OUT = 1 + int(rng.below(90));
    bool oi = trial % 2, has_b = trial % 3 != 0;
    Vec x = randd(size_t(N * IN), rng), W = randd(size_t(IN * OUT), rng), b = randd(size_t(OUT), rng);
    auto xf = to_f(x), Wf = to_f(W), bf = to_f(b);
    CAPTURE(N); CAPTURE(IN); CAPTURE(OUT); CAPTURE(oi);
    for (int th : {1, 2, 3}) {
      omp_set_num_threads(th);
      auto y = to_f(poisoned(size_t(N * OUT)));
      ops::linear_forward(y.data(), xf.data(), Wf.data(), has_b ? bf.data() : nullptr, N, IN, OUT, oi);
      CHECK(scaled_err(y, ref_linear(x, W, has_b ? &b : nullptr, N, IN, OUT, oi)) < 1e-5);
      auto again = to_f(poisoned(size_t(N * OUT)));
      ops::linear_forward(again.data(), xf.data(), Wf.data(), has_b ? bf.data() : nullptr, N, IN, OUT, oi);
      CHECK(again == y);
    }
  }
  omp_set_num_threads(saved);
}

TEST_CASE("layernorm forward and backward") {
  Rng rng(2);
  for (int trial = 0; trial < 4; ++trial) {
    int N = 1 + int(rng.below(9)), C = 2 + int(rng.below(37));
    bool has_b = trial % 2 == 0;
    Vec x = randd(size_t(N * C), rng, 2.0), w = randd(size_t(C), rng), b = randd(size_t(C), rng);
    for (int c = 0; c < C; ++c) x[size_t(c)] += 3.0;  // a row with a large mean
    Vec R = randd(size_t(N * C), rng);
    CAPTURE(N); CAPTURE(C);
    auto xf = to_f(x), wf = to_f(w), bf = to_f(b), Rf = to_f(R);
    auto y = to_f(poisoned(x.size()));
    std::vector<float> mean(static_cast<size_t>(N)), rstd(static_cast<size_t>(N));
    ops::layernorm_forward(y.data(), mean.data(), rstd.data(), xf.data(), wf.data(), has_b ? bf.data() : nullptr, N, C, 1e-5f);
    CHECK(scaled_err(y, ref_layernorm(x, w, has_b ? &b : nullptr, N, C, 1e-5)) < 1e-5);
    std::vector<float> dx(x.size(), 0.0f), dw(size_t(C), 0.0f), db(size_t(C), 0.0f);
    ops::layernorm_backward(dx.data(), dw.data(), has_b ? db.data() : nullptr, Rf.data(), xf.data(), wf.data(), mean.data(), rstd.data(), N, C);
    CHECK(scaled_err(dx, numgrad([&](const Vec& v) { return ref_layernorm(v, w, has_b ? &b : nullptr, N, C, 1e-5); }, x, R)) < 1e-4);
    CHECK(scaled_err(dw, numgrad([&](const Vec& v) { return ref_layernorm(x, v, has_b ? &b : nullptr, N, C, 1e-5); }, w, R)) < 1e-4);
    if (has_b) CHECK(scaled_err(db, numgrad([&](const Vec& v) { return ref_layernorm(x, w, &v, N, C, 1e-5); }, b, R)) < 1e-4);
  }
}

TEST_CASE("activations forward and backward") {
  Rng rng(3);
  for (Activation a : {Activation::GeluTanh, Activation::Gelu, Activation::Tanh, Activation::Relu}) {
    CAPTURE(activation_name(a));
    size_t n = 37;
    Vec x = randd(n, rng, 2.0), R = randd(n, rng);
    for (auto& v : x) if (std::abs(v) < 1e-3) v = 0.5;  // keep relu away from its kink
    auto xf = to_f(x), Rf = to_f(R);
    auto y = to_f(poisoned(n));
    ops::activation_forward(y.data(), xf.data(), int64_t(n), a);
    Vec ref(n);
    for (size_t i = 0; i < n; ++i) ref[i] = ref_act(x[i], a);
    CHECK(scaled_err(y, ref) < 1e-6);
    auto dx = to_f(poisoned(n));
    ops::activation_backward(dx.data(), Rf.data(), xf.data(), int64_t(n), a);
    auto g = numgrad([&](const Vec& v) { Vec o(n); for (size_t i = 0; i < n; ++i) o[i] = ref_act(v[i], a); return o; }, x, R);
    CHECK(scaled_err(dx, g) < 1e-4);
  }
}

TEST_CASE("embedding forward and backward with repeated tokens") {
  Rng rng(4);
  int B = 3, T = 7, C = 13, V = 5;
  std::vector<int32_t> idx(size_t(B * T));
  for (auto& i : idx) i = int32_t(rng.below(uint64_t(V)));  // V < B*T forces repeats
  auto wte = test::randn(size_t(V * C), rng), wpe = test::randn(size_t(T * C), rng);
  auto y = to_f(poisoned(size_t(B * T * C)));
  ops::embedding_forward(y.data(), idx.data(), wte.data(), wpe.data(), B, T, C);
  Vec ref(y.size());
  for (int bt = 0; bt < B * T; ++bt)
    for (int c = 0; c < C; ++c) ref[size_t(bt * C + c)] = double(wte[size_t(idx[size_t(bt)] * C + c)]) + wpe[size_t((bt % T) * C + c)];
  CHECK(scaled_err(y, ref) < 1e-6);
  auto dy = test::randn(y.size(), rng);
  std::vector<float> dwte(wte.size(), 0.0f), dwpe(wpe.size(), 0.0f);
  ops::embedding_backward(dwte.data(), dwpe.data(), dy.data(), idx.data(), B, T, C);
  Vec rte(wte.size(), 0.0), rpe(wpe.size(), 0.0);
  for (int bt = 0; bt < B * T; ++bt)
    for (int c = 0; c < C; ++c) {
      rte[size_t(idx[size_t(bt)] * C + c)] += dy[size_t(bt * C + c)];
      rpe[size_t((bt % T) * C + c)] += dy[size_t(bt * C + c)];
    }
  CHECK(scaled_err(dwte, rte) < 1e-5);
  CHECK(scaled_err(dwpe, rpe) < 1e-5);
}

TEST_CASE("causal attention forward and backward, with and without dropout") {
  Rng rng(5);
  struct Shape { int B, T, C, NH; float p; };
  // T = 70 and 131 cross the 64-row causal blocks; head dims 3, 5, 7, 11.
  for (Shape s : {Shape{2, 5, 6, 2, 0.0f}, Shape{1, 70, 15, 3, 0.0f}, Shape{2, 9, 14, 2, 0.3f},
                  Shape{1, 131, 11, 1, 0.0f}, Shape{1, 67, 10, 2, 0.2f}}) {
    CAPTURE(s.T); CAPTURE(s.C); CAPTURE(s.p);
    const uint64_t seed = 99;
    size_t nqkv = size_t(s.B) * s.T * 3 * s.C, nout = size_t(s.B) * s.T * s.C;
    Vec qkv = randd(nqkv, rng), R = randd(nout, rng);
    auto qf = to_f(qkv), Rf = to_f(R);
    auto out = to_f(poisoned(nout));
    std::vector<float> att(size_t(s.B) * s.NH * s.T * s.T, std::nanf(""));
    std::vector<float> scratch(size_t(ops::attention_scratch_floats(s.T)), std::nanf(""));
    ops::attention_forward(out.data(), att.data(), qf.data(), s.B, s.T, s.C, s.NH, s.p, seed, scratch.data());
    CHECK(scaled_err(out, ref_attention(qkv, s.B, s.T, s.C, s.NH, s.p, seed)) < 1e-5);
    for (float v : att) REQUIRE(std::isfinite(v));
    auto dqkv = to_f(poisoned(nqkv));
    ops::attention_backward(dqkv.data(), Rf.data(), qf.data(), att.data(), s.B, s.T, s.C, s.NH, s.p, seed, scratch.data());
    if (s.T <= 70) {  // finite differences over every input are O(T^3 * n): keep them small
      auto g = numgrad([&](const Vec& v) { return ref_attention(v, s.B, s.T, s.C, s.NH, s.p, seed); }, qkv, R);
      CHECK(scaled_err(dqkv, g) < 1e-4);
    } else {
      for (float v : dqkv) REQUIRE(std::isfinite(v));
    }
  }
}

TEST_CASE("attention over a KV cache equals full causal attention, appended in chunks") {
  Rng rng(15);
  struct Shape { int B, T, C, NH, cap; };
  for (Shape s : {Shape{1, 9, 6, 2, 9}, Shape{3, 20, 12, 3, 24}, Shape{2, 70, 16, 4, 80}}) {
    CAPTURE(s.B); CAPTURE(s.T); CAPTURE(s.C);
    const int C3 = 3 * s.C, hd = s.C / s.NH;
    Vec qkv = randd(size_t(s.B) * s.T * C3, rng);
    Vec ref = ref_attention(qkv, s.B, s.T, s.C, s.NH, 0.0f, 0);
    std::vector<float> kc(size_t(s.B) * s.NH * s.cap * hd, std::nanf("")), vc = kc;
    Vec got(ref.size(), std::nan(""));
    // Random chunk sizes: a prefill, single decode steps and multi-token appends.
    for (int len = 0; len < s.T;) {
      int n = std::min(s.T - len, 1 + int(rng.below(rng.below(2) ? 1 : 7)));
      std::vector<float> q(size_t(s.B) * n * C3), out(size_t(s.B) * n * s.C, std::nanf(""));
      for (int b = 0; b < s.B; ++b)
        for (int i = 0; i < n; ++i)
          for (int c = 0; c < C3; ++c) q[size_t((b * n + i) * C3 + c)] = float(qkv[size_t((b * s.T + len + i) * C3 + c)]);
      std::vector<float> scratch(size_t(ops::attention_kv_scratch_floats(n, s.cap)), std::nanf(""));
      ops::attention_kv_forward(out.data(), kc.data(), vc.data(), q.data(), s.B, n, s.C, s.NH, s.cap, len, scratch.data());
      for (int b = 0; b < s.B; ++b)
        for (int i = 0; i < n; ++i)
          for (int c = 0; c < s.C; ++c) got[size_t((b * s.T + len + i) * s.C + c)] = out[size_t((b * n + i) * s.C + c)];
      len += n;
    }
    CHECK(scaled_err(got, ref) < 1e-5);
  }
}

TEST_CASE("softmax cross-entropy with ignored targets") {
  Rng rng(6);
  int N = 7, V = 11;
  Vec logits = randd(size_t(N * V), rng, 3.0);
  logits[3] = 80.0;  // a large logit must not overflow
  std::vector<int32_t> tg = {3, -1, 0, 10, -1, 5, 7};
  auto lf = to_f(logits);
  std::vector<float> losses(size_t(N), std::nanf(""));
  int64_t count = ops::softmax_xent_forward(losses.data(), lf.data(), tg.data(), N, V);
  CHECK(count == 5);
  auto ref_loss = [&](const Vec& l) {
    Vec o(size_t(N), 0.0);
    for (int n = 0; n < N; ++n) {
      if (tg[size_t(n)] < 0) continue;
      double mx = -1e300, s = 0;
      for (int v = 0; v < V; ++v) mx = std::max(mx, l[size_t(n * V + v)]);
      for (int v = 0; v < V; ++v) s += std::exp(l[size_t(n * V + v)] - mx);
      o[size_t(n)] = std::log(s) + mx - l[size_t(n * V + tg[size_t(n)])];
    }
    return o;
  };
  CHECK(scaled_err(losses, ref_loss(logits)) < 1e-6);
  auto d = to_f(poisoned(logits.size()));
  ops::softmax_xent_backward(d.data(), lf.data(), tg.data(), N, V, 0.2f);
  Vec R(size_t(N), 0.2);
  CHECK(scaled_err(d, numgrad(ref_loss, logits, R)) < 1e-4);
}

TEST_CASE("vocabulary-chunked cross-entropy equals the whole-row one, for any chunk size") {
  Rng rng(61);
  const int N = 9, V = 37;
  auto logits = to_f(randd(size_t(N * V), rng, 3.0));
  logits[5] = 80.0f;                       // a large logit must not overflow
  logits[V + 30] = logits[V + 3] = 9.0f;   // a tie across chunks: the first index wins
  logits[2 * V + 7] = logits[2 * V + 8] = 9.0f;  // a tie inside a chunk
  std::vector<int32_t> tg = {3, -1, 0, 36, -1, 5, 7, 20, 35};
  std::vector<float> ref_loss(static_cast<size_t>(N)), ref_d(logits.size());
  const int64_t ref_count = ops::softmax_xent_forward(ref_loss.data(), logits.data(), tg.data(), N, V);
  ops::softmax_xent_backward(ref_d.data(), logits.data(), tg.data(), N, V, 0.3f);
  std::vector<int32_t> ref_arg(static_cast<size_t>(N));
  for (int n = 0; n < N; ++n)
    ref_arg[size_t(n)] = int32_t(std::max_element(&logits[size_t(n * V)], &logits[size_t(n * V + V)]) -
                                 &logits[size_t(n * V)]);
  for (int Vc : {1, 2, 5, 16, 36, 37}) {
    CAPTURE(Vc);
    // Column chunk [v0, v0+vc) of every row, packed as [N, vc], as the LM head would make it.
    auto chunk = [&](int v0, int vc) {
      std::vector<float> c(size_t(N) * size_t(vc));
      for (int n = 0; n < N; ++n)
        std::copy_n(&logits[size_t(n * V + v0)], vc, &c[size_t(n) * size_t(vc)]);
      return c;
    };
    std::vector<float> losses = to_f(poisoned(size_t(N))), stats = to_f(poisoned(size_t(4 * N)));
    int64_t count = -1;
    for (int v0 = 0; v0 < V; v0 += Vc) {
      const int vc = std::min(Vc, V - v0);
      auto c = chunk(v0, vc);
      count = ops::xent_chunk_forward(losses.data(), stats.data(), c.data(), tg.data(), N, v0, vc, V);
      if (v0 + vc < V) CHECK(count == 0);
    }
    CHECK(count == ref_count);
    CHECK(scaled_err(losses, ref_loss) < 1e-6);
    std::vector<int32_t> arg(static_cast<size_t>(N), -7);
    ops::xent_chunk_argmax(arg.data(), stats.data(), N);
    CHECK(arg == ref_arg);
    std::vector<float> d(logits.size(), std::nanf(""));
    for (int v0 = 0; v0 < V; v0 += Vc) {
      const int vc = std::min(Vc, V - v0);
      auto c = chunk(v0, vc);
      ops::xent_chunk_backward(c.data(), c.data(), stats.data(), tg.data(), N, v0, vc, 0.3f);  // in place
      for (int n = 0; n < N; ++n)
        std::copy_n(&c[size_t(n) * size_t(vc)], vc, &d[size_t(n * V + v0)]);
    }
    CHECK(scaled_err(d, ref_d) < 1e-6);
  }
  std::vector<float> l(static_cast<size_t>(N)), st(static_cast<size_t>(4 * N));
  CHECK_THROWS_WITH_AS(ops::xent_chunk_forward(l.data(), st.data(), logits.data(), tg.data(), N, 30, 8, V),
                       doctest::Contains("not inside [0, 37)"), Error);
}

TEST_CASE("dropout keeps the expected fraction and is reproducible") {
  int64_t n = 100003;
  std::vector<float> x(static_cast<size_t>(n), 1.0f), y(static_cast<size_t>(n)), y2(static_cast<size_t>(n));
  ops::dropout(y.data(), x.data(), n, 0.25f, 7);
  ops::dropout(y2.data(), x.data(), n, 0.25f, 7);
  CHECK(y == y2);
  int64_t kept = 0;
  for (float v : y) {
    CHECK((v == 0.0f || std::abs(v - 1.0f / 0.75f) < 1e-6f));
    kept += v != 0.0f;
  }
  CHECK(std::abs(double(kept) / double(n) - 0.75) < 0.01);
  ops::dropout(y2.data(), x.data(), n, 0.25f, 8);
  CHECK(y != y2);
}

TEST_CASE("adamw matches the torch.optim.AdamW update") {
  Rng rng(7);
  int n = 29;
  auto p = test::randn(size_t(n), rng), g = test::randn(size_t(n), rng);
  std::vector<float> m(size_t(n), 0.0f), v(size_t(n), 0.0f);
  Vec pd(p.begin(), p.end()), md(size_t(n), 0.0), vd(size_t(n), 0.0);
  ops::AdamWParams h{0.01f, 0.9f, 0.95f, 1e-8f, 0.1f};
  for (int step = 1; step <= 3; ++step) {
    for (bool decay : {true}) {
      ops::adamw_step(p.data(), g.data(), m.data(), v.data(), n, h, step, decay);
      for (int i = 0; i < n; ++i) {
        pd[size_t(i)] *= 1.0 - 0.01 * 0.1;
        md[size_t(i)] = 0.9 * md[size_t(i)] + 0.1 * g[size_t(i)];
        vd[size_t(i)] = 0.95 * vd[size_t(i)] + 0.05 * double(g[size_t(i)]) * g[size_t(i)];
        double mh = md[size_t(i)] / (1 - std::pow(0.9, step)), vh = vd[size_t(i)] / (1 - std::pow(0.95, step));
        pd[size_t(i)] -= 0.01 * mh / (std::sqrt(vh) + 1e-8);
      }
    }
  }
  CHECK(scaled_err(p, pd) < 1e-6);
}

TEST_CASE("l2 norm is accurate and the same for any split") {
  Rng rng(8);
  auto g = test::randn(100000, rng);
  double ref = 0;
  for (float x : g) ref += double(x) * x;
  CHECK(std::abs(ops::l2_norm(g.data(), int64_t(g.size())) - std::sqrt(ref)) < 1e-9 * std::sqrt(ref) * 100);
}
