// The CUDA linear and attention ops against their CPU twins (ops/ops.h) on random inputs with
// odd sizes. CUDA outputs and workspaces are NaN-poisoned first, so a value the GPU never
// wrote shows up; accumulated outputs (dW, db) start from the same values on both sides.
// Every case skips with a message when there is no GPU (or no CUDA in the build).
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/rng.h"
#include "ops/ops.h"
#include "cuda_test_util.h"
#include "test_util.h"
#ifdef GPT_HAVE_CUDA
#include "../kernels/ops_cuda.h"
#endif

#ifndef GPT_HAVE_CUDA

TEST_CASE("cuda ops: linear and attention (skipped: built without CUDA)") {
  MESSAGE("skipping CUDA linear/attention checks: gptkit was built without CUDA");
}

#else

using namespace gpt;
using test::scaled_err;

namespace {

constexpr double kTol = 1e-5;

bool gpu_or_skip() { return test::gpu_or_skip("CUDA linear/attention checks"); }
using test::down;
using test::poisoned;
using test::up;

// The 1e-5 tolerance needs plain fp32 GEMMs; another case may have left TF32 or bf16 on.
struct Fp32Matmuls {
  bool was = cuda::tf32(), was_bf16 = cuda::bf16_matmuls();
  Fp32Matmuls() { cuda::set_tf32(false); cuda::set_bf16_matmuls(false); }
  ~Fp32Matmuls() { cuda::set_tf32(was); cuda::set_bf16_matmuls(was_bf16); }
};


void check_close(const std::vector<float>& got, const std::vector<float>& want, const char* what) {
  CAPTURE(what);
  REQUIRE(got.size() == want.size());
  CHECK(scaled_err(got, want) <= kTol);
}

struct AttnShape { int B, T, C, NH; };
// hd = 16, T = 1, a head wider than a warp (96), and an odd head (5).
const AttnShape kAttnShapes[] = {{2, 37, 48, 3}, {2, 1, 48, 3}, {1, 70, 96, 1}, {2, 37, 15, 3}};

}  // namespace

TEST_CASE("cuda ops: linear_forward matches the CPU") {
  if (!gpu_or_skip()) return;
  Fp32Matmuls fp32;
  Rng rng(101);
  const int IN = 67, OUT = 129;
  for (int N : {37, 1})
    for (bool oi : {false, true})
      for (bool has_b : {true, false}) {
        CAPTURE(N); CAPTURE(oi); CAPTURE(has_b);
        auto x = test::randn(size_t(N) * IN, rng), W = test::randn(size_t(IN) * OUT, rng);
        auto b = test::randn(size_t(OUT), rng);
        std::vector<float> y(size_t(N) * OUT);
        ops::linear_forward(y.data(), x.data(), W.data(), has_b ? b.data() : nullptr, N, IN, OUT, oi);
        auto dx = up(x), dW = up(W), db = up(b);
        auto dy = poisoned(y.size());
        cuda::linear_forward(dy.data(), dx.data(), dW.data(), has_b ? db.data() : nullptr, N, IN, OUT, oi);
        check_close(down(dy), y, "y");
      }
}

