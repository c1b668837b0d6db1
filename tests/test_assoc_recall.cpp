// Associative recall: the task generators, example files as a training dataset, and the
// hand-built induction transformer, scored only through the generic GPT forward.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <tuple>

#include "recall/codes.h"
#include "recall/evaluate.h"
#include "recall/explain.h"
#include "recall/induction.h"
#include "recall/tasks.h"
#include "recall/train_presets.h"
#include "core/error.h"
#include "data/dataset.h"
#include "data/example_file.h"
#include "model/checkpoint.h"
#include "model/kv_decoder.h"
#include "test_util.h"
#include "train/trainer.h"

using namespace gpt;
using namespace gpt::recall;
namespace fs = std::filesystem;

namespace {

MqarParams mqar(int V, int L, int n, bool random = false) {
  MqarParams p;
  p.vocab = V;
  p.seq_len = L;
  p.pairs = n;
  p.random_filler = random;
  return p;
}

double hand_built_accuracy(const ExampleSet& ex, const InductionOptions& o = {}) {
  InductionModel im = build_induction(ex.vocab_size, ex.seq_len, o);
  return evaluate(*im.model, ex).acc();
}

}  // namespace

TEST_CASE("assoc: MQAR examples have unique keys, every key queried once, correct labels") {
  const MqarParams p = mqar(64, 48, 6);
  const ExampleSet ex = make_mqar(p, 200, 7);
  REQUIRE(ex.n == 200);
  REQUIRE(ex.seq_len == 48);
  std::set<int> slots_used;
  for (int64_t e = 0; e < ex.n; ++e) {
    const int32_t* x = ex.xs(e);
    const int32_t* y = ex.ys(e);
    std::set<int32_t> keys, values, queried;
    for (int i = 0; i < p.pairs; ++i) {
      CHECK(x[2 * i] >= 1);
      CHECK(x[2 * i] < 32);
      CHECK(x[2 * i + 1] >= 32);
      CHECK(x[2 * i + 1] < 64);
      keys.insert(x[2 * i]);
      values.insert(x[2 * i + 1]);
      CHECK(y[2 * i] == -1);
      CHECK(y[2 * i + 1] == -1);
    }
    CHECK(keys.size() == size_t(p.pairs));
    CHECK(values.size() == size_t(p.pairs));
    for (int t = 2 * p.pairs; t < p.seq_len; ++t) {
      if (y[t] >= 0) {
        CHECK((t - 2 * p.pairs) % 2 == 0);  // queries sit at the start of a two-token slot
        CHECK(queried.insert(x[t]).second);  // each key once
        int where = -1;
        for (int i = 0; i < p.pairs; ++i)
          if (x[2 * i] == x[t]) where = i;
        REQUIRE(where >= 0);
        CHECK(y[t] == x[2 * where + 1]);
        slots_used.insert((t - 2 * p.pairs) / 2);
      } else {
        CHECK(x[t] == 0);  // zero filler
      }
    }
    CHECK(queried == keys);
  }
  // The power law puts most queries in the first slots, but not only there.
  CHECK(slots_used.count(0) == 1);
  CHECK(slots_used.size() > size_t(p.pairs));
}

TEST_CASE("assoc: generators are reproducible in the seed and differ across seeds") {
  const MqarParams p = mqar(128, 64, 8, true);
  const ExampleSet a = make_mqar(p, 50, 3), b = make_mqar(p, 50, 3), c = make_mqar(p, 50, 4);
  CHECK(a.x == b.x);
  CHECK(a.y == b.y);
  CHECK(a.x != c.x);
  for (int32_t t : a.x) CHECK((t >= 0 && t < 128));
  const Split s1 = make_course_ar({}, 100, 20, 0), s2 = make_course_ar({}, 100, 20, 0);
  CHECK(s1.train.x == s2.train.x);
  CHECK(s1.test.y == s2.test.y);
  CHECK(make_course_toy(30, 5).x == make_course_toy(30, 5).x);
}

