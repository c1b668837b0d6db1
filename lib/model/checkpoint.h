#pragma once
// Model checkpoints in Hugging Face GPT-2 form: model.safetensors (HF names, Conv1D [in,out]
// layouts) + config.json (GPT2Config fields plus a "gptkit" section).
#include <filesystem>
#include <memory>

#include "model/gpt.h"

namespace gpt {

// Writes model.safetensors and config.json into dir (an existing, usually temporary, dir).
void write_model_files(const std::filesystem::path& dir, const GPT& model);
// Atomically creates or replaces the checkpoint directory `dir` with the model files.
void save_model(const std::filesystem::path& dir, const GPT& model);

// Reads config.json from dir.
GPTConfig load_model_config(const std::filesystem::path& dir);
// Loads a checkpoint directory. Every tensor's name, dtype and shape is checked against the
// config: a missing, extra or misshapen tensor is an error that names it.
std::unique_ptr<GPT> load_model(const std::filesystem::path& dir);
// Loads weights from a safetensors file into an existing model of matching shape.
void load_weights(GPT& model, const std::filesystem::path& file);

}  // namespace gpt
