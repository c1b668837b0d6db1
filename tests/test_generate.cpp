// The KV-cache decoder and generation: cached logits equal the training forward's at every
// step (inside and past block_size), both generation paths give the same tokens, multi-token
// appends and rollback are exact, and scoring matches the training loss.
#include <doctest/doctest.h>

#include <cmath>

#include "core/error.h"
#include "infer/cached_context.h"
#include "model/kv_decoder.h"
#include "infer/generate.h"
#include "test_util.h"

using namespace gpt;
using gpt::test::scaled_err;

namespace {

// conv: how many leading layers are short-conv (width 3) instead of attention.
GPT random_model(uint64_t seed, bool bias, bool tie, int V = 19, int bs = 16, int conv = 0) {
  GPTConfig c;
  c.vocab_size = V;
  c.block_size = bs;
  c.n_layer = 2;
  c.n_head = 3;
  c.n_embd = 12;
  c.bias = bias;
  c.tie_embeddings = tie;
  c.conv_layers = conv;
  c.conv_width = conv ? 3 : 4;
  GPT m(c);
  test::fill_random_weights(m, seed);
  return m;
}

std::vector<int32_t> random_tokens(int n, int V, Rng& r) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = int32_t(r.below(uint64_t(V)));
  return t;
}

// Logits of the last position of each sequence's last block_size tokens, by GPT::forward.
std::vector<float> reference_logits(GPT& m, const std::vector<std::vector<int32_t>>& seqs, size_t len) {
  const int V = m.config().vocab_size, bs = m.config().block_size;
  std::vector<float> out;
  for (const auto& s : seqs) {
    const int T = std::min<int>(int(len), bs);
    m.forward(s.data() + len - size_t(T), nullptr, 1, T);
    out.insert(out.end(), m.logits() + int64_t(T - 1) * V, m.logits() + int64_t(T) * V);
  }
  return out;
}

}  // namespace

TEST_CASE("cached and uncached generation equal the training forward at every step") {
  Rng rng(41);
  const int bs = 16;
  struct Case { int batch, prompt, max_new; float temperature; };
  // Prompt lengths 1, typical and block_size - 1; several runs cross block_size.
  for (Case c : {Case{1, 1, 20, 0.0f}, Case{2, 5, 14, 1.0f}, Case{3, bs - 1, 9, 0.0f},
                 Case{4, 7, 30, 0.8f}, Case{1, bs + 4, 6, 1.0f}, Case{4, 1, 3, 0.0f}}) {
    CAPTURE(c.batch); CAPTURE(c.prompt); CAPTURE(c.temperature);
    for (int variant = 0; variant < 3; ++variant) {  // the third has a short-conv first layer
      GPT m = random_model(rng.next(), variant != 1, variant == 1, 19, bs, variant == 2 ? 1 : 0);
      const int V = m.config().vocab_size;
      auto prompt = random_tokens(c.prompt, V, rng);
      GenerateOptions opt;
      opt.max_new = c.max_new;
      opt.sampling.temperature = c.temperature;
      opt.sampling.top_k = c.temperature > 0 ? 10 : 0;
      const uint64_t seed = rng.next();
      std::vector<std::vector<std::vector<int32_t>>> outs;
      std::vector<std::vector<float>> logits[2];
      for (int kv = 0; kv < 2; ++kv) {
        std::vector<std::vector<int32_t>> seqs(size_t(c.batch), prompt);
        std::vector<Rng> rngs;
        for (int b = 0; b < c.batch; ++b) rngs.emplace_back(seed + uint64_t(b));
        opt.kv_cache = kv == 1;
        opt.on_logits = [&](const float* l) { logits[kv].emplace_back(l, l + int64_t(c.batch) * V); };
        GenerateStats st = generate(m, seqs, opt, rngs);
        CHECK(st.forwards == c.max_new);
        CHECK((st.kv_cache_bytes > 0) == opt.kv_cache);
        if (kv == 1) {
          // Rebuilds happen exactly on the steps whose window starts past position 0.
          int expect = 0;
          for (int s = 1; s < c.max_new; ++s) expect += c.prompt + s > bs;
          CHECK(st.rebuilds == expect);
        }
        outs.push_back(seqs);
      }
      CHECK(outs[0] == outs[1]);
      // The simple path, one sequence at a time with the training forward, draws the same tokens.
      std::vector<std::vector<int32_t>> naive(size_t(c.batch), prompt);
      std::vector<Rng> rngs;
      for (int b = 0; b < c.batch; ++b) rngs.emplace_back(seed + uint64_t(b));
      generate_naive(m, naive, c.max_new, opt.sampling, rngs);
      CHECK(naive == outs[1]);
      for (int s = 0; s < c.max_new; ++s) {
        auto ref = reference_logits(m, outs[1], size_t(c.prompt + s));
        CAPTURE(s);
        CHECK(scaled_err(logits[1][size_t(s)], ref) < 1e-5);
        CHECK(scaled_err(logits[0][size_t(s)], ref) < 1e-5);
      }
    }
  }
}