TEST_CASE("assoc: course AR data has the course layout, distinct sequences and last-token test targets") {
  const Split s = make_course_ar({}, 2000, 500, 0);
  CHECK(s.train.seq_len == 102);
  CHECK(s.train.vocab_size == 20);
  CHECK(course_ar_vocab(20)[2] == "10");  // lexicographic order
  CHECK(course_ar_vocab(20).back() == "=>");
  std::set<std::vector<int32_t>> seen;
  for (const ExampleSet* ex : {&s.train, &s.test})
    for (int64_t e = 0; e < ex->n; ++e) {
      const int32_t* x = ex->xs(e);
      const int32_t* y = ex->ys(e);
      std::vector<int32_t> seq(x, x + 102);
      seq.push_back(y[101]);
      CHECK(seen.insert(seq).second);
      CHECK(x[100] == 19);  // "=>"
      int32_t v = -1;
      for (int i = 0; i < 50; ++i) {
        CHECK(x[2 * i] < 9);
        CHECK(x[2 * i + 1] >= 9);
        CHECK(x[2 * i + 1] < 19);
        if (x[2 * i] == x[101]) {
          if (v >= 0) CHECK(x[2 * i + 1] == v);  // one value per key within a sequence
          v = x[2 * i + 1];
        }
      }
      CHECK(v == y[101]);
      if (ex == &s.test)
        for (int t = 0; t < 101; ++t) CHECK(y[t] == -1);
      else
        for (int t = 0; t < 101; ++t) CHECK(y[t] == x[t + 1]);
    }
}

TEST_CASE("assoc: the toy task scores exactly the repeated keys") {
  const ExampleSet ex = make_course_toy(200, 0);
  CHECK(ex.scored() == 800);
  for (int64_t e = 0; e < ex.n; ++e)
    for (int t = 0; t < 12; ++t) {
      const int32_t* x = ex.xs(e);
      bool before = false;
      for (int p = 0; p < t; p += 2) before |= x[p] == x[t];
      CHECK((ex.ys(e)[t] >= 0) == (t % 2 == 0 && before));
      if (ex.ys(e)[t] >= 0) CHECK(ex.ys(e)[t] == x[t + 1]);
    }
}

