// The fused flash-style CUDA attention (kernels/ops_attention_fused.cu) against the simple path
// it replaces, the CPU's attention op, on random inputs with and without dropout; outputs and
// workspaces NaN-poisoned first. Skips with a message without a GPU (or CUDA in the build);
// scripts/test_cuda_emulated.sh runs it without a GPU.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "ops/ops.h"
#include "cuda_test_util.h"
#include "test_util.h"
#ifdef GPT_HAVE_CUDA
#include "../kernels/ops_cuda.h"
#endif

#ifndef GPT_HAVE_CUDA

TEST_CASE("cuda ops: fused attention (skipped: built without CUDA)") {
  MESSAGE("skipping the fused CUDA attention checks: gptkit was built without CUDA");
}

#else

using namespace gpt;
using test::scaled_err;

namespace {

bool gpu_or_skip() { return test::gpu_or_skip("CUDA fused attention checks"); }
using test::down;
using test::poisoned;
using test::up;

struct Shape { int B, T, C, NH; };
// Head sizes 16, 5 (padded to 16), 32, 64, 96 (padded to 128) and 128; T = 1, T below a tile,
// and T = 130, over two 64-row blocks and not a multiple of the 32-row tiles (with B = 2 too).
const Shape kShapes[] = {{2, 37, 48, 3}, {2, 1, 48, 3},    {2, 37, 15, 3},  {2, 33, 64, 2},
                         {1, 130, 128, 2}, {1, 70, 96, 1}, {2, 130, 256, 2}};

// Each row's log-sum-exp of the scaled causal scores, in double.
std::vector<double> lse_ref(const std::vector<float>& qkv, const Shape& s) {
  const int hd = s.C / s.NH;
  const double sc = 1.0 / std::sqrt(double(hd));
  std::vector<double> r(size_t(s.B) * s.NH * s.T);
  for (int b = 0; b < s.B; ++b)
    for (int h = 0; h < s.NH; ++h)
      for (int i = 0; i < s.T; ++i) {
        const float* q = qkv.data() + (size_t(b) * s.T + i) * 3 * s.C + size_t(h) * hd;
        std::vector<double> sv;
        double mx = -INFINITY;
        for (int j = 0; j <= i; ++j) {
          const float* k = qkv.data() + (size_t(b) * s.T + j) * 3 * s.C + s.C + size_t(h) * hd;
          double d = 0;
          for (int e = 0; e < hd; ++e) d += double(q[e]) * k[e];
          sv.push_back(sc * d);
          mx = std::max(mx, sc * d);
        }
        double sum = 0;
        for (double v : sv) sum += std::exp(v - mx);
        r[(size_t(b) * s.NH + h) * s.T + i] = mx + std::log(sum);
      }
  return r;
}

}  // namespace

TEST_CASE("cuda ops: fused attention forward matches the CPU (out, and lse)") {
  if (!gpu_or_skip()) return;
  Rng rng(203);
  for (const Shape& s : kShapes)
    for (float p : {0.0f, 0.1f}) {
      CAPTURE(s.B); CAPTURE(s.T); CAPTURE(s.C); CAPTURE(s.NH); CAPTURE(p);
      const uint64_t seed = 4242 + uint64_t(s.T);
      const size_t nqkv = size_t(s.B) * s.T * 3 * s.C, nout = size_t(s.B) * s.T * s.C;
      const size_t nlse = size_t(s.B) * s.NH * s.T;
      auto qkv = test::randn(nqkv, rng, 2.0);  // peaked rows, so the running max moves
      std::vector<float> out(nout), att(size_t(s.B) * s.NH * s.T * s.T);
      std::vector<float> scratch(size_t(ops::attention_scratch_floats(s.T)));
      ops::attention_forward(out.data(), att.data(), qkv.data(), s.B, s.T, s.C, s.NH, p, seed,
                             scratch.data());
      auto d_qkv = up(qkv);
      auto d_out = poisoned(nout), d_lse = poisoned(nlse);
      cuda::attention_fused_forward(d_out.data(), d_lse.data(), d_qkv.data(), s.B, s.T, s.C, s.NH,
                                    p, seed);
      CHECK(scaled_err(down(d_out), out) <= 1e-5);
      const auto lse = down(d_lse);
      const auto want = lse_ref(qkv, s);
      double worst = 0;
      for (size_t r = 0; r < nlse; ++r)
        worst = std::max(worst, std::abs(lse[r] - want[r]) / std::max(1.0, std::abs(want[r])));
      CHECK(worst <= 1e-6);
    }
}

