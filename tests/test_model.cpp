// GPTConfig validation, init, determinism, dropout gradients, and checkpoint I/O including
// every kind of damaged file.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/safetensors.h"
#include "model/checkpoint.h"
#include "test_util.h"
#include "train/optimizer.h"
#include "train/train_config.h"

using namespace gpt;
namespace fs = std::filesystem;

namespace {

GPTConfig tiny(bool bias = true) {
  GPTConfig c;
  c.vocab_size = 23;
  c.block_size = 12;
  c.n_layer = 2;
  c.n_head = 3;
  c.n_embd = 15;
  c.bias = bias;
  return c;
}

std::vector<int32_t> tokens(int n, int V, uint64_t seed) {
  Rng r(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = int32_t(r.below(uint64_t(V)));
  return t;
}

}  // namespace

TEST_CASE("config validation names the bad field") {
  auto bad = [](auto mutate, const char* needle) {
    GPTConfig c = tiny();
    mutate(c);
    try {
      c.validate();
      FAIL("expected an error mentioning " << needle);
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find(needle) != std::string::npos);
    }
  };
  bad([](GPTConfig& c) { c.n_embd = 16; }, "divisible");
  bad([](GPTConfig& c) { c.vocab_size = 0; }, "vocab_size");
  bad([](GPTConfig& c) { c.n_layer = 0; }, "n_layer");
  bad([](GPTConfig& c) { c.block_size = -1; }, "block_size");
  bad([](GPTConfig& c) { c.dropout = 1.0f; }, "dropout");
  bad([](GPTConfig& c) { c.layer_norm_epsilon = 0.0f; }, "epsilon");
  bad([](GPTConfig& c) { c.conv_layers = 3; }, "conv_layers");
  bad([](GPTConfig& c) { c.conv_layers = 1; c.conv_width = 0; }, "conv_width");
  bad([](GPTConfig& c) { c.conv_layers = 1; c.conv_width = 65; }, "conv_width");
  bad([](GPTConfig& c) { c.conv_width = 2; }, "no effect");
  CHECK_THROWS_WITH_AS(GPTConfig::from_json(json{{"n_embed", 4}}), doctest::Contains("did you mean 'n_embd'"), Error);
  CHECK_THROWS_WITH_AS(GPTConfig::from_json(json{{"n_layer", "4"}}), doctest::Contains("must be an integer"), Error);
  CHECK_THROWS_WITH_AS(GPTConfig::from_json(json{{"activation", "swish"}}), doctest::Contains("gelu_tanh"), Error);
  GPTConfig d;
  CHECK(d.n_layer == 12);
  CHECK(d.vocab_size == 50257);
  CHECK(GPTConfig::from_json(d.to_json()) == d);
}

TEST_CASE("GPT-2 124M has the published parameter count") {
  GPTConfig c;  // defaults are GPT-2
  GPT m(c);
  CHECK(m.num_params() == 124439808);
}

TEST_CASE("init follows GPT-2: N(0,0.02), scaled residual projections, unit layernorm") {
  GPTConfig c = tiny();
  c.n_embd = 48;
  c.n_head = 4;
  c.n_layer = 3;
  GPT m(c);
  m.init_weights(42);
  auto stdev = [&](const std::string& name) {
    const ParamView* v = m.find_param(name);
    double s = 0, s2 = 0;
    for (size_t i = 0; i < v->numel; ++i) { double x = m.param_data()[v->offset + i]; s += x; s2 += x * x; }
    return std::sqrt(s2 / double(v->numel) - (s / double(v->numel)) * (s / double(v->numel)));
  };
  CHECK(std::abs(stdev("h.0.mlp.c_fc.weight") - 0.02) < 0.001);
  CHECK(std::abs(stdev("h.1.attn.c_proj.weight") - 0.02 / std::sqrt(6.0)) < 0.001);
  CHECK(m.param_data()[m.find_param("h.2.ln_1.weight")->offset] == 1.0f);
  CHECK(m.param_data()[m.find_param("h.2.attn.c_attn.bias")->offset] == 0.0f);
  GPT m2(c);
  m2.init_weights(42);
  CHECK(std::memcmp(m.param_data(), m2.param_data(), m.num_params() * 4) == 0);
  m2.init_weights(43);
  CHECK(std::memcmp(m.param_data(), m2.param_data(), m.num_params() * 4) != 0);
}