TEST_CASE("assoc: impossible settings give clear errors") {
  auto msg = [](auto&& f) {
    try {
      f();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(msg([] { make_mqar(mqar(16, 64, 8), 1, 0); }).find("distinct keys") != std::string::npos);
  CHECK(msg([] { make_mqar(mqar(8192, 64, 20), 1, 0); }).find("too short") != std::string::npos);
  CHECK(msg([] { make_mqar(mqar(3, 8, 1), 1, 0); }).find("too small") != std::string::npos);
  CHECK(msg([] { make_mqar(mqar(64, 33, 2), 1, 0); }).find("even") != std::string::npos);
  CHECK(msg([] { make_course_ar({2, 5}, 1, 1, 0); }).find("too small") != std::string::npos);
  CHECK(msg([] { make_course_ar({3, 2}, 100, 100, 0); }).find("too few distinct") != std::string::npos);
  CHECK(msg([] { preset("mqar-1024"); }).find("unknown preset") != std::string::npos);
  CHECK(msg([] { build_induction(64, 32, {.tok_code = "rs", .coherence = 0.9}); }) != "no error");
}

TEST_CASE("assoc: codes have the separation the construction relies on") {
  const Code rs = rs_code(8192, 0.25);
  CHECK(rs.dim < 200);
  CHECK(rs.coherence <= 0.25);
  // Every row has unit norm; a sample of pairs stays within the proven bound.
  for (int a = 0; a < 8192; a += 97) {
    double self = 0;
    for (int k = 0; k < rs.dim; ++k) self += double(rs.row(a)[k]) * rs.row(a)[k];
    CHECK(self == doctest::Approx(1.0));
    for (int b = a + 1; b < 8192; b += 131) {
      double d = 0;
      for (int k = 0; k < rs.dim; ++k) d += double(rs.row(a)[k]) * rs.row(b)[k];
      CHECK(d <= rs.coherence + 1e-6);
    }
  }
  const Code f = fourier_code(512);
  CHECK(f.dim == 18);
  const std::vector<float> S = shift_back(f);
  for (int i : {1, 2, 77, 511}) {
    // p_i S = p_{i-1}; p_{i-1} . p_j is largest at j = i-1 by the stated gap.
    std::vector<double> q(size_t(f.dim), 0.0);
    for (int a = 0; a < f.dim; ++a)
      for (int b = 0; b < f.dim; ++b) q[size_t(b)] += f.row(i)[a] * S[size_t(a * f.dim + b)];
    for (int b = 0; b < f.dim; ++b) CHECK(q[size_t(b)] == doctest::Approx(f.row(i - 1)[b]).epsilon(1e-5));
    for (int j = 0; j < 512; ++j) {
      double s = 0;
      for (int b = 0; b < f.dim; ++b) s += q[size_t(b)] * f.row(j)[b];
      if (j == i - 1) CHECK(s == doctest::Approx(f.self).epsilon(1e-5));
      else CHECK(s <= f.self - f.gap + 1e-4);
    }
  }
}

TEST_CASE("assoc: the hand-built model is exact on the course tasks and small MQAR settings") {
  CHECK(hand_built_accuracy(make_course_toy(1000, 0)) == 1.0);
  CHECK(hand_built_accuracy(make_course_ar({}, 1, 1000, 1).test) == 1.0);
  CHECK(hand_built_accuracy(make_mqar(mqar(64, 32, 8), 1000, 2)) == 1.0);    // one-hot codes
  CHECK(hand_built_accuracy(make_mqar(mqar(128, 64, 16), 1000, 3)) == 1.0);  // pairs = L/4
  CHECK(hand_built_accuracy(make_mqar(mqar(2048, 96, 12), 1000, 4)) == 1.0);  // compact codes
  // The same with the compact codes forced on a small vocabulary.
  CHECK(hand_built_accuracy(make_mqar(mqar(64, 32, 8), 1000, 5), {.pos_code = "fourier", .tok_code = "rs"}) == 1.0);
}

TEST_CASE("assoc: too little sharpness is not exact; the default is") {
  const ExampleSet ex = make_mqar(mqar(64, 64, 8), 300, 9);
  CHECK(hand_built_accuracy(ex, {.beta = 1.0}) < 0.9);
  CHECK(hand_built_accuracy(ex, {.beta = default_beta(64)}) == 1.0);
  CHECK(hand_built_accuracy(ex, {.beta = 60.0}) == 1.0);  // large beta is safe: softmax subtracts the row max
}

TEST_CASE("assoc: random filler is exact on the unambiguous queries") {
  const ExampleSet ex = make_mqar(mqar(64, 64, 4, true), 1000, 11);
  InductionModel im = build_induction(ex.vocab_size, ex.seq_len);
  const Accuracy a = evaluate(*im.model, ex);
  const Ambiguity amb = analyze(ex, a);
  CHECK(amb.ambiguous > 0);  // with V = 64, fillers often repeat a key
  CHECK(amb.clear_acc() == 1.0);
  CHECK(a.acc() < 1.0);
}

TEST_CASE("assoc: the largest MQAR preset (V=8192, L=512, n=64) is exact over 1000 examples") {
  const Preset p = preset("mqar-512");
  const ExampleSet ex = make_mqar(p.mqar, 1000, 0);
  InductionModel im = build_induction(ex.vocab_size, ex.seq_len);
  CHECK(im.model->config().n_embd < 400);  // compact codes: one-hot would need 2V + L = 16,896
  const Accuracy a = evaluate(*im.model, ex);
  CHECK(a.scored == 64000);
  CHECK(a.acc() == 1.0);
}

TEST_CASE("assoc: a saved hand-built checkpoint predicts the same through the generic forward") {
  const fs::path d = test::scratch_dir("assoc", "ckpt");
  const ExampleSet ex = make_mqar(mqar(1024, 64, 8), 40, 1);
  InductionModel im = build_induction(ex.vocab_size, ex.seq_len);
  save_model(d / "ck", *im.model);
  auto loaded = load_model(d / "ck");
  const GPTConfig& c = loaded->config();
  CHECK(c == im.model->config());
  CHECK_FALSE(c.mlp);
  CHECK_FALSE(c.layernorm);
  CHECK_FALSE(c.tie_embeddings);
  const Accuracy a = evaluate(*im.model, ex), b = evaluate(*loaded, ex);
  CHECK(a.pred == b.pred);
  CHECK(b.acc() == 1.0);
  im.model->forward(ex.xs(0), nullptr, 1, ex.seq_len);
  std::vector<float> la(im.model->logits(), im.model->logits() + size_t(ex.seq_len) * 1024);
  loaded->forward(ex.xs(0), nullptr, 1, ex.seq_len);
  CHECK(std::equal(la.begin(), la.end(), loaded->logits()));
  fs::remove_all(d);
}

TEST_CASE("assoc: explain shows a previous-token head and an induction head") {
  const ExampleSet ex = make_course_toy(1, 0);
  InductionModel im = build_induction(10, 12);
  const AttentionMaps m = attention_maps(*im.model, std::vector<int32_t>(ex.xs(0), ex.xs(0) + 12));
  for (int i = 1; i < 12; ++i) CHECK(m.at(0, 0, i, i - 1) > 0.99f);
  for (int i = 0; i < 12; ++i) {
    float row = 0;
    for (int j = 0; j <= i; ++j) row += m.at(1, 0, i, j);
    CHECK(row == doctest::Approx(1.0f).epsilon(1e-5));
  }
  // At a repeated key, layer 2 puts its weight on positions right after earlier occurrences.
  for (int t = 0; t < 12; ++t) {
    if (ex.ys(0)[t] < 0) continue;
    float w = 0;
    for (int j = 1; j <= t; ++j)
      if (ex.xs(0)[j - 1] == ex.xs(0)[t]) w += m.at(1, 0, t, j);
    CHECK(w > 0.99f);
  }
  const std::string csv = attention_csv(m);
  CHECK(csv.rfind("layer,head,query,key,query_token,key_token,weight\n", 0) == 0);
}

TEST_CASE("assoc dataset: example files round trip and feed batches") {
  const fs::path d = test::scratch_dir("assoc", "files");
  const ExampleSet ex = make_course_toy(50, 2);
  write_examples(d / "toy.bin", ex);
  const ExampleSet back = read_examples(d / "toy.bin");
  CHECK(back.x == ex.x);
  CHECK(back.y == ex.y);
  CHECK(is_example_file(d / "toy.bin"));
  auto ds = open_dataset(d / "toy.bin");
  CHECK(ds->num_examples() == 50);
  CHECK(ds->max_token_id() == 9);
  std::vector<int32_t> x1(4 * 12), y1(4 * 12), x2(4 * 12), y2(4 * 12);
  ds->batch(123, 4, 12, x1.data(), y1.data());
  ds->batch(123, 4, 12, x2.data(), y2.data());
  CHECK(x1 == x2);
  CHECK(y1 == y2);
  for (int b = 0; b < 4; ++b) {  // every row is one whole example
    bool found = false;
    for (int64_t e = 0; e < ex.n && !found; ++e)
      found = std::equal(ex.xs(e), ex.xs(e) + 12, x1.begin() + b * 12) && std::equal(ex.ys(e), ex.ys(e) + 12, y1.begin() + b * 12);
    CHECK(found);
  }
  ds->examples(48, 4, 12, x1.data(), y1.data());  // rows 48, 49, then two unscored pads
  CHECK(std::equal(ex.xs(48), ex.xs(48) + 24, x1.begin()));
  for (int i = 24; i < 48; ++i) CHECK(y1[size_t(i)] == -1);
  CHECK_THROWS_WITH_AS(ds->check_block_size(16), doctest::Contains("model.block_size=12"), Error);
  // A truncated file is refused with a message that names it.
  {
    std::ofstream f(d / "cut.bin", std::ios::binary);
    std::ifstream in(d / "toy.bin", std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    f << all.substr(0, all.size() - 10);
  }
  CHECK_THROWS_WITH_AS(read_examples(d / "cut.bin"), doctest::Contains("truncated"), Error);
  fs::remove_all(d);
}

TEST_CASE("assoc train: a short run on example data reports accuracy on the scored targets") {
  const fs::path d = test::scratch_dir("assoc", "train");
  write_task_data((d / "data").string(), preset("toy"), 200, 40, 0);
  RunConfig rc = RunConfig::from_json(json{
      {"model", {{"block_size", 12}, {"n_layer", 2}, {"n_head", 1}, {"n_embd", 16}, {"mlp", false}}},
      {"data", {{"dir", (d / "data").string()}}},
      {"train", {{"batch_size", 8}, {"max_iters", 6}, {"eval_interval", 3}, {"eval_iters", 2}, {"warmup_iters", 0}}},
      {"out_dir", (d / "run").string()}});
  TrainOptions o;
  o.progress = false;
  const TrainResult r = train(rc, o);
  CHECK(r.end_step == 6);
  CHECK(r.last_val_acc >= 0.0);
  CHECK(r.last_val_acc <= 1.0);
  std::ifstream m(d / "run" / "metrics.jsonl");
  std::string line;
  int evals = 0;
  while (std::getline(m, line)) {
    const json j = json::parse(line);
    if (j["kind"] == "eval") {
      ++evals;
      CHECK(j["val_scored"] == 160);  // 40 test examples x 4 repeated keys
      CHECK(j.contains("val_acc"));
    }
  }
  CHECK(evals == 3);
  fs::remove_all(d);
}

TEST_CASE("assoc train presets: every MQAR preset is Zoology's setup with block_size = its L") {
  const TrainPreset base = train_preset("mqar");
  CHECK(base.data.name == "mqar-64");
  for (const auto& [name, L, n, batch] : std::vector<std::tuple<std::string, int, int, int>>{
           {"mqar-64", 64, 4, 512}, {"mqar-128", 128, 8, 512}, {"mqar-256", 256, 16, 256}, {"mqar-512", 512, 64, 128}}) {
    const TrainPreset t = train_preset(name);
    CHECK(t.data.mqar.seq_len == L);
    CHECK(t.data.mqar.pairs == n);
    CHECK(t.n_train == 100000);
    CHECK(t.n_test == 3000);
    CHECK(t.config["model"]["block_size"] == L);
    CHECK(t.config["train"]["batch_size"] == batch);
    const int epoch = (100000 + batch - 1) / batch;
    CHECK(t.config["train"]["max_iters"] == 64 * epoch);
    CHECK(t.config["train"]["eval_interval"] == epoch);
    json a = t.config["model"], b = base.config["model"];
    a.erase("block_size");
    b.erase("block_size");
    CHECK(a == b);
  }
  CHECK_THROWS_AS(train_preset("mqar-1024"), UsageError);
}

TEST_CASE("assoc train: stop_at_val_acc ends the run at the first eval that accurate") {
  const fs::path d = test::scratch_dir("assoc", "stop_at");
  Preset p = preset("mqar-64");
  p.mqar.vocab = 256;
  write_task_data((d / "data").string(), p, 64, 20, 0);
  // The hand-built induction model is exact on this data, so the step-0 eval reaches 1.0.
  InductionModel im = build_induction(256, 64);
  save_model(d / "hc", *im.model);
  auto run = [&](double target, const std::string& name) {
    RunConfig rc = RunConfig::from_json(json{
        {"model", im.model->config().to_json()},
        {"data", {{"dir", (d / "data").string()}}},
        {"train", {{"batch_size", 8}, {"max_iters", 6}, {"eval_interval", 3}, {"eval_iters", 1},
                   {"warmup_iters", 0}, {"lr", 1e-6}, {"min_lr", 0.0}, {"stop_at_val_acc", target}}},
        {"out_dir", (d / name).string()}});
    TrainOptions o;
    o.progress = false;
    o.init_from = (d / "hc").string();
    return train(rc, o);
  };
  const TrainResult stopped = run(0.99, "stop");
  CHECK(stopped.reached_target);
  CHECK(stopped.end_step == 0);
  CHECK(stopped.last_val_acc == 1.0);
  CHECK(fs::exists(d / "stop" / "ckpt" / "trainer.json"));  // the run still leaves a checkpoint
  const TrainResult full = run(0.0, "full");  // 0: off
  CHECK_FALSE(full.reached_target);
  CHECK(full.end_step == 6);
  CHECK_THROWS_AS(RunConfig::from_json(json{{"train", {{"stop_at_val_acc", 1.5}}}, {"data", {{"dir", "x"}}}}), Error);
  fs::remove_all(d);
}

TEST_CASE("assoc: with a width-2 conv shift as layer 1, one attention layer is exact") {
  const InductionOptions conv{.mixer = "conv"};
  CHECK(hand_built_accuracy(make_course_toy(1000, 0), conv) == 1.0);
  CHECK(hand_built_accuracy(make_course_ar({}, 1, 1000, 1).test, conv) == 1.0);
  CHECK(hand_built_accuracy(make_mqar(mqar(128, 64, 16), 1000, 3), conv) == 1.0);
  CHECK(hand_built_accuracy(make_mqar(mqar(2048, 96, 12), 1000, 4), conv) == 1.0);  // compact codes
  const ExampleSet big = make_mqar(preset("mqar-512").mqar, 1000, 0);
  InductionModel im = build_induction(big.vocab_size, big.seq_len, conv);
  const GPTConfig& c = im.model->config();
  CHECK(c.conv_layers == 1);
  CHECK(c.conv_width == 2);
  CHECK(im.model->find_param("h.0.attn.c_attn.weight") == nullptr);  // layer 1 has no attention
  CHECK(evaluate(*im.model, big).acc() == 1.0);
  // The filter is the shift: tap 0 (position t-1) is 1 on the token code, tap 1 (t) is 0.
  const float* w = im.model->weights().h[0].convw;
  for (int k = 0; k < im.tok.dim; ++k) {
    CHECK(w[size_t(im.off_t + k) * 2] == 1.0f);
    CHECK(w[size_t(im.off_t + k) * 2 + 1] == 0.0f);
  }
  // Breaking the shift (taking the current token instead) breaks recall.
  for (int k = 0; k < im.tok.dim; ++k) std::swap(im.model->weights().h[0].convw[size_t(im.off_t + k) * 2],
                                                 im.model->weights().h[0].convw[size_t(im.off_t + k) * 2 + 1]);
  CHECK(evaluate(*im.model, make_mqar(preset("mqar-512").mqar, 50, 1)).acc() < 0.1);
  CHECK_THROWS_WITH_AS(build_induction(10, 12, {.mixer = "mamba"}), doctest::Contains("attention or conv"), Error);
}

TEST_CASE("assoc: the conv variant saves, reloads and decodes through the KV cache like the forward") {
  const fs::path d = test::scratch_dir("assoc", "convckpt");
  const ExampleSet ex = make_mqar(mqar(512, 64, 8), 40, 1);
  InductionModel im = build_induction(ex.vocab_size, ex.seq_len, {.mixer = "conv"});
  save_model(d / "ck", *im.model);
  auto loaded = load_model(d / "ck");
  CHECK(loaded->config() == im.model->config());
  const Accuracy a = evaluate(*im.model, ex), b = evaluate(*loaded, ex);
  CHECK(a.pred == b.pred);
  CHECK(b.acc() == 1.0);
  // Token by token through the decoder (the conv's input history lives in the cache).
  Decoder dec(*loaded, 1, ex.seq_len);
  loaded->forward(ex.xs(0), nullptr, 1, ex.seq_len);
  std::vector<float> full(loaded->logits(), loaded->logits() + size_t(ex.seq_len) * 512);
  std::vector<float> stepwise;
  for (int t = 0; t < ex.seq_len; ++t) {
    const float* l = dec.append(ex.xs(0) + t, 1);
    stepwise.insert(stepwise.end(), l, l + 512);
  }
  CHECK(test::scaled_err(stepwise, full) < 1e-5);
  fs::remove_all(d);
}

TEST_CASE("assoc: explain reports a conv layer by its taps, not as attention") {
  InductionModel im = build_induction(10, 12, {.mixer = "conv"});
  const ExampleSet ex = make_course_toy(1, 0);
  const AttentionMaps m = attention_maps(*im.model, std::vector<int32_t>(ex.xs(0), ex.xs(0) + 12));
  REQUIRE(m.conv_taps[0].size() == 2);
  CHECK(m.conv_taps[0][0] == 10.0f);  // one per token-code channel
  CHECK(m.conv_taps[0][1] == 0.0f);
  CHECK(m.conv_taps[1].empty());
  CHECK(attention_csv(m).find("\n1,") == std::string::npos);  // no attention rows for layer 1
  CHECK_THROWS_WITH_AS(im.model->attention(0), doctest::Contains("short-conv"), Error);
}
