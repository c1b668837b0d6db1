#pragma once
// The CPU op set of the shared graphs (gpt_graph.h, decode_graph.h).
#include <cstring>

#include "ops/ops.h"

namespace gpt {

struct CpuOps {
  static constexpr auto* linear_forward = &ops::linear_forward;
  static constexpr auto* linear_backward = &ops::linear_backward;
  static constexpr auto* layernorm_forward = &ops::layernorm_forward;
  static constexpr auto* layernorm_backward = &ops::layernorm_backward;
  static constexpr auto* activation_forward = &ops::activation_forward;
  static constexpr auto* activation_backward = &ops::activation_backward;
  static constexpr auto* embedding_forward = &ops::embedding_forward;
  static constexpr auto* embedding_backward = &ops::embedding_backward;
  static constexpr auto* attention_forward = &ops::attention_forward;
  static constexpr auto* attention_backward = &ops::attention_backward;
  static constexpr auto* attention_kv_forward = &ops::attention_kv_forward;
  static constexpr auto* short_conv_forward = &ops::short_conv_forward;
  static constexpr auto* short_conv_backward = &ops::short_conv_backward;
  static constexpr auto* short_conv_kv_forward = &ops::short_conv_kv_forward;
  static constexpr auto* softmax_xent_forward = &ops::softmax_xent_forward;
  static constexpr auto* softmax_xent_backward = &ops::softmax_xent_backward;
  static constexpr auto* xent_chunk_forward = &ops::xent_chunk_forward;
  static constexpr auto* xent_chunk_backward = &ops::xent_chunk_backward;
  static constexpr auto* dropout = &ops::dropout;
  static constexpr auto* add = &ops::add;
  static void zero(float* p, int64_t n) { std::memset(p, 0, size_t(n) * sizeof(float)); }
  static void copy(float* dst, const float* src, int64_t n) { std::memcpy(dst, src, size_t(n) * sizeof(float)); }
};

}  // namespace gpt
