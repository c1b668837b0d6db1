#pragma once
// AdamW hyperparameters, apart from ops.h so nvcc (C++17) can include them.
namespace gpt::ops {
struct AdamWParams {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f, weight_decay = 0.1f;
};
}  // namespace gpt::ops