TEST_CASE("forward rejects bad inputs instead of reading out of bounds") {
  GPT m(tiny());
  m.init_weights(1);
  std::vector<int32_t> idx(12, 1), tg(12, 1);
  CHECK_THROWS_WITH_AS(m.forward(idx.data(), tg.data(), 1, 13), doctest::Contains("block_size"), Error);
  idx[3] = 23;
  CHECK_THROWS_WITH_AS(m.forward(idx.data(), tg.data(), 1, 12), doctest::Contains("vocabulary"), Error);
  idx[3] = 0;
  tg[5] = -2;
  CHECK_THROWS_WITH_AS(m.forward(idx.data(), tg.data(), 1, 12), doctest::Contains("target"), Error);
  std::fill(tg.begin(), tg.end(), -1);
  CHECK(std::isnan(m.forward(idx.data(), tg.data(), 1, 12)));
  m.zero_grad();
  m.backward();  // all targets ignored: zero gradient, no NaN
  for (size_t i = 0; i < m.num_params(); ++i) REQUIRE(m.grad_data()[i] == 0.0f);
}

TEST_CASE("training steps are bit-for-bit deterministic, including dropout") {
  GPTConfig c = tiny();
  c.dropout = 0.2f;
  auto run = [&]() {
    GPT m(c);
    m.init_weights(7);
    auto idx = tokens(24, c.vocab_size, 1), tg = tokens(24, c.vocab_size, 2);
    std::vector<float> out;
    for (int s = 0; s < 3; ++s) {
      out.push_back(m.forward(idx.data(), tg.data(), 2, 12, true, 1000 + s));
      m.zero_grad();
      m.backward();
      for (size_t i = 0; i < m.num_params(); ++i) m.param_data()[i] -= 0.01f * m.grad_data()[i];
    }
    out.insert(out.end(), m.param_data(), m.param_data() + m.num_params());
    return out;
  };
  auto a = run(), b = run();
  CHECK(std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
}

TEST_CASE("a vocabulary-chunked loss gives the whole-vocabulary loss, gradients and argmax") {
  for (int variant : {0, 1, 2}) {  // tied + layernorm; untied + layernorm; tied, no layernorm
    CAPTURE(variant);
    GPTConfig c = tiny(variant != 1);
    c.tie_embeddings = variant != 1;
    c.layernorm = variant != 2;
    c.dropout = 0.2f;
    auto idx = tokens(24, c.vocab_size, 11), tg = tokens(24, c.vocab_size, 12);
    tg[3] = tg[17] = -1;
    // Two micro-batches, so the chunked head also accumulates into existing gradients.
    auto run = [&](int chunk, std::vector<int32_t>* arg) {
      GPT m(c);
      test::fill_random_weights(m, 5, 0.2);
      m.set_loss_chunk(chunk);
      m.zero_grad();
      std::vector<float> out;
      for (int mb = 0; mb < 2; ++mb) {
        out.push_back(m.forward(idx.data(), tg.data(), 2, 12, true, 40 + mb));
        if (mb == 0 && arg) { arg->resize(24); m.argmax(arg->data()); }
        m.backward(0.5f);
      }
      out.insert(out.end(), m.grad_data(), m.grad_data() + m.num_params());
      return out;
    };
    std::vector<int32_t> ref_arg, arg;
    const auto ref = run(0, &ref_arg);
    for (int chunk : {1, 4, 22, 23, 100}) {  // 23 and more: the whole vocabulary again
      CAPTURE(chunk);
      const auto got = run(chunk, &arg);
      CHECK(std::abs(got[0] - ref[0]) <= 1e-5 * std::abs(ref[0]));
      CHECK(std::abs(got[1] - ref[1]) <= 1e-5 * std::abs(ref[1]));
      CHECK(test::scaled_err(got, ref) < 1e-5);
      CHECK(arg == ref_arg);
      if (chunk >= c.vocab_size) CHECK(std::memcmp(got.data(), ref.data(), got.size() * 4) == 0);
    }
  }
  GPT m(tiny());
  m.init_weights(1);
  m.set_loss_chunk(5);
  auto idx = tokens(12, 23, 1);
  m.forward(idx.data(), idx.data(), 1, 12);
  CHECK_THROWS_WITH_AS(m.logits(), doctest::Contains("use argmax()"), Error);
  {  // The memory it is for: [N,V] logits and their [N,V] gradient become [N,5] and [N,4] stats.
    GPT whole(tiny());
    whole.forward(idx.data(), idx.data(), 1, 12);
    CHECK(whole.activation_bytes() - m.activation_bytes() == 4 * size_t(2 * 12 * 23 - (12 * 5 + 4 * 12)));
  }
  m.forward(idx.data(), nullptr, 1, 12);  // no targets: the whole logits, as for generation
  std::vector<int32_t> arg(12);
  m.argmax(arg.data());
  for (int t = 0; t < 12; ++t)
    CHECK(arg[size_t(t)] == std::max_element(m.logits() + t * 23, m.logits() + (t + 1) * 23) - (m.logits() + t * 23));
  CHECK_THROWS_WITH_AS(m.set_loss_chunk(-1), doctest::Contains("loss_chunk"), Error);
}

TEST_CASE("whole-model gradient with dropout matches finite differences") {
  for (int variant : {0, 1, 2}) {  // 1, 2: the first layer is a width-3 short conv, with and without bias
  const int conv = variant > 0;
  CAPTURE(variant);
  GPTConfig c = tiny(variant < 2);
  c.dropout = 0.3f;
  c.activation = Activation::Tanh;
  c.tie_embeddings = false;
  c.conv_layers = conv;
  c.conv_width = conv ? 3 : 4;
  GPT m(c);
  m.init_weights(3);
  for (size_t i = 0; i < m.num_params(); ++i) m.param_data()[i] *= 3.0f;  // larger gradients
  auto idx = tokens(20, c.vocab_size, 5), tg = tokens(20, c.vocab_size, 6);
  tg[4] = -1;
  const uint64_t seed = 77;
  m.forward(idx.data(), tg.data(), 2, 10, true, seed);
  m.zero_grad();
  m.backward();
  std::vector<float> g(m.grad_data(), m.grad_data() + m.num_params());
  Rng pick(9);
  int checked = 0;
  // Random picks, then picks from the first layer's mixer input weights.
  const ParamView* mix = m.find_param(conv ? "h.0.mixer.conv.weight" : "h.0.attn.c_attn.weight");
  REQUIRE(mix != nullptr);
  // Every element of a conv filter (45 here), so a missed tap or channel shows.
  const int n_mix = conv ? int(mix->numel) : 40;
  for (int k = 0; k < 40 + n_mix; ++k) {
    size_t i = k < 40 ? size_t(pick.below(m.num_params()))
                      : mix->offset + (conv ? size_t(k - 40) : size_t(pick.below(mix->numel)));
    if (k < 40 && std::abs(g[i]) < 1e-3) continue;  // the mixer picks also check near-zero gradients
    float* p = m.param_data() + i;
    float x0 = *p, h = 1e-3f;
    *p = x0 + h;
    double lp = m.forward(idx.data(), tg.data(), 2, 10, true, seed);
    *p = x0 - h;
    double lm = m.forward(idx.data(), tg.data(), 2, 10, true, seed);
    *p = x0;
    double fd = (lp - lm) / (2.0 * h);
    INFO("param " << i << " fd " << fd << " analytic " << g[i]);
    CHECK(std::abs(fd - g[i]) <= 0.02 * std::abs(g[i]) + 1e-3);
    ++checked;
  }
  CHECK(checked >= 20);
  }
}

TEST_CASE("short-conv layers accumulate their gradients, also where their scratch is the larger") {
  // T = 1 makes the attention scratch (threads * 2 * T^2 floats) smaller than the conv's C*(K+1).
  for (int T : {1, 6}) {
    CAPTURE(T);
    GPTConfig c = tiny();
    c.conv_layers = 1;
    c.conv_width = 3;
    GPT m(c);
    m.init_weights(4);
    auto idx = tokens(2 * T, c.vocab_size, 7), tg = tokens(2 * T, c.vocab_size, 8);
    m.forward(idx.data(), tg.data(), 2, T);
    m.zero_grad();
    m.backward();
    std::vector<float> once(m.grad_data(), m.grad_data() + m.num_params());
    m.backward();  // a second micro-batch of the same data: every gradient doubles
    const ParamView* w = m.find_param("h.0.mixer.conv.weight");
    const ParamView* b = m.find_param("h.0.mixer.conv.bias");
    REQUIRE((w && b));
    double nonzero = 0;
    for (const ParamView* v : {w, b})
      for (size_t i = v->offset; i < v->offset + v->numel; ++i) {
        CHECK(m.grad_data()[i] == doctest::Approx(2.0 * once[i]).epsilon(1e-6));
        nonzero += std::abs(once[i]);
      }
    CHECK(nonzero > 0);
  }
}

TEST_CASE("checkpoint round trip keeps every bit and the config") {
  for (int conv : {0, 2}) {
  CAPTURE(conv);
  GPTConfig c = tiny(conv > 0);  // the conv layers with their biases
  c.tie_embeddings = false;
  c.activation = Activation::Relu;
  c.conv_layers = conv;
  c.conv_width = conv ? 5 : 4;
  GPT m(c);
  m.init_weights(11);
  fs::path dir = test::scratch_dir("test", "roundtrip") / "ckpt";
  save_model(dir, m);
  auto m2 = load_model(dir);
  CHECK(m2->config() == c);
  CHECK(std::memcmp(m.param_data(), m2->param_data(), m.num_params() * 4) == 0);
  // Saving again replaces the directory atomically and leaves no temporaries.
  m.init_weights(12);
  save_model(dir, m);
  int entries = 0;
  for (auto& e : fs::directory_iterator(dir.parent_path())) { (void)e; ++entries; }
  CHECK(entries == 1);
  auto m3 = load_model(dir);
  CHECK(std::memcmp(m.param_data(), m3->param_data(), m.num_params() * 4) == 0);
  fs::remove_all(dir.parent_path());
  }
}

TEST_CASE("damaged checkpoints give errors that name the tensor or offset") {
  GPTConfig c = tiny();
  GPT m(c);
  m.init_weights(5);
  fs::path root = test::scratch_dir("test", "damaged");
  save_model(root / "good", m);
  std::string bytes = read_file(root / "good" / "model.safetensors");
  auto try_load = [&](const std::string& content) -> std::string {
    fs::path d = root / "bad";
    fs::remove_all(d);
    fs::create_directories(d);
    fs::copy_file(root / "good" / "config.json", d / "config.json");
    std::ofstream(d / "model.safetensors", std::ios::binary) << content;
    try {
      load_model(d);
    } catch (const Error& e) {
      return e.what();
    }
    return "loaded";
  };
  CHECK(try_load(bytes) == "loaded");
  CHECK(try_load(bytes.substr(0, 5)).find("truncated") != std::string::npos);
  CHECK(try_load(bytes.substr(0, bytes.size() - 100)).find("outside") != std::string::npos);
  std::string huge = bytes;
  uint64_t n = uint64_t(1) << 40;
  std::memcpy(huge.data(), &n, 8);
  CHECK(try_load(huge).find("header length") != std::string::npos);
  std::string garbled = bytes;
  garbled[8] = '#';
  CHECK(try_load(garbled).find("JSON") != std::string::npos);
  // Every truncation point fails cleanly.
  for (size_t cut = 0; cut < bytes.size(); cut += 997) CHECK(try_load(bytes.substr(0, cut)) != "loaded");

  auto write_with = [&](std::vector<st::WriteTensor> ts) {
    fs::path f = root / "custom.safetensors";
    st::write(f, ts);
    return read_file(f);
  };
  std::vector<st::WriteTensor> ts;
  for (const auto& v : m.params()) ts.push_back({v.name, st::DType::F32, v.shape, m.param_data() + v.offset});
  auto missing = ts;
  missing.erase(missing.begin() + 3);
  CHECK(try_load(write_with(missing)).find("'" + ts[3].name + "' is missing") != std::string::npos);
  auto extra = ts;
  extra.push_back({"h.9.mlp.c_fc.weight", st::DType::F32, {1}, m.param_data()});
  CHECK(try_load(write_with(extra)).find("unexpected tensor 'h.9.mlp.c_fc.weight'") != std::string::npos);
  auto misshapen = ts;
  misshapen[2].shape = {misshapen[2].shape[0] - 1};
  CHECK(try_load(write_with(misshapen)).find("'" + ts[2].name + "' has shape") != std::string::npos);
  auto wrong_dtype = ts;
  std::vector<int32_t> ints(m.find_param("wpe.weight")->numel);
  wrong_dtype[1] = {"wpe.weight", st::DType::I32, ts[1].shape, ints.data()};
  CHECK(try_load(write_with(wrong_dtype)).find("dtype I32") != std::string::npos);
  // HF-style names: "transformer." prefix, attention-mask buffers, a tied lm_head copy.
  auto hf = ts;
  for (auto& t : hf) t.name = "transformer." + t.name;
  std::vector<float> mask(144, 1.0f);
  hf.push_back({"transformer.h.0.attn.bias", st::DType::F32, {1, 1, 12, 12}, mask.data()});
  hf.push_back({"lm_head.weight", st::DType::F32, ts[0].shape, ts[0].data});
  CHECK(try_load(write_with(hf)) == "loaded");
  fs::remove_all(root);
}

TEST_CASE("safetensors header parser rejects overlapping and mis-sized tensors") {
  std::map<std::string, std::string> meta;
  CHECK_THROWS_WITH_AS(st::parse_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12, &meta),
                       doctest::Contains("overlap"), Error);
  CHECK_THROWS_WITH_AS(st::parse_header(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8, &meta),
                       doctest::Contains("need 12"), Error);
  CHECK_THROWS_WITH_AS(st::parse_header(R"({"a":{"dtype":"F32","shape":[-3],"data_offsets":[0,8]}})", 8, &meta),
                       doctest::Contains("negative"), Error);
  CHECK_THROWS_WITH_AS(st::parse_header(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", 8, &meta),
                       doctest::Contains("overflow"), Error);
  CHECK_THROWS_WITH_AS(st::parse_header(R"({"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,1]}})", 1, &meta),
                       doctest::Contains("unsupported dtype"), Error);
  auto ok = st::parse_header(R"({"__metadata__":{"k":"v"},"a":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]}})", 8, &meta);
  CHECK(ok.size() == 1);
  CHECK(meta["k"] == "v");
}