TEST_CASE("generation never allocates the model's training buffers") {
  GPT m = random_model(3, true, true);
  std::vector<std::vector<int32_t>> seqs(2, std::vector<int32_t>{1, 2, 3});
  std::vector<Rng> rngs{Rng(1), Rng(2)};
  GenerateOptions opt;
  opt.max_new = 25;
  generate(m, seqs, opt, rngs);
  CHECK(m.activation_bytes() == 0);
  CHECK(m.grad_data() == nullptr);
}

TEST_CASE("a multi-token append equals the same tokens appended one at a time") {
  Rng rng(42);
  for (int B : {1, 3, -2}) {  // -2: batch 2 with a short-conv first layer
    const int conv = B < 0 ? 1 : 0;
    B = B < 0 ? -B : B;
    GPT m = random_model(rng.next(), true, false, 19, 16, conv);
    const int V = m.config().vocab_size, bs = m.config().block_size;
    Decoder one(m, B, bs), many(m, B, bs);
    // tokens [B, bs] row-major; first a prefix of 5 in both, then 6 more: singly vs at once.
    auto toks = random_tokens(B * 11, V, rng);
    auto slice = [&](int from, int n) {
      std::vector<int32_t> s;
      for (int b = 0; b < B; ++b) s.insert(s.end(), toks.begin() + b * 11 + from, toks.begin() + b * 11 + from + n);
      return s;
    };
    one.append(slice(0, 5).data(), 5);
    many.append(slice(0, 5).data(), 5);
    std::vector<float> singly(size_t(B) * 6 * V), together;
    for (int i = 0; i < 6; ++i) {
      const float* l = one.append(slice(5 + i, 1).data(), 1);
      for (int b = 0; b < B; ++b)
        std::copy(l + b * V, l + (b + 1) * V, singly.begin() + (b * 6 + i) * V);
    }
    const float* l = many.append(slice(5, 6).data(), 6, /*n_logits=*/6);
    together.assign(l, l + B * 6 * V);
    CHECK(one.length() == 11);
    CHECK(many.length() == 11);
    CHECK(scaled_err(together, singly) < 1e-5);
    // By default the append returns each row's last position; n_logits = 2 the last two.
    Decoder last(m, B, bs);
    last.append(slice(0, 5).data(), 5);
    const float* ll = last.append(slice(5, 6).data(), 6);
    for (int b = 0; b < B; ++b) {
      std::vector<float> a(ll + b * V, ll + (b + 1) * V), e(singly.begin() + (b * 6 + 5) * V, singly.begin() + (b * 6 + 6) * V);
      CHECK(scaled_err(a, e) < 1e-5);
    }
    Decoder two(m, B, bs);
    two.append(slice(0, 5).data(), 5);
    const float* l2 = two.append(slice(5, 6).data(), 6, 2);
    for (int b = 0; b < B; ++b) {
      std::vector<float> a(l2 + b * 2 * V, l2 + (b + 1) * 2 * V), e(singly.begin() + (b * 6 + 4) * V, singly.begin() + (b * 6 + 6) * V);
      CHECK(scaled_err(a, e) < 1e-5);
    }
  }
}

TEST_CASE("rollback then re-append gives the same logits") {
  Rng rng(43);
  for (int conv : {0, 1}) {  // a short-conv layer's history rolls back with the KV cache
  CAPTURE(conv);
  GPT m = random_model(rng.next(), true, true, 19, 16, conv);
  const int V = m.config().vocab_size;
  Decoder d(m, 2, 16);
  auto prefix = random_tokens(2 * 7, V, rng), next = random_tokens(2 * 4, V, rng);
  d.append(prefix.data(), 7);
  const float* l = d.append(next.data(), 4, 4);
  std::vector<float> first(l, l + 2 * 4 * V);
  // Append something else, then roll back to 7 and append the original tokens again.
  auto other = random_tokens(2 * 5, V, rng);
  d.truncate(7);
  d.append(other.data(), 5);
  d.truncate(7);
  l = d.append(next.data(), 4, 4);
  std::vector<float> again(l, l + 2 * 4 * V);
  CHECK(scaled_err(again, first) == 0.0);
  CHECK_THROWS_WITH_AS(d.truncate(12), doctest::Contains("cannot truncate"), Error);
  }
}

