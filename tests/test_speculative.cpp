// Speculative decoding: the accept/resample rule reproduces the target distribution (exactly,
// by quadrature over the uniform draws, and statistically, with a negative control), and
// end to end the greedy and `match` outputs equal plain generation token for token.
#include <doctest/doctest.h>

#include <cmath>

#include "core/error.h"
#include "infer/generate.h"
#include "infer/speculative.h"
#include "test_util.h"

using namespace gpt;

namespace {

std::vector<float> random_dist(int V, Rng& r, int zeros = 0) {
  std::vector<float> d(static_cast<size_t>(V));
  double s = 0;
  for (auto& x : d) s += x = float(r.uniform() + 0.05);
  for (int i = 0; i < zeros; ++i) d[size_t(r.below(uint64_t(V)))] = 0.0f;
  s = 0;
  for (auto x : d) s += x;
  for (auto& x : d) x = float(x / s);
  return d;
}

int32_t draw(const std::vector<float>& d, float u) {
  double acc = 0;
  for (size_t i = 0; i < d.size(); ++i) {
    acc += d[i];
    if (u < acc) return int32_t(i);
  }
  return int32_t(d.size() - 1);
}

GPT random_model(uint64_t seed, int n_layer, int n_embd, int V = 13, int bs = 24) {
  GPTConfig c;
  c.vocab_size = V;
  c.block_size = bs;
  c.n_layer = n_layer;
  c.n_head = 2;
  c.n_embd = n_embd;
  GPT m(c);
  test::fill_random_weights(m, seed);
  return m;
}

// Output histogram of one speculative position: x ~ q, then accept or resample.
std::vector<double> histogram(const std::vector<float>& p, const std::vector<float>& q, int n, Rng& r,
                              bool always_accept) {
  const int V = int(p.size());
  std::vector<double> h(size_t(V), 0.0);
  for (int i = 0; i < n; ++i) {
    int32_t x = draw(q, r.uniformf());
    float ua = r.uniformf(), ur = r.uniformf();
    int32_t y = always_accept ? x : accept_or_resample(p.data(), q.data(), V, x, ua, ur).token;
    h[size_t(y)] += 1;
  }
  return h;
}

double chi_square(const std::vector<double>& h, const std::vector<float>& p, int n) {
  double s = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    double e = n * double(p[i]);
    if (e > 0) s += (h[i] - e) * (h[i] - e) / e;
    else if (h[i] > 0) return INFINITY;
  }
  return s;
}

}  // namespace

TEST_CASE("accept-or-resample reproduces p exactly (quadrature over the uniforms)") {
  Rng rng(51);
  const int V = 8, grid = 100000;
  for (int trial = 0; trial < 6; ++trial) {
    auto p = random_dist(V, rng, trial % 3), q = random_dist(V, rng, (trial + 1) % 3);
    if (trial == 5) q = p;  // identical: always accepted, the residual is empty
    // P(accept x) and P(resample = y), from the functions themselves at u on a fine grid.
    std::vector<double> acc(V, 0.0), res(V, 0.0);
    for (int k = 0; k < grid; ++k) {
      float u = (float(k) + 0.5f) / grid;
      for (int x = 0; x < V; ++x) if (q[size_t(x)] > 0) acc[size_t(x)] += accept_draft(p.data(), q.data(), x, u);
      res[size_t(resample_residual(p.data(), q.data(), V, u))] += 1;
    }
    double reject = 0;
    for (int x = 0; x < V; ++x) {
      acc[size_t(x)] /= grid;
      res[size_t(x)] /= grid;
      reject += q[size_t(x)] * (1 - acc[size_t(x)]);
      if (q[size_t(x)] > 0) CHECK(std::abs(acc[size_t(x)] - std::min(1.0, double(p[size_t(x)]) / q[size_t(x)])) < 2e-5);
    }
    CAPTURE(trial);
    // sum over x of the acceptance probability, and the known identity alpha = sum min(p, q)
    double alpha = 0;
    for (int x = 0; x < V; ++x) alpha += std::min(p[size_t(x)], q[size_t(x)]);
    CHECK(std::abs((1 - reject) - alpha) < 1e-4);
    for (int y = 0; y < V; ++y)
      CHECK(std::abs(q[size_t(y)] * acc[size_t(y)] + reject * res[size_t(y)] - p[size_t(y)]) < 1e-4);
  }
  // The worked example of the reference notes: alpha = 0.4.
  std::vector<float> p{0.7f, 0.2f, 0.1f}, q{0.1f, 0.2f, 0.7f};
  double a = 0;
  for (int i = 0; i < 3; ++i) a += std::min(p[size_t(i)], q[size_t(i)]);
  CHECK(a == doctest::Approx(0.4));
  // Disjoint supports: never accepted, and the replacement always comes from p's support.
  std::vector<float> pd{0.5f, 0.5f, 0.0f, 0.0f}, qd{0.0f, 0.0f, 0.3f, 0.7f};
  for (float u : {0.0f, 0.3f, 0.999f}) {
    CHECK_FALSE(accept_draft(pd.data(), qd.data(), 2, u));
    CHECK(resample_residual(pd.data(), qd.data(), 4, u) < 2);
  }
}

TEST_CASE("sampled accept-or-resample passes chi-square; always-accept fails it") {
  Rng rng(52);
  const int V = 8, n = 200000;
  auto p = random_dist(V, rng), q = random_dist(V, rng);
  // chi-square critical value for 7 degrees of freedom at p = 1e-4
  const double crit = 29.88;
  auto h = histogram(p, q, n, rng, false);
  CHECK(chi_square(h, p, n) < crit);
  double tv = 0;
  for (int i = 0; i < V; ++i) tv += 0.5 * std::abs(h[size_t(i)] / n - p[size_t(i)]);
  CHECK(tv < 3 * std::sqrt(double(V) / n));
  auto bad = histogram(p, q, n, rng, true);  // the negative control
  CHECK(chi_square(bad, p, n) > crit);
}