TEST_CASE("ZeRO-1: AdamW sharded into blocks updates each block to the full step's bits") {
  GPT model(tiny());
  model.init_weights(5);
  model.zero_grad();  // allocates the gradients
  const int64_t n = int64_t(model.num_params());
  const ops::AdamWParams hp{1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f};
  auto fill_grads = [&](int step) {
    Rng g(uint64_t(100 + step));
    for (int64_t i = 0; i < n; ++i) model.grad_data()[i] = float(g.uniform() - 0.5);
  };
  std::vector<float> p0(model.param_data(), model.param_data() + n);
  // The full optimizer, three steps.
  AdamW full(model, hp);
  for (int s = 0; s < 3; ++s) { fill_grads(s); full.step(model, 1e-2f); }
  std::vector<float> want(model.param_data(), model.param_data() + n);
  // Three blocks whose edges fall inside tensors (so weight decay must follow each tensor).
  const int64_t cuts[] = {0, n / 3 + 1, 2 * n / 3 + 5, n};
  std::vector<float> got(static_cast<size_t>(n));
  for (int k = 0; k < 3; ++k) {
    std::copy(p0.begin(), p0.end(), model.param_data());
    AdamW part(model, hp);
    part.shard(cuts[k], cuts[k + 1]);
    CHECK(part.sharded());
    CHECK(part.size() == size_t(cuts[k + 1] - cuts[k]));
    for (int s = 0; s < 3; ++s) { fill_grads(s); part.step(model, 1e-2f); }
    std::copy(model.param_data() + cuts[k], model.param_data() + cuts[k + 1], got.begin() + cuts[k]);
    // Outside its block a shard leaves the parameters alone.
    for (int64_t i = 0; i < n; ++i)
      if (i < cuts[k] || i >= cuts[k + 1]) REQUIRE(model.param_data()[i] == p0[size_t(i)]);
    // Its moments are the full optimizer's over the block.
    CHECK(std::memcmp(part.m(), full.m() + cuts[k], part.size() * 4) == 0);
    CHECK(std::memcmp(part.v(), full.v() + cuts[k], part.size() * 4) == 0);
  }
  CHECK(std::memcmp(got.data(), want.data(), size_t(n) * 4) == 0);
  AdamW again(model, hp);
  again.shard(0, n / 2);
  CHECK_THROWS_AS(again.shard(0, 1), Error);  // only a full optimizer can be sharded
  CHECK_THROWS_AS(RunConfig::from_json(json{{"train", {{"zero1", true}}}, {"device", "cuda"}, {"data", {{"dir", "x"}}}}),
                  Error);
}

