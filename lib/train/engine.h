#pragma once
// What the training loop asks of a device: forward, backward, clip, AdamW, and a way to bring
// the state home for a checkpoint. The host GPT and AdamW are always the checkpointed state;
// the CUDA engine mirrors them on the GPU and copies back before each save.
#include <memory>
#include <string>

#include "model/gpt.h"
#include "train/optimizer.h"

namespace gpt {

class TrainEngine {
 public:
  virtual ~TrainEngine() = default;
  virtual float forward(const int32_t* idx, const int32_t* targets, int B, int T, bool train,
                        uint64_t dropout_seed) = 0;
  virtual void backward(float loss_scale) = 0;
  virtual void zero_grad() = 0;
  virtual int64_t loss_count() const = 0;
  virtual void argmax(int32_t* out) = 0;  // GPT::argmax of the last forward, before backward
  // Sums the gradients over the ranks of a data-parallel run (train/dist.h); one rank: nothing.
  virtual void allreduce_grads() = 0;
  virtual double clip_grad_norm(double max_norm) = 0;
  virtual void step(float lr) = 0;
  virtual void sync_to_host() = 0;  // the host model and optimizer now hold the device state
  virtual double peak_flops() = 0;  // the measured matmul rate MFU is reported against
  virtual std::string describe() const = 0;
};

// device: "cpu" or "cuda". model and opt must outlive the engine; for cuda they are uploaded
// now (after any checkpoint was loaded into them). fused_attention: cuda only
// (CudaGPT::set_fused_attention).
std::unique_ptr<TrainEngine> make_engine(const std::string& device, GPT& model, AdamW& opt,
                                         bool fused_attention = false);

}  // namespace gpt
