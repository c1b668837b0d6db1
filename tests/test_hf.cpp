// Hugging Face GPT-2 checkpoints: the fixture written by scripts/reference/gen_hf_fixture.py in
// transformers' exact on-disk layout ("transformer." names, attn.bias/masked_bias buffers, no
// lm_head) loads and reproduces PyTorch's logits; our own export keeps the names transformers
// reads; foreign architectures and unsupported configs are named in the error; the tokenizer
// beside the weights (vocab.json + merges.txt) is picked up; course prompt sets are filtered
// and cut as the course harness does.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/json_util.h"
#include "core/safetensors.h"
#include "infer/prompt.h"
#include "model/checkpoint.h"
#include "test_util.h"

using namespace gpt;
namespace fs = std::filesystem;

namespace {

fs::path hf_dir() { return test::source_dir() / "tests" / "fixtures" / "hf_gpt2"; }

struct TmpDir {
  fs::path p;
  explicit TmpDir(const std::string& name) : p(test::scratch_dir("hf", name)) {}
  ~TmpDir() { fs::remove_all(p); }
};

std::vector<float> logits_of(GPT& m, const std::vector<int32_t>& idx, int B, int T) {
  m.forward(idx.data(), nullptr, B, T);
  return {m.logits(), m.logits() + size_t(B) * T * m.config().vocab_size};
}

// Rewrites src's tensors under new names (an empty name drops the tensor) into dir.
void rename_tensors(const fs::path& src, const fs::path& dst, const std::function<std::string(const std::string&)>& f) {
  st::File in(src);
  std::vector<st::WriteTensor> ts;
  for (const auto& t : in.tensors()) {
    std::string n = f(t.name);
    if (!n.empty()) ts.push_back({n, t.dtype, t.shape, in.bytes(t).data()});
  }
  st::write(dst, ts);
}

void copy_config(const fs::path& dir, const std::function<void(json&)>& edit = {}) {
  json j = parse_json_file((hf_dir() / "config.json").string());
  if (edit) edit(j);
  std::ofstream(dir / "config.json") << j.dump(2);
}

std::string load_error(const fs::path& dir) {
  try {
    load_model(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("hf: transformers' GPT-2 layout loads and matches PyTorch's logits") {
  auto model = load_model(hf_dir());
  const GPTConfig& c = model->config();
  CHECK(c.vocab_size == 262);
  CHECK(c.block_size == 24);
  CHECK(c.n_layer == 2);
  CHECK(c.tie_embeddings);
  CHECK(c.activation == Activation::GeluTanh);
  st::File expect(hf_dir() / "expect.safetensors");
  const auto idx = expect.i32("idx");
  const auto ref = expect.f64("logits");
  const int B = int(expect.get("idx").shape[0]), T = int(expect.get("idx").shape[1]);
  CHECK(test::scaled_err(logits_of(*model, idx, B, T), ref) < 1e-5);

  // The buffers really are in the file: the loader skipped them rather than never seeing them.
  st::File w(hf_dir() / "model.safetensors");
  CHECK(w.find("transformer.h.0.attn.bias") != nullptr);
  CHECK(w.find("transformer.h.1.attn.masked_bias") != nullptr);
  CHECK(w.find("lm_head.weight") == nullptr);
}

TEST_CASE("hf: unprefixed names (the gpt2 repository's layout) load the same model") {
  TmpDir d("unprefixed");
  rename_tensors(hf_dir() / "model.safetensors", d.p / "model.safetensors", [](const std::string& n) {
    if (n.ends_with(".attn.bias") || n.ends_with(".attn.masked_bias")) return std::string();
    return n.substr(std::string("transformer.").size());
  });
  copy_config(d.p);
  auto a = load_model(hf_dir()), b = load_model(d.p);
  REQUIRE(a->num_params() == b->num_params());
  CHECK(std::equal(a->param_data(), a->param_data() + a->num_params(), b->param_data()));
}

TEST_CASE("hf: our export keeps the names and config fields transformers reads") {
  auto model = load_model(hf_dir());
  st::File expect(hf_dir() / "expect.safetensors");
  const auto idx = expect.i32("idx");
  const auto ref = logits_of(*model, idx, 2, 24);

  // Tied: unprefixed body, no lm_head (as the gpt2 repository); every HF parameter name present.
  TmpDir d("export");
  save_model(d.p / "ckpt", *model);
  st::File ours(d.p / "ckpt" / "model.safetensors");
  std::set<std::string> want, got;
  st::File theirs(hf_dir() / "model.safetensors");
  for (const auto& t : theirs.tensors())
    if (!t.name.ends_with(".attn.bias") && !t.name.ends_with(".attn.masked_bias"))
      want.insert(t.name.substr(std::string("transformer.").size()));
  for (const auto& t : ours.tensors()) got.insert(t.name);
  CHECK(got == want);
  const json cfg = parse_json_file((d.p / "ckpt" / "config.json").string());
  const json hf = parse_json_file((hf_dir() / "config.json").string());
  for (const char* k : {"model_type", "vocab_size", "n_positions", "n_ctx", "n_embd", "n_layer", "n_head",
                        "activation_function", "layer_norm_epsilon"})
    CHECK_MESSAGE(cfg.at(k) == hf.at(k), std::string(k));
  CHECK(cfg["architectures"][0] == "GPT2LMHeadModel");
  auto back = load_model(d.p / "ckpt");
  CHECK(logits_of(*back, idx, 2, 24) == ref);

  // Untied: transformers refuses unprefixed names beside lm_head.weight, so the body is prefixed.
  GPTConfig uc = model->config();
  uc.tie_embeddings = false;
  GPT untied(uc);
  test::fill_random_weights(untied, 7);
  save_model(d.p / "untied", untied);
  st::File u(d.p / "untied" / "model.safetensors");
  CHECK(u.find("lm_head.weight") != nullptr);
  CHECK(u.find("transformer.wte.weight") != nullptr);
  CHECK(u.find("transformer.h.1.mlp.c_proj.weight") != nullptr);
  CHECK(u.find("wte.weight") == nullptr);
  CHECK(parse_json_file((d.p / "untied" / "config.json").string())["tie_word_embeddings"] == false);
  auto ub = load_model(d.p / "untied");
  CHECK(std::equal(untied.param_data(), untied.param_data() + untied.num_params(), ub->param_data()));
}

TEST_CASE("hf: other architectures and unsupported configs are named") {
  TmpDir d("foreign");
  // GPT-NeoX weights behind a GPT-2 config.json: the tensors say what the file is.
  const std::vector<float> w(16, 0.5f);
  st::write(d.p / "model.safetensors", {{"gpt_neox.embed_in.weight", st::DType::F32, {4, 4}, w.data()},
                                        {"gpt_neox.layers.0.attention.dense.weight", st::DType::F32, {4, 4}, w.data()}});
  copy_config(d.p);
  std::string e = load_error(d.p);
  CHECK(e.find("GPT-NeoX") != std::string::npos);
  CHECK(e.find("gpt_neox.embed_in.weight") != std::string::npos);

  copy_config(d.p, [](json& j) { j["model_type"] = "gpt_neox"; });
  e = load_error(d.p);
  CHECK(e.find("model_type is 'gpt_neox'") != std::string::npos);

  copy_config(d.p, [](json& j) { j["scale_attn_by_inverse_layer_idx"] = true; });
  CHECK(load_error(d.p).find("scale_attn_by_inverse_layer_idx") != std::string::npos);
  copy_config(d.p, [](json& j) { j["add_cross_attention"] = true; });
  CHECK(load_error(d.p).find("add_cross_attention") != std::string::npos);

  // The right architecture with a config of another size: the tensor and both shapes are named.
  fs::copy_file(hf_dir() / "model.safetensors", d.p / "model.safetensors", fs::copy_options::overwrite_existing);
  copy_config(d.p, [](json& j) { j["n_embd"] = 32; });
  e = load_error(d.p);
  CHECK(e.find("tensor 'transformer.h.0.attn.c_attn.bias' has shape [144] but the config needs [96]") !=
        std::string::npos);
  copy_config(d.p);
  CHECK(load_error(d.p).empty());
}

TEST_CASE("hf: the tokenizer beside the weights, and the error when it is missing") {
  auto tok = TextCodec::load(hf_dir(), 262);
  REQUIRE(tok.has_value());
  CHECK(std::string(tok->kind()) == "gpt2");
  CHECK(tok->vocab_size() == 262);
  const std::string text = "the theory of in a thin tea";
  const auto ids = tok->encode(text);
  CHECK(tok->decode(ids) == text);
  CHECK(ids.size() < text.size());  // the merges ("Ġt", "he", "Ġthe", ...) applied
  CHECK(tok->same_as(*TextCodec::load(hf_dir(), 262)));
  CHECK_THROWS_WITH_AS(TextCodec::load(hf_dir(), 100), doctest::Contains("belongs to another model"), Error);

  // A GPT-2-sized model with no tokenizer files: text prompts say which files to add.
  TmpDir d("notok");
  PromptFlags f;
  f.text = "hello";
  CHECK_FALSE(TextCodec::load(d.p, kGpt2Vocab).has_value());
  CHECK_THROWS_WITH_AS(prompt_ids(f, std::nullopt, kGpt2Vocab, d.p.string()), doctest::Contains("vocab.json and merges.txt"),
                       Error);
  f.text.reset();
  f.tokens = "1,2,50256";
  CHECK(prompt_ids(f, std::nullopt, kGpt2Vocab, d.p.string()).size() == 3);
  // Only one of the BPE pair present: the missing file is named.
  std::ofstream(d.p / "vocab.json") << "{}";
  CHECK_THROWS_WITH_AS(TextCodec::load(d.p, kGpt2Vocab), doctest::Contains("merges.txt"), Error);
}

TEST_CASE("hf: course prompt sets keep prompts longer than P, cut to P, in file order") {
  const auto tok = TextCodec::load(hf_dir(), 262);
  TmpDir d("jsonl");
  const fs::path f = d.p / "prompts.jsonl";
  // Byte-level ids, so a prompt of n plain letters without merges is n tokens.
  std::ofstream(f) << R"({"task_id": 0, "prompt": "xyzxyzxyz"})" << "\n"  // 9 tokens
                   << R"({"prompt": "short"})" << "\n"                     // 5: not longer than 8
                   << "\n"
                   << R"({"prompt": "qrstuvwxyz"})" << "\n"                // 10
                   << R"({"prompt": "abcdefgh"})" << "\n";                 // 8: not longer
  auto p = jsonl_prompts(f.string(), tok, 262, "ckpt", 8, 2);
  REQUIRE(p.size() == 2);
  CHECK(p[0] == tok->encode("xyzxyzxy"));
  CHECK(p[1] == tok->encode("qrstuvwx"));
  CHECK_THROWS_WITH_AS(jsonl_prompts(f.string(), tok, 262, "ckpt", 8, 3),
                       doctest::Contains("2 of its 4 prompts are longer than --prompt-length 8"), Error);
  std::ofstream(f) << "{\"text\": \"no prompt field\"}\n";
  CHECK_THROWS_WITH_AS(jsonl_prompts(f.string(), tok, 262, "ckpt", 8, 1), doctest::Contains("line 1"), Error);

  CHECK(course_preset("course-kv").batch == 32);
  CHECK(course_preset("course-spec").prompt_length == 192);
  CHECK_THROWS_AS(course_preset("course-x"), Error);
}