TEST_CASE("config: fused_attention is a CUDA key, off by default, and saved with the run") {
  const json base{{"model", json::object()}, {"data", {{"dir", "x"}}}, {"device", "cuda"}};
  CHECK_FALSE(RunConfig::from_json(base).fused_attention);
  json j = base;
  j["fused_attention"] = true;
  const RunConfig c = RunConfig::from_json(j);
  CHECK(c.fused_attention);
  CHECK(RunConfig::from_json(c.to_json()).fused_attention);
  j["device"] = "cpu";
  CHECK_THROWS_WITH_AS(RunConfig::from_json(j), doctest::Contains("fused_attention is a CUDA path"), Error);
}

TEST_CASE("config: precision is fp32 or bf16, bf16 only on cuda, and saved with the run") {
  json j{{"model", json::object()}, {"data", {{"dir", "x"}}}, {"device", "cuda"}};
  CHECK(RunConfig::from_json(j).precision == "fp32");
  j["precision"] = "bf16";
  const RunConfig c = RunConfig::from_json(j);
  CHECK(c.precision == "bf16");
  CHECK(RunConfig::from_json(c.to_json()).precision == "bf16");
  j["precision"] = "fp16";
  CHECK_THROWS_WITH_AS(RunConfig::from_json(j), doctest::Contains("precision must be fp32 or bf16"), Error);
  j["precision"] = "bf16";
  j["device"] = "cpu";
  CHECK_THROWS_WITH_AS(RunConfig::from_json(j), doctest::Contains("precision bf16 is a CUDA mode"), Error);
}
