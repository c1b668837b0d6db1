// bf16 matmuls on the GPU (cuda::set_bf16_matmuls): the linear ops against the CPU's fp32 op
// run on the same operands rounded to bf16 (which they must equal to fp32 rounding, so the
// rounding is nearest-even and the accumulation fp32), and against the unrounded fp32 op
// within the bf16 tolerance of 1e-2 of the scale; then a whole training step against the CPU
// engine at that tolerance. Skips with a message without a GPU (or CUDA in the build).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "core/half.h"
#include "core/rng.h"
#include "model/gpt.h"
#include "model/gpt_cuda.h"
#include "ops/ops.h"
#include "cuda_test_util.h"
#include "test_util.h"
#ifdef GPT_HAVE_CUDA
#include "../kernels/ops_cuda.h"
#endif

#ifndef GPT_HAVE_CUDA

TEST_CASE("cuda ops: bf16 matmuls (skipped: built without CUDA)") {
  MESSAGE("skipping the bf16 CUDA checks: gptkit was built without CUDA");
}

#else

using namespace gpt;
using test::scaled_err;

namespace {

bool gpu_or_skip() { return test::gpu_or_skip("CUDA bf16 checks"); }
using test::down;
using test::poisoned;
using test::up;

// bf16 matmuls on (and TF32 off) for one scope.
struct Bf16Matmuls {
  bool was = cuda::bf16_matmuls(), was_tf32 = cuda::tf32();
  Bf16Matmuls() { cuda::set_bf16_matmuls(true); cuda::set_tf32(false); }
  ~Bf16Matmuls() { cuda::set_bf16_matmuls(was); cuda::set_tf32(was_tf32); }
};

std::vector<float> rounded(std::vector<float> v) {
  for (float& x : v) x = bf16_to_f32(f32_to_bf16(x));
  return v;
}

}  // namespace

TEST_CASE("cuda ops: bf16 linear_forward is the fp32 product of bf16-rounded operands") {
  if (!gpu_or_skip()) return;
  Bf16Matmuls bf16;
  Rng rng(301);
  const int IN = 67, OUT = 129;
  for (int N : {37, 1})
    for (bool oi : {false, true})
      for (bool has_b : {true, false}) {
        CAPTURE(N); CAPTURE(oi); CAPTURE(has_b);
        auto x = test::randn(size_t(N) * IN, rng), W = test::randn(size_t(IN) * OUT, rng);
        auto b = test::randn(size_t(OUT), rng);
        std::vector<float> y(size_t(N) * OUT), yr(y.size());
        ops::linear_forward(y.data(), x.data(), W.data(), has_b ? b.data() : nullptr, N, IN, OUT, oi);
        const auto xr = rounded(x), Wr = rounded(W);
        ops::linear_forward(yr.data(), xr.data(), Wr.data(), has_b ? b.data() : nullptr, N, IN, OUT, oi);
        auto dx = up(x), dW = up(W), db = up(b);
        auto dy = poisoned(y.size());
        cuda::linear_forward(dy.data(), dx.data(), dW.data(), has_b ? db.data() : nullptr, N, IN, OUT, oi);
        const auto got = down(dy);
        CHECK(scaled_err(got, yr) <= 1e-5);  // exactly the rounded operands' product
        CHECK(scaled_err(got, y) <= 1e-2);    // and within bf16's tolerance of fp32
        CHECK(scaled_err(got, y) > 1e-5);     // but not fp32: the rounding happened
        // The weights and inputs themselves are left fp32.
        CHECK(down(dW) == W);
        CHECK(down(dx) == x);
      }
}

TEST_CASE("cuda ops: bf16 linear_backward is the fp32 backward of bf16-rounded operands") {
  if (!gpu_or_skip()) return;
  Bf16Matmuls bf16;
  Rng rng(302);
  const int IN = 67, OUT = 129;
  for (int N : {37, 1})
    for (bool oi : {false, true}) {
      CAPTURE(N); CAPTURE(oi);
      auto x = test::randn(size_t(N) * IN, rng), W = test::randn(size_t(IN) * OUT, rng);
      auto g = test::randn(size_t(N) * OUT, rng);
      auto dW0 = test::randn(W.size(), rng), db0 = test::randn(size_t(OUT), rng);
      // Reference: the CPU op on rounded x, W and dy; accumulation onto the fp32 dW0, db0.
      const auto xr = rounded(x), Wr = rounded(W), gr = rounded(g);
      std::vector<float> gx(x.size()), gW = dW0, gb = db0;
      ops::linear_backward(gx.data(), gW.data(), nullptr, gr.data(), xr.data(), Wr.data(), N, IN, OUT, oi);
      // db is a column sum, not a product: fp32, from the unrounded dy.
      std::vector<float> unused(x.size()), unusedW = dW0;
      ops::linear_backward(unused.data(), unusedW.data(), gb.data(), g.data(), x.data(), W.data(), N, IN,
                           OUT, oi);
      auto d_x = up(x), d_W = up(W), d_g = up(g), d_dW = up(dW0), d_db = up(db0);
      auto d_dx = poisoned(x.size());
      cuda::linear_backward(d_dx.data(), d_dW.data(), d_db.data(), d_g.data(), d_x.data(), d_W.data(), N,
                            IN, OUT, oi);
      CHECK(scaled_err(down(d_dx), gx) <= 1e-5);
      CHECK(scaled_err(down(d_dW), gW) <= 1e-5);
      CHECK(scaled_err(down(d_db), gb) <= 1e-5);
    }
}

TEST_CASE("cuda model: a bf16-matmul training step stays within 1e-2 of the CPU's fp32 step") {
  if (!gpu_or_skip()) return;
  Bf16Matmuls bf16;
  GPTConfig c;
  c.vocab_size = 67;
  c.block_size = 24;
  c.n_layer = 2;
  c.n_head = 3;
  c.n_embd = 48;
  c.dropout = 0.1f;
  GPT cpu(c);
  cpu.init_weights(7);
  CudaGPT gpu(cpu);
  const int B = 3, T = 24;
  Rng rng(5);
  std::vector<int32_t> x(size_t(B) * T), y(x.size());
  for (auto& v : x) v = int32_t(rng.below(uint64_t(c.vocab_size)));
  for (auto& v : y) v = int32_t(rng.below(uint64_t(c.vocab_size)));
  cpu.zero_grad();
  gpu.zero_grad();
  const float lc = cpu.forward(x.data(), y.data(), B, T, true, 99);
  const float lg = gpu.forward(x.data(), y.data(), B, T, true, 99);
  CHECK(std::abs(lc - lg) <= 1e-2 * std::abs(lc));
  CHECK(lc != lg);  // the bf16 rounding reached the loss
  cpu.backward();
  gpu.backward();
  std::vector<float> g(cpu.num_params());
  gpu.download_grads(g.data());
  for (const auto& v : cpu.params()) {
    std::vector<float> a(g.begin() + long(v.offset), g.begin() + long(v.offset + v.numel));
    std::vector<float> b(cpu.grad_data() + v.offset, cpu.grad_data() + v.offset + v.numel);
    INFO("gradient of " << v.name);
    CHECK(scaled_err(a, b) <= 1e-2);
  }
}

#endif