TEST_CASE("greedy speculative decoding equals greedy target decoding") {
  Rng rng(53);
  GPT target = random_model(rng.next(), 2, 16), draft = random_model(rng.next(), 1, 8);
  const int V = target.config().vocab_size, bs = target.config().block_size;
  SamplingParams greedy;
  greedy.temperature = 0.0f;
  for (int gamma : {1, 2, 4, 8}) {
    for (int trial = 0; trial < 4; ++trial) {
      // prompt lengths 1..bs-3; 13 to 31 new tokens (not multiples of gamma + 1; many cross bs)
      std::vector<int32_t> prompt(1 + rng.below(uint64_t(bs - 3)));
      for (auto& t : prompt) t = int32_t(rng.below(uint64_t(V)));
      const int max_new = 13 + int(rng.below(19));
      std::vector<std::vector<int32_t>> plain(1, prompt);
      std::vector<Rng> rngs{Rng(1)};
      GenerateOptions go;
      go.max_new = max_new;
      go.sampling = greedy;
      generate(target, plain, go, rngs);
      for (SpecMethod m : {SpecMethod::Rejection, SpecMethod::Match}) {
        std::vector<int32_t> seq = prompt;
        Rng r(2);
        SpecOptions so{max_new, gamma, m, greedy};
        SpecStats st = speculative_generate(target, draft, seq, so, r);
        CAPTURE(gamma); CAPTURE(trial); CAPTURE(int(m));
        CHECK(seq == plain[0]);
        CHECK(st.emitted == max_new);
        CHECK(st.accepted <= st.drafted);
        CHECK(st.target_calls + st.accepted == max_new);  // each call emits its accepted drafts + 1
      }
    }
  }
}

TEST_CASE("match at temperature > 0 equals plain generation with the same stream, with top-k < gamma") {
  Rng rng(54);
  GPT target = random_model(rng.next(), 2, 16), draft = random_model(rng.next(), 1, 8);
  const int V = target.config().vocab_size;
  for (int top_k : {0, 2}) {
    SamplingParams sp;
    sp.temperature = 0.9f;
    sp.top_k = top_k;
    sp.top_p = 0.95f;
    for (uint64_t seed : {3u, 4u, 5u}) {
      std::vector<int32_t> prompt{1, 5, 7};
      std::vector<std::vector<int32_t>> plain(1, prompt);
      std::vector<Rng> rngs{Rng(seed)};
      GenerateOptions go;
      go.max_new = 40;  // crosses block_size 24
      go.sampling = sp;
      generate(target, plain, go, rngs);
      std::vector<int32_t> seq = prompt;
      Rng r(seed);
      speculative_generate(target, draft, seq, {40, 4, SpecMethod::Match, sp}, r);
      CHECK(seq == plain[0]);
      // Rejection sampling with top-k 2 < gamma emits only tokens inside the target's top 2.
      if (top_k == 2) {
        std::vector<int32_t> s2 = prompt;
        Rng r2(seed);
        speculative_generate(target, draft, s2, {20, 4, SpecMethod::Rejection, sp}, r2);
        for (size_t t = prompt.size(); t < s2.size(); ++t) {
          target.forward(s2.data(), nullptr, 1, int(t));
          const float* l = target.logits() + int64_t(t - 1) * V;
          int above = 0;
          for (int v = 0; v < V; ++v) above += l[v] > l[s2[t]];
          CHECK(above < 2);
        }
      }
    }
  }
}

TEST_CASE("a draft identical to the target has every token accepted, gamma + 1 per call") {
  Rng rng(55);
  GPT target = random_model(rng.next(), 2, 16);
  SamplingParams sp;
  sp.temperature = 1.0f;
  for (int gamma : {2, 4}) {
    std::vector<int32_t> seq{3};
    Rng r(9);
    // 15 new tokens from a 1-token prompt stay inside block_size 24: 15 = 3 calls of 5 (gamma 4)
    const int max_new = 3 * (gamma + 1);
    SpecStats st = speculative_generate(target, target, seq, {max_new, gamma, SpecMethod::Rejection, sp}, r);
    CHECK(st.accepted == st.drafted);
    CHECK(st.target_calls == 3);
    CHECK(st.tokens_per_target_call() == doctest::Approx(gamma + 1));
    CHECK(st.alpha_hat() == doctest::Approx(1.0).epsilon(1e-5));
  }
}

TEST_CASE("speculative decoding rejects mismatched models and bad options") {
  GPT target = random_model(1, 1, 8, 13), other = random_model(2, 1, 8, 14);
  std::vector<int32_t> seq{1};
  Rng r(1);
  SamplingParams sp;
  CHECK_THROWS_WITH_AS(speculative_generate(target, other, seq, {5, 4, SpecMethod::Rejection, sp}, r),
                       doctest::Contains("must share a tokenizer"), Error);
  CHECK_THROWS_WITH_AS(speculative_generate(target, target, seq, {5, 0, SpecMethod::Rejection, sp}, r),
                       doctest::Contains("gamma must be"), Error);
  CHECK_THROWS_WITH_AS(parse_spec_method("greedy"), doctest::Contains("rejection or match"), Error);
  CHECK(predicted_speedup(0.8, 4, 0.05) == doctest::Approx((1 - std::pow(0.8, 5)) / (0.2 * 1.2)));
  CHECK(predicted_speedup(1.0, 4, 0.0) == doctest::Approx(5.0));
}