TEST_CASE("decoder rejects overflow and bad tokens without changing its state") {
  GPT m = random_model(5, false, true);
  Decoder d(m, 1, 8);
  std::vector<int32_t> t{1, 2, 3, 4, 5, 6};
  d.append(t.data(), 6);
  CHECK_THROWS_WITH_AS(d.append(t.data(), 3), doctest::Contains("overflows"), Error);
  std::vector<int32_t> bad{19};
  CHECK_THROWS_WITH_AS(d.append(bad.data(), 1), doctest::Contains("outside the model's vocabulary"), Error);
  CHECK(d.length() == 6);
  CHECK_THROWS_AS(Decoder(m, 1, 17), Error);
}

TEST_CASE("scoring equals the training loss, and long texts are scored in half-overlapping windows") {
  Rng rng(44);
  GPT m = random_model(rng.next(), true, true);
  const int V = m.config().vocab_size, bs = m.config().block_size;
  for (int n : {2, 9, bs + 1}) {
    auto ids = random_tokens(n, V, rng);
    ScoreResult r = score(m, ids);
    REQUIRE(r.nll.size() == size_t(n - 1));
    float loss = m.forward(ids.data(), ids.data() + 1, 1, n - 1);
    CHECK(std::abs(r.mean_loss - loss) < 1e-5 * std::abs(loss));
    CHECK(std::abs(r.perplexity - std::exp(r.mean_loss)) < 1e-9 * r.perplexity);
    CHECK(r.forwards == 1);
  }
  // 40 tokens, bs 16: windows start at 0, 8, 16, 24; token t > 16 is scored in the window that
  // starts at ceil((t - 16) / 8) * 8, with the same logits as the training forward over it.
  auto ids = random_tokens(40, V, rng);
  ScoreResult r = score(m, ids);
  REQUIRE(r.nll.size() == 39);
  CHECK(r.forwards == 4);
  for (int t = 1; t < 40; ++t) {
    const int ws = t <= bs ? 0 : (t - bs + 7) / 8 * 8;
    const int T = std::min(bs, 39 - ws);
    std::vector<int32_t> tg(ids.begin() + ws + 1, ids.begin() + ws + 1 + T);
    // Per-position loss via a one-target forward: ignore every target except t's.
    for (int i = 0; i < T; ++i) if (ws + 1 + i != t) tg[size_t(i)] = -1;
    float lt = m.forward(ids.data() + ws, tg.data(), 1, T);
    CAPTURE(t);
    CHECK(std::abs(r.nll[size_t(t - 1)] - lt) < 1e-5 * std::max(1.0f, lt));
  }
  CHECK_THROWS_WITH_AS(score(m, {3}), doctest::Contains("at least two tokens"), Error);
}

TEST_CASE("a cached context follows sequences that grow, roll back and cross block_size") {
  Rng rng(45);
  GPT m = random_model(rng.next(), true, false);
  const int V = m.config().vocab_size, bs = m.config().block_size;
  CachedContext ctx(m, 2, bs);
  std::vector<std::vector<int32_t>> seqs{random_tokens(3, V, rng), random_tokens(3, V, rng)};
  int moved = 0, prev_ws = 0;
  for (int round = 0; round < 40; ++round) {
    // Like speculative decoding: append a few tokens, ask for the logits of the last n_out,
    // then keep only some of them (the rest were "rejected") and add a replacement.
    const int add = 1 + int(rng.below(4));
    for (auto& s : seqs) for (int i = 0; i < add; ++i) s.push_back(int32_t(rng.below(uint64_t(V))));
    const int S = int(seqs[0].size()), ws = std::max(0, S - bs);
    const int n_out = std::min(S - ws, 1 + int(rng.below(uint64_t(add))));
    const float* l = ctx.logits(seqs, n_out);
    std::vector<float> got(l, l + 2 * n_out * V), ref;
    for (const auto& s : seqs) {
      m.forward(s.data() + ws, nullptr, 1, S - ws);
      ref.insert(ref.end(), m.logits() + int64_t(S - ws - n_out) * V, m.logits() + int64_t(S - ws) * V);
    }
    CAPTURE(round); CAPTURE(S);
    CHECK(scaled_err(got, ref) < 1e-5);
    moved += ws != prev_ws;
    prev_ws = ws;
    const int drop = int(rng.below(uint64_t(add)));
    for (auto& s : seqs) { s.resize(s.size() - size_t(drop)); }
  }
  CHECK(ctx.forwards() == 40);
  CHECK(moved > 5);
  CHECK(ctx.rebuilds() >= moved);  // every call whose window moved had to rebuild
  CHECK(ctx.rebuilds() < 40 - 5);  // and the cache was reused otherwise
}