TEST_CASE("cuda ops: fused attention backward matches the CPU (dqkv), and repeats its bits") {
  if (!gpu_or_skip()) return;
  Rng rng(204);
  for (const Shape& s : kShapes)
    for (float p : {0.0f, 0.1f}) {
      CAPTURE(s.B); CAPTURE(s.T); CAPTURE(s.C); CAPTURE(s.NH); CAPTURE(p);
      const uint64_t seed = 99 + uint64_t(s.C);
      const size_t nqkv = size_t(s.B) * s.T * 3 * s.C, nout = size_t(s.B) * s.T * s.C;
      const size_t nlse = size_t(s.B) * s.NH * s.T;
      auto qkv = test::randn(nqkv, rng, 2.0), dout = test::randn(nout, rng);
      std::vector<float> out(nout), att(size_t(s.B) * s.NH * s.T * s.T), dqkv(nqkv);
      std::vector<float> scratch(size_t(ops::attention_scratch_floats(s.T)));
      ops::attention_forward(out.data(), att.data(), qkv.data(), s.B, s.T, s.C, s.NH, p, seed,
                             scratch.data());
      ops::attention_backward(dqkv.data(), dout.data(), qkv.data(), att.data(), s.B, s.T, s.C,
                              s.NH, p, seed, scratch.data());
      // The fused forward's own out and lse feed the backward, as in training.
      auto d_qkv = up(qkv), d_dout = up(dout);
      auto d_out = poisoned(nout), d_lse = poisoned(nlse);
      cuda::attention_fused_forward(d_out.data(), d_lse.data(), d_qkv.data(), s.B, s.T, s.C, s.NH,
                                    p, seed);
      auto ws = poisoned(size_t(cuda::attention_fused_workspace_floats(s.B, s.T, s.NH)));
      auto d_dqkv = poisoned(nqkv);
      cuda::attention_fused_backward(d_dqkv.data(), d_dout.data(), d_qkv.data(), d_out.data(),
                                     d_lse.data(), s.B, s.T, s.C, s.NH, p, seed, ws.data());
      const auto first = down(d_dqkv);
      CHECK(scaled_err(first, dqkv) <= 1e-5);
      cuda::fill_nan(d_dqkv.data(), nqkv);
      cuda::attention_fused_backward(d_dqkv.data(), d_dout.data(), d_qkv.data(), d_out.data(),
                                     d_lse.data(), s.B, s.T, s.C, s.NH, p, seed, ws.data());
      const auto again = down(d_dqkv);
      CHECK(std::memcmp(first.data(), again.data(), nqkv * sizeof(float)) == 0);
    }
}

TEST_CASE("cuda ops: fused attention refuses a head above 128 and says what to use") {
  if (!gpu_or_skip()) return;
  CHECK(cuda::attention_fused_supports(128, 1));
  CHECK(cuda::attention_fused_supports(48, 3));
  CHECK_FALSE(cuda::attention_fused_supports(129, 1));
  CHECK_FALSE(cuda::attention_fused_supports(48, 5));
  auto qkv = poisoned(3 * 129), out = poisoned(129), lse = poisoned(1);
  CHECK_THROWS_WITH_AS(cuda::attention_fused_forward(out.data(), lse.data(), qkv.data(), 1, 1, 129,
                                                     1, 0.0f, 1),
                       doctest::Contains("fused_attention: false"), gpt::Error);
}

#endif
