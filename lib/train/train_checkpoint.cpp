#include "train/train_checkpoint.h"

#include "core/error.h"
#include "core/fsutil.h"
#include "core/safetensors.h"
#include "model/checkpoint.h"

namespace fs = std::filesystem;

namespace gpt {

void save_training_checkpoint(const fs::path& dir, const GPT& model, AdamW& opt,
                              const TrainerState& st, const json* tokenizer) {
  write_dir_atomic(dir, [&](const fs::path& tmp) {
    write_model_files(tmp, model);
    const int64_t n = int64_t(opt.size());
    st::write(tmp / "optimizer.safetensors",
              {{"m", st::DType::F32, {n}, opt.m()}, {"v", st::DType::F32, {n}, opt.v()}},
              {{"adam_step", std::to_string(opt.steps())}});
    json tj = {{"format", "gptkit-trainer-1"}, {"step", st.step}, {"best_val_loss", st.best_val_loss},
               {"adam_step", opt.steps()}, {"world_size", st.world_size}, {"config", st.run_config}};
    write_file_atomic(tmp / "trainer.json", tj.dump(2) + "\n");
    if (tokenizer) write_file_atomic(tmp / "tokenizer.json", tokenizer->dump() + "\n");
  });
}

TrainerState load_training_checkpoint(const fs::path& dir, GPT& model, AdamW& opt) {
  fs::path tj_path = dir / "trainer.json";
  check(fs::exists(tj_path), "{} is missing: {} is not a resumable training checkpoint", tj_path.string(), dir.string());
  json tj = parse_json_file(tj_path.string());
  check(tj.is_object() && tj.contains("step") && tj["step"].is_number_integer() &&
            tj.contains("adam_step") && tj["adam_step"].is_number_integer(),
        "{} is corrupt (step/adam_step missing)", tj_path.string());
  load_weights(model, dir / "model.safetensors");
  st::File f(dir / "optimizer.safetensors");
  for (const char* name : {"m", "v"}) {
    const auto& t = f.get(name);
    check(t.dtype == st::DType::F32 && t.numel() == int64_t(opt.size()),
          "{}: optimizer tensor '{}' does not match the model ({} values expected)", f.path().string(), name, opt.size());
    f.read_f32(t, name[0] == 'm' ? opt.m() : opt.v());
  }
  opt.set_steps(tj["adam_step"].get<int64_t>());
  TrainerState st;
  st.step = tj["step"].get<int>();
  if (tj.contains("best_val_loss") && tj["best_val_loss"].is_number()) st.best_val_loss = tj["best_val_loss"];
  if (tj.contains("config")) st.run_config = tj["config"];
  if (tj.contains("world_size") && tj["world_size"].is_number_integer()) st.world_size = tj["world_size"];
  return st;
}

}  // namespace gpt
