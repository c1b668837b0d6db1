// Every CUDA op of kernels/ops_cuda.h (but matmul and attention) against its CPU twin in
// gpt::ops, on the same random inputs with odd sizes. Outputs the op overwrites are poisoned
// with NaN first; outputs it accumulates into start from the same random values on both sides.
#include <doctest/doctest.h>

#ifndef GPT_HAVE_CUDA

TEST_CASE("cuda ops: skipped (built without CUDA)") {
  MESSAGE("skipping CUDA ops checks: gptkit was built without CUDA");
}

#else

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "../kernels/ops_cuda.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "cuda_test_util.h"
#include "test_util.h"

using namespace gpt;
using Vec = std::vector<float>;
using Ids = std::vector<int32_t>;

namespace {

bool gpu_or_skip() { return test::gpu_or_skip("CUDA ops checks"); }
using test::down;
using test::poisoned;
using test::up;

struct DeviceIds {
  int32_t* p = nullptr;
  explicit DeviceIds(const Ids& h) {
    p = static_cast<int32_t*>(cuda::alloc(h.size() * sizeof(int32_t)));
    cuda::to_device(p, h.data(), h.size() * sizeof(int32_t));
  }
  ~DeviceIds() { cuda::release(p); }
  DeviceIds(const DeviceIds&) = delete;
  DeviceIds& operator=(const DeviceIds&) = delete;
};

Vec randn(size_t n, Rng& rng, double sd = 1.0, double mean = 0.0) {
  Vec v(n);
  for (auto& x : v) x = float(mean + sd * rng.normal());
  return v;
}

bool all_finite(const Vec& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}
bool same_bits(const Vec& a, const Vec& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The GPU result against the CPU's, relative to the CPU output's scale.
void check_close(const char* what, const Vec& gpu, const Vec& cpu, double tol = 1e-5) {
  CAPTURE(what);
  REQUIRE(gpu.size() == cpu.size());
  CHECK(all_finite(gpu));
  const double err = test::scaled_err(gpu, cpu);
  CAPTURE(err);
  CHECK(err <= tol);
}

}  // namespace

TEST_CASE("cuda ops: layernorm forward and backward match the CPU") {
  if (!gpu_or_skip()) return;
  struct Shape {
    int64_t N;
    int C;
    bool bias;
  };
  Rng rng(11);
  for (Shape s : {Shape{37, 67, true}, Shape{37, 67, false}, Shape{5, 1031, true}, Shape{3, 1, true}}) {
    CAPTURE(s.N);
    CAPTURE(s.C);
    CAPTURE(s.bias);
    const size_t NC = size_t(s.N) * s.C, C = size_t(s.C);
    const Vec x = randn(NC, rng, 2.0, 0.5), w = randn(C, rng, 0.3, 1.0), b = randn(C, rng);
    const float eps = 1e-5f;

    Vec y(NC), mean(size_t(s.N)), rstd(size_t(s.N));
    ops::layernorm_forward(y.data(), mean.data(), rstd.data(), x.data(), w.data(),
                           s.bias ? b.data() : nullptr, s.N, s.C, eps);
    auto d_x = up(x), d_w = up(w), d_b = up(b);
    auto d_y = poisoned(NC), d_mean = poisoned(size_t(s.N)), d_rstd = poisoned(size_t(s.N));
    cuda::layernorm_forward(d_y.data(), d_mean.data(), d_rstd.data(), d_x.data(), d_w.data(),
                            s.bias ? d_b.data() : nullptr, s.N, s.C, eps);
    check_close("y", down(d_y), y);
    check_close("mean", down(d_mean), mean);
    check_close("rstd", down(d_rstd), rstd);

    // Backward from the CPU's mean and rstd, accumulating into the same random gradients.
    const Vec dy = randn(NC, rng), gx0 = randn(NC, rng), gw0 = randn(C, rng), gb0 = randn(C, rng);
    Vec gx = gx0, gw = gw0, gb = gb0;
    ops::layernorm_backward(gx.data(), gw.data(), s.bias ? gb.data() : nullptr, dy.data(), x.data(),
                            w.data(), mean.data(), rstd.data(), s.N, s.C);
    auto d_dy = up(dy), d_cpu_mean = up(mean), d_cpu_rstd = up(rstd);
    Vec first_gw;
    for (int rep = 0; rep < 2; ++rep) {
      auto d_gx = up(gx0), d_gw = up(gw0), d_gb = up(gb0);
      cuda::layernorm_backward(d_gx.data(), d_gw.data(), s.bias ? d_gb.data() : nullptr,
                               d_dy.data(), d_x.data(), d_w.data(), d_cpu_mean.data(),
                               d_cpu_rstd.data(), s.N, s.C);
      check_close("dx", down(d_gx), gx);
      check_close("dw", down(d_gw), gw);
      check_close("db", down(d_gb), gb);  // untouched without bias: still gb0
      if (rep == 0) first_gw = down(d_gw);
      else CHECK(same_bits(down(d_gw), first_gw));
    }
  }
}

TEST_CASE("cuda ops: activations forward and backward match the CPU") {
  if (!gpu_or_skip()) return;
  const int64_t n = 1000003;
  Rng rng(12);
  const Vec x = randn(size_t(n), rng, 2.0), dy = randn(size_t(n), rng);
  auto d_x = up(x), d_dy = up(dy);
  for (Activation a : {Activation::GeluTanh, Activation::Gelu, Activation::Tanh, Activation::Relu}) {
    CAPTURE(activation_name(a));
    Vec y(x.size()), dx(x.size());
    ops::activation_forward(y.data(), x.data(), n, a);
    ops::activation_backward(dx.data(), dy.data(), x.data(), n, a);

    auto d_y = poisoned(size_t(n));
    cuda::activation_forward(d_y.data(), d_x.data(), n, a);
    check_close("y", down(d_y), y);

    auto d_dx = poisoned(size_t(n));
    cuda::activation_backward(d_dx.data(), d_dy.data(), d_x.data(), n, a);
    check_close("dx", down(d_dx), dx);

    auto d_inplace = up(dy);  // dx aliasing dy
    cuda::activation_backward(d_inplace.data(), d_inplace.data(), d_x.data(), n, a);
    check_close("dx in place", down(d_inplace), dx);
  }
}

TEST_CASE("cuda ops: embedding forward matches the CPU") {
  if (!gpu_or_skip()) return;
  const int B = 3, T = 13, C = 67, V = 101, block = 20;
  Rng rng(13);
  const Vec wte = randn(size_t(V) * C, rng), wpe = randn(size_t(block) * C, rng);
  Ids idx(size_t(B) * T);
  for (auto& i : idx) i = int32_t(rng.below(V));
  idx[0] = 0;
  idx[1] = V - 1;
  auto d_wte = up(wte), d_wpe = up(wpe);
  DeviceIds d_idx(idx);
  for (int pos0 : {0, block - T}) {
    CAPTURE(pos0);
    Vec y(size_t(B) * T * C);
    ops::embedding_forward(y.data(), idx.data(), wte.data(), wpe.data(), B, T, C, pos0);
    auto d_y = poisoned(y.size());
    cuda::embedding_forward(d_y.data(), d_idx.p, d_wte.data(), d_wpe.data(), B, T, C, pos0);
    const Vec got = down(d_y);
    check_close("y", got, y);
    CHECK(same_bits(got, y));  // one addition per element
  }
}

TEST_CASE("cuda ops: embedding backward matches the CPU and repeats bit for bit") {
  if (!gpu_or_skip()) return;
  const int B = 3, T = 13, C = 67, block = 20;
  Rng rng(14);
  // Few distinct tokens, so most repeat; then every position the same token.
  for (int V : {7, 101, 1}) {
    CAPTURE(V);
    Ids idx(size_t(B) * T);
    for (auto& i : idx) i = int32_t(rng.below(uint64_t(V)));
    const Vec dy = randn(idx.size() * C, rng), gte0 = randn(size_t(V) * C, rng),
              gpe0 = randn(size_t(block) * C, rng);
    Vec gte = gte0, gpe = gpe0;
    ops::embedding_backward(gte.data(), gpe.data(), dy.data(), idx.data(), B, T, C);

    auto d_dy = up(dy);
    DeviceIds d_idx(idx);
    Vec first_te, first_pe;
    for (int rep = 0; rep < 2; ++rep) {
      auto d_gte = up(gte0), d_gpe = up(gpe0);
      cuda::embedding_backward(d_gte.data(), d_gpe.data(), d_dy.data(), d_idx.p, B, T, C);
      const Vec te = down(d_gte), pe = down(d_gpe);
      check_close("dwte", te, gte);
      check_close("dwpe", pe, gpe);
      // The same additions in the same order as the CPU.
      CHECK(same_bits(te, gte));
      CHECK(same_bits(pe, gpe));
      if (rep == 0) {
        first_te = te;
        first_pe = pe;
      } else {
        CHECK(same_bits(te, first_te));
        CHECK(same_bits(pe, first_pe));
      }
    }
  }
}

namespace {

// Loss per row in double: the reference for long rows, where the CPU's sequential float sum of
// 50k exponentials is itself off by about 1e-5.
Vec xent_double(const Vec& logits, const Ids& targets, int V) {
  Vec out(targets.size(), 0.0f);
  for (size_t n = 0; n < targets.size(); ++n) {
    if (targets[n] < 0) continue;
    const float* row = logits.data() + n * size_t(V);
    double mx = *std::max_element(row, row + V), s = 0.0;
    for (int v = 0; v < V; ++v) s += std::exp(double(row[v]) - mx);
    out[n] = float(std::log(s) + mx - row[targets[n]]);
  }
  return out;
}

}  // namespace

TEST_CASE("cuda ops: softmax cross-entropy matches the CPU, with ignored rows and in place") {
  if (!gpu_or_skip()) return;
  struct Shape {
    int64_t N;
    int V;
    double sd, tol;  // tol against the CPU (see xent_double)
  };
  Rng rng(15);
  for (Shape s : {Shape{37, 101, 3.0, 1e-5}, Shape{6, 50304, 1.0, 1e-4}}) {
    CAPTURE(s.N);
    CAPTURE(s.V);
    const size_t NV = size_t(s.N) * s.V;
    const Vec logits = randn(NV, rng, s.sd);
    Ids targets(size_t(s.N));
    for (size_t n = 0; n < targets.size(); ++n)
      targets[n] = n % 5 == 2 ? -1 : int32_t(rng.below(uint64_t(s.V)));
    targets.back() = s.V - 1;

    Vec losses(size_t(s.N));
    const int64_t count =
        ops::softmax_xent_forward(losses.data(), logits.data(), targets.data(), s.N, s.V);
    const float scale = 1.0f / float(count);
    Vec dlogits(NV);
    ops::softmax_xent_backward(dlogits.data(), logits.data(), targets.data(), s.N, s.V, scale);

    auto d_logits = up(logits);
    DeviceIds d_targets(targets);
    auto d_losses = poisoned(size_t(s.N));
    CHECK(cuda::softmax_xent_forward(d_losses.data(), d_logits.data(), d_targets.p, s.N, s.V) ==
          count);
    const Vec got = down(d_losses);
    check_close("losses", got, losses, s.tol);
    check_close("losses vs double", got, xent_double(logits, targets, s.V));
    for (size_t n = 0; n < targets.size(); ++n)
      if (targets[n] < 0) CHECK(got[n] == 0.0f);

    auto d_dlogits = poisoned(NV);
    cuda::softmax_xent_backward(d_dlogits.data(), d_logits.data(), d_targets.p, s.N, s.V, scale);
    check_close("dlogits", down(d_dlogits), dlogits, s.tol);

    // The LM head's case: the gradient overwrites its logits.
    cuda::softmax_xent_backward(d_logits.data(), d_logits.data(), d_targets.p, s.N, s.V, scale);
    const Vec inplace = down(d_logits);
    check_close("dlogits in place", inplace, dlogits, s.tol);
    for (size_t n = 0; n < targets.size(); ++n)
      if (targets[n] < 0)
        CHECK(std::all_of(inplace.begin() + long(n * s.V), inplace.begin() + long((n + 1) * s.V),
                          [](float v) { return v == 0.0f; }));
  }
}

TEST_CASE("cuda ops: the vocabulary-chunked cross-entropy matches the CPU's chunks") {
  if (!gpu_or_skip()) return;
  struct Shape {
    int64_t N;
    int V, Vc;
  };
  Rng rng(17);
  for (Shape s : {Shape{37, 101, 7}, Shape{5, 50304, 4096}, Shape{3, 1000, 1000}}) {
    CAPTURE(s.N);
    CAPTURE(s.V);
    CAPTURE(s.Vc);
    Ids targets(size_t(s.N));
    for (size_t n = 0; n < targets.size(); ++n)
      targets[n] = n % 5 == 2 ? -1 : int32_t(rng.below(uint64_t(s.V)));
    targets.back() = s.V - 1;
    DeviceIds d_targets(targets);
    Vec stats = Vec(size_t(4 * s.N)), losses(size_t(s.N));
    auto d_stats = poisoned(size_t(4 * s.N)), d_losses = poisoned(size_t(s.N));
    std::vector<Vec> chunks;
    int64_t count = 0;
    for (int v0 = 0; v0 < s.V; v0 += s.Vc) {
      const int vc = std::min(s.Vc, s.V - v0);
      chunks.push_back(randn(size_t(s.N) * vc, rng, 2.0));
      // Ties: row 0's max sits twice in the second chunk (the first index wins); row 1's sits in
      // the first and second chunks (the first chunk keeps it).
      if (v0 == 0) chunks.back()[size_t(vc) + 2] = 1e4f;
      if (v0 == s.Vc) chunks.back()[3] = chunks.back()[5] = chunks.back()[size_t(vc) + 4] = 1e4f;
      const Vec& c = chunks.back();
      count = ops::xent_chunk_forward(losses.data(), stats.data(), c.data(), targets.data(), s.N, v0, vc, s.V);
      auto d_c = up(c);
      CHECK(cuda::xent_chunk_forward(d_losses.data(), d_stats.data(), d_c.data(), d_targets.p, s.N, v0, vc,
                                     s.V) == (v0 + vc == s.V ? count : 0));
    }
    check_close("losses", down(d_losses), losses, 1e-5);
    const Vec got_stats = down(d_stats);
    for (int64_t n = 0; n < s.N; ++n) CHECK(got_stats[size_t(4 * n + 3)] == stats[size_t(4 * n + 3)]);
    if (s.V > s.Vc) {
      CHECK(stats[3] == float(s.Vc + 3));
      CHECK(stats[7] == 2.0f);
    }
    const float scale = 1.0f / float(count);
    for (int v0 = 0, k = 0; v0 < s.V; v0 += s.Vc, ++k) {
      const int vc = std::min(s.Vc, s.V - v0);
      Vec d(chunks[size_t(k)].size());
      ops::xent_chunk_backward(d.data(), chunks[size_t(k)].data(), stats.data(), targets.data(), s.N, v0, vc, scale);
      auto d_c = up(chunks[size_t(k)]);
      cuda::xent_chunk_backward(d_c.data(), d_c.data(), d_stats.data(), d_targets.p, s.N, v0, vc, scale);  // in place
      check_close("dlogits chunk", down(d_c), d, 1e-5);
    }
  }
}

TEST_CASE("cuda ops: dropout draws the CPU's mask") {
  if (!gpu_or_skip()) return;
  const int64_t n = 1000003;
  Rng rng(16);
  const Vec x = randn(size_t(n), rng);
  auto d_x = up(x);
  for (float p : {0.1f, 0.5f, 0.0f}) {
    CAPTURE(p);
    const uint64_t seed = 0x9e3779b97f4a7c15ull + uint64_t(p * 1000);
    Vec y(x.size());
    ops::dropout(y.data(), x.data(), n, p, seed);
    auto d_y = poisoned(size_t(n));
    cuda::dropout(d_y.data(), d_x.data(), n, p, seed);
    const Vec got = down(d_y);
    check_close("y", got, y);
    CHECK(same_bits(got, y));  // same mask, and x * s is one rounding on both sides

    auto d_inplace = up(x);
    cuda::dropout(d_inplace.data(), d_inplace.data(), n, p, seed);
    CHECK(same_bits(down(d_inplace), y));
  }
}

TEST_CASE("cuda ops: add and scale match the CPU") {
  if (!gpu_or_skip()) return;
  const int64_t n = 1000003;
  Rng rng(17);
  const Vec a = randn(size_t(n), rng), b = randn(size_t(n), rng);
  auto d_a = up(a), d_b = up(b);

  Vec y(a.size());
  ops::add(y.data(), a.data(), b.data(), n);
  auto d_y = poisoned(size_t(n));
  cuda::add(d_y.data(), d_a.data(), d_b.data(), n);
  Vec got = down(d_y);
  check_close("add", got, y);
  CHECK(same_bits(got, y));
  cuda::add(d_a.data(), d_a.data(), d_b.data(), n);  // y aliasing a: the residual stream
  CHECK(same_bits(down(d_a), y));

  Vec s = a;
  ops::scale(s.data(), n, 0.37f);
  auto d_s = up(a);
  cuda::scale(d_s.data(), n, 0.37f);
  got = down(d_s);
  check_close("scale", got, s);
  CHECK(same_bits(got, s));
}

TEST_CASE("cuda ops: l2_norm and sum") {
  if (!gpu_or_skip()) return;
  Rng rng(18);
  for (int64_t n : {int64_t(1000003), int64_t(37), int64_t(1)}) {
    CAPTURE(n);
    const Vec g = randn(size_t(n), rng, 1e-2);
    auto d_g = up(g);
    const double cpu = ops::l2_norm(g.data(), n);
    const double gpu = cuda::l2_norm(d_g.data(), n);
    CAPTURE(cpu);
    CAPTURE(gpu);
    CHECK(std::isfinite(gpu));
    CHECK(std::abs(gpu - cpu) <= 1e-6 * cpu);
    CHECK(cuda::l2_norm(d_g.data(), n) == gpu);  // a fixed reduction order

    double ref = 0.0, mag = 0.0;
    for (float v : g) {
      ref += v;
      mag += std::abs(v);
    }
    auto d_out = poisoned(1);
    cuda::sum(d_out.data(), d_g.data(), n);
    const float s = down(d_out)[0];
    CAPTURE(ref);
    CAPTURE(s);
    CHECK(std::isfinite(s));
    CHECK(std::abs(double(s) - ref) <= 1e-6 * mag);
  }
  CHECK(cuda::l2_norm(nullptr, 0) == 0.0);
  auto d_out = poisoned(1);
  cuda::sum(d_out.data(), nullptr, 0);
  CHECK(down(d_out)[0] == 0.0f);
}

TEST_CASE("cuda ops: adamw matches the CPU over three steps, with and without decay") {
  if (!gpu_or_skip()) return;
  const int64_t n = 1000003;
  Rng rng(19);
  ops::AdamWParams h;
  h.lr = 1e-2f;
  for (bool decay : {true, false}) {
    CAPTURE(decay);
    Vec p = randn(size_t(n), rng), m(size_t(n), 0.0f), v(size_t(n), 0.0f);
    auto d_p = up(p), d_m = up(m), d_v = up(v);
    for (int64_t step = 1; step <= 3; ++step) {
      CAPTURE(step);
      const Vec g = randn(size_t(n), rng, 0.1);
      auto d_g = up(g);
      ops::adamw_step(p.data(), g.data(), m.data(), v.data(), n, h, step, decay);
      cuda::adamw_step(d_p.data(), d_g.data(), d_m.data(), d_v.data(), n, h, step, decay);
      check_close("p", down(d_p), p);
      check_close("m", down(d_m), m);
      check_close("v", down(d_v), v);
    }
  }
}

#endif  // GPT_HAVE_CUDA