TEST_CASE("cuda ops: linear_backward matches the CPU") {
  if (!gpu_or_skip()) return;
  Fp32Matmuls fp32;
  Rng rng(102);
  const int IN = 67, OUT = 129;
  for (int N : {37, 1})
    for (bool oi : {false, true})
      for (int mode = 0; mode < 3; ++mode) {  // 0: dx and db, 1: no dx, 2: no db
        const bool has_dx = mode != 1, has_db = mode != 2;
        CAPTURE(N); CAPTURE(oi); CAPTURE(has_dx); CAPTURE(has_db);
        auto x = test::randn(size_t(N) * IN, rng), W = test::randn(size_t(IN) * OUT, rng);
        auto g = test::randn(size_t(N) * OUT, rng);
        auto dW0 = test::randn(W.size(), rng), db0 = test::randn(size_t(OUT), rng);
        std::vector<float> gx(x.size()), gW = dW0, gb = db0;
        ops::linear_backward(has_dx ? gx.data() : nullptr, gW.data(), has_db ? gb.data() : nullptr,
                             g.data(), x.data(), W.data(), N, IN, OUT, oi);
        auto d_x = up(x), d_W = up(W), d_g = up(g), d_dW = up(dW0), d_db = up(db0);
        auto d_dx = poisoned(x.size());
        cuda::linear_backward(has_dx ? d_dx.data() : nullptr, d_dW.data(),
                              has_db ? d_db.data() : nullptr, d_g.data(), d_x.data(), d_W.data(), N,
                              IN, OUT, oi);
        if (has_dx)
          check_close(down(d_dx), gx, "dx");
        else
          for (float v : down(d_dx)) REQUIRE(std::isnan(v));  // a null dx: nothing written
        check_close(down(d_dW), gW, "dW");
        check_close(down(d_db), gb, "db");  // unchanged (db0) when db is null on both sides
      }
}

TEST_CASE("cuda ops: attention_forward matches the CPU (att and out)") {
  if (!gpu_or_skip()) return;
  Fp32Matmuls fp32;
  Rng rng(103);
  for (const AttnShape& s : kAttnShapes)
    for (float p : {0.0f, 0.1f}) {
      CAPTURE(s.B); CAPTURE(s.T); CAPTURE(s.C); CAPTURE(s.NH); CAPTURE(p);
      const uint64_t seed = 12345 + uint64_t(s.T);
      const size_t nqkv = size_t(s.B) * s.T * 3 * s.C, nout = size_t(s.B) * s.T * s.C;
      const size_t natt = size_t(s.B) * s.NH * s.T * s.T;
      auto qkv = test::randn(nqkv, rng, 2.0);  // peaked softmax rows, not near-uniform ones
      std::vector<float> out(nout), att(natt);
      std::vector<float> scratch(size_t(ops::attention_scratch_floats(s.T)));
      ops::attention_forward(out.data(), att.data(), qkv.data(), s.B, s.T, s.C, s.NH, p, seed,
                             scratch.data());
      auto d_qkv = up(qkv);
      auto d_out = poisoned(nout), d_att = poisoned(natt);
      auto ws = poisoned(size_t(cuda::attention_workspace_floats(s.B, s.T, s.C, s.NH)));
      cuda::attention_forward(d_out.data(), d_att.data(), d_qkv.data(), s.B, s.T, s.C, s.NH, p,
                              seed, ws.data());
      auto g_att = down(d_att);
      check_close(g_att, att, "att");
      check_close(down(d_out), out, "out");
      // Above the diagonal att must be exactly zero (backward relies on it).
      for (int bh = 0; bh < s.B * s.NH; ++bh)
        for (int t = 0; t < s.T; ++t)
          for (int j = t + 1; j < s.T; ++j)
            REQUIRE(g_att[(size_t(bh) * s.T + t) * s.T + j] == 0.0f);
    }
}

TEST_CASE("cuda ops: attention_backward matches the CPU (dqkv)") {
  if (!gpu_or_skip()) return;
  Fp32Matmuls fp32;
  Rng rng(104);
  for (const AttnShape& s : kAttnShapes)
    for (float p : {0.0f, 0.1f}) {
      CAPTURE(s.B); CAPTURE(s.T); CAPTURE(s.C); CAPTURE(s.NH); CAPTURE(p);
      const uint64_t seed = 777 + uint64_t(s.C);
      const size_t nqkv = size_t(s.B) * s.T * 3 * s.C, nout = size_t(s.B) * s.T * s.C;
      const size_t natt = size_t(s.B) * s.NH * s.T * s.T;
      auto qkv = test::randn(nqkv, rng, 2.0), dout = test::randn(nout, rng);
      std::vector<float> out(nout), att(natt), dqkv(nqkv);
      std::vector<float> scratch(size_t(ops::attention_scratch_floats(s.T)));
      ops::attention_forward(out.data(), att.data(), qkv.data(), s.B, s.T, s.C, s.NH, p, seed,
                             scratch.data());
      ops::attention_backward(dqkv.data(), dout.data(), qkv.data(), att.data(), s.B, s.T, s.C,
                              s.NH, p, seed, scratch.data());
      // The CPU's att as input, so this case checks the backward alone.
      auto d_qkv = up(qkv), d_dout = up(dout), d_att = up(att);
      auto d_dqkv = poisoned(nqkv);
      auto ws = poisoned(size_t(cuda::attention_workspace_floats(s.B, s.T, s.C, s.NH)));
      cuda::attention_backward(d_dqkv.data(), d_dout.data(), d_qkv.data(), d_att.data(), s.B, s.T,
                               s.C, s.NH, p, seed, ws.data());
      check_close(down(d_dqkv), dqkv, "dqkv");
      check_close(down(d_att), att, "att (must be left as it was)");
    }
}

