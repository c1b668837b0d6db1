#include "model/checkpoint.h"

#include <fmt/format.h>

#include <set>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/safetensors.h"

namespace fs = std::filesystem;

namespace gpt {
namespace {

// Names another architecture's checkpoint by its tensor names, so the error says what the
// file is instead of only which tensor was unexpected.
std::string guess_architecture(const std::vector<st::TensorInfo>& ts) {
  struct Sig { const char* prefix; const char* arch; };
  constexpr Sig kSigs[] = {
      {"gpt_neox.", "GPT-NeoX/Pythia"},        {"model.layers.", "LLaMA/Mistral-style"},
      {"model.decoder.", "OPT"},               {"transformer.word_embeddings", "BLOOM"},
      {"transformer.h.0.attn.attention.", "GPT-Neo"}, {"transformer.h.0.attn.qkv_proj", "GPT-J"},
      {"bert.", "BERT"},                       {"encoder.", "an encoder-decoder model"},
  };
  for (const auto& t : ts)
    for (const auto& s : kSigs)
      if (t.name.rfind(s.prefix, 0) == 0) return fmt::format("{} (tensor '{}')", s.arch, t.name);
  return {};
}

}  // namespace

void write_model_files(const fs::path& dir, const GPT& model) {
  // transformers' GPT2LMHeadModel.from_pretrained takes unprefixed body names (as the gpt2
  // repository has them) only without an lm_head.weight beside them, so an untied model's body
  // is written under "transformer.", the names that class itself saves.
  const bool prefix = !model.config().tie_embeddings;
  std::vector<st::WriteTensor> ts;
  for (const auto& v : model.params())
    ts.push_back({prefix && v.name != "lm_head.weight" ? "transformer." + v.name : v.name, st::DType::F32, v.shape,
                  model.param_data() + v.offset});
  st::write(dir / "model.safetensors", ts, {{"format", "pt"}, {"producer", "gptkit"}});
  write_file_atomic(dir / "config.json", model.config().to_hf_json().dump(2) + "\n");
}

void save_model(const fs::path& dir, const GPT& model) {
  write_dir_atomic(dir, [&](const fs::path& tmp) { write_model_files(tmp, model); });
}

GPTConfig load_model_config(const fs::path& dir) {
  fs::path cfg = dir / "config.json";
  if (!fs::exists(dir)) fail("checkpoint directory {} does not exist", dir.string());
  if (!fs::exists(cfg)) fail("{} is missing: is {} a gptkit/Hugging Face checkpoint directory?", cfg.string(), dir.string());
  try {
    return GPTConfig::from_hf_json(parse_json_file(cfg.string()));
  } catch (const Error& e) {
    fail("{}: {}", cfg.string(), e.what());
  }
}

void load_weights(GPT& model, const fs::path& file) {
  st::File f(file);
  // HF checkpoints may prefix names with "transformer." and carry non-parameter buffers.
  auto canonical = [](std::string n) {
    if (n.rfind("transformer.", 0) == 0) n = n.substr(12);
    return n;
  };
  const std::string arch = guess_architecture(f.tensors());
  if (!arch.empty())
    fail("{}: this is a {} checkpoint, not GPT-2; gptkit loads GPT-2-architecture models only", file.string(), arch);
  std::set<std::string> seen;
  for (const auto& t : f.tensors()) {
    std::string name = canonical(t.name);
    if (name.ends_with(".attn.bias") || name.ends_with(".attn.masked_bias")) continue;
    if (name == "lm_head.weight" && model.config().tie_embeddings) continue;  // same as wte
    const ParamView* v = model.find_param(name);
    if (!v)
      fail("{}: unexpected tensor '{}' (not part of a model with this config.json; "
           "check bias/mlp/layernorm/tie_word_embeddings)", file.string(), t.name);
    if (t.shape != v->shape) {
      std::string got, want;
      for (auto s : t.shape) got += std::to_string(s) + ",";
      for (auto s : v->shape) want += std::to_string(s) + ",";
      fail("{}: tensor '{}' has shape [{}] but the config needs [{}]", file.string(), t.name,
           got.empty() ? got : got.substr(0, got.size() - 1), want.substr(0, want.size() - 1));
    }
    if (t.dtype != st::DType::F32 && t.dtype != st::DType::F16 && t.dtype != st::DType::BF16 &&
        t.dtype != st::DType::F64)
      fail("{}: tensor '{}' has dtype {}; weights must be F32, F16, BF16 or F64", file.string(),
           t.name, st::dtype_name(t.dtype));
    if (!seen.insert(name).second) fail("{}: tensor '{}' appears twice", file.string(), name);
    f.read_f32(t, model.param_data() + v->offset);
  }
  for (const auto& v : model.params())
    if (!seen.count(v.name)) fail("{}: tensor '{}' is missing", file.string(), v.name);
}

std::unique_ptr<GPT> load_model(const fs::path& dir) {
  GPTConfig cfg = load_model_config(dir);
  auto model = std::make_unique<GPT>(cfg);
  fs::path w = dir / "model.safetensors";
  if (!fs::exists(w)) fail("{} is missing", w.string());
  load_weights(*model, w);
  return model;
}

}  // namespace gpt