TEST_CASE("cuda ops: attention_kv_forward matches the CPU (prefill, then decode steps)") {
  if (!gpu_or_skip()) return;
  Fp32Matmuls fp32;
  Rng rng(105);
  struct KvCase { int B, C, NH, cap; std::vector<int> steps; };
  // The first is a prefill of 5 and single steps; the second has more keys than the kernel's
  // 256 threads and a head of 96 (> a warp); the third an odd head of 5 and a 2-token append.
  const KvCase cases[] = {{2, 48, 3, 16, {5, 1, 1, 1, 1}},
                          {1, 96, 1, 300, {270, 1, 3, 1}},
                          {3, 15, 3, 12, {5, 1, 2, 1}}};
  for (const KvCase& k : cases) {
    CAPTURE(k.B); CAPTURE(k.C); CAPTURE(k.NH); CAPTURE(k.cap);
    const int hd = k.C / k.NH, C3 = 3 * k.C;
    const size_t ncache = size_t(k.B) * k.NH * k.cap * hd;
    std::vector<float> kc(ncache, 0.0f), vc(ncache, 0.0f);
    // Poisoned past what has been written: reading beyond len + i would show as NaN.
    auto d_kc = poisoned(ncache), d_vc = poisoned(ncache);
    int len = 0;
    for (int n : k.steps) {
      CAPTURE(len); CAPTURE(n);
      auto qkv = test::randn(size_t(k.B) * n * C3, rng, 2.0);
      std::vector<float> out(size_t(k.B) * n * k.C);
      std::vector<float> scratch(size_t(ops::attention_kv_scratch_floats(n, k.cap)));
      ops::attention_kv_forward(out.data(), kc.data(), vc.data(), qkv.data(), k.B, n, k.C, k.NH,
                                k.cap, len, scratch.data());
      auto d_qkv = up(qkv);
      auto d_out = poisoned(out.size());
      auto ws = poisoned(size_t(cuda::attention_kv_workspace_floats(k.B, n, k.NH, k.cap)));
      cuda::attention_kv_forward(d_out.data(), d_kc.data(), d_vc.data(), d_qkv.data(), k.B, n, k.C,
                                 k.NH, k.cap, len, ws.data());
      check_close(down(d_out), out, "out");
      len += n;
    }
    // The caches' written prefixes are copies, so they must agree exactly.
    auto g_kc = down(d_kc), g_vc = down(d_vc);
    for (int bh = 0; bh < k.B * k.NH; ++bh)
      for (int j = 0; j < k.cap; ++j)
        for (int d = 0; d < hd; ++d) {
          const size_t i = (size_t(bh) * k.cap + j) * hd + d;
          if (j < len) {
            REQUIRE(g_kc[i] == kc[i]);
            REQUIRE(g_vc[i] == vc[i]);
          } else {
            REQUIRE(std::isnan(g_kc[i]));  // nothing written past the new positions
            REQUIRE(std::isnan(g_vc[i]));
          }
        }
  }
}

#endif  // GPT_HAVE_CUDA
