#pragma once
// The CUDA op set of the shared graphs (gpt_graph.h, decode_graph.h). Only with GPT_HAVE_CUDA.
#ifdef GPT_HAVE_CUDA
#include "../../kernels/ops_cuda.h"

namespace gpt {

struct CudaOps {
  static constexpr auto* linear_forward = &cuda::linear_forward;
  static constexpr auto* linear_backward = &cuda::linear_backward;
  static constexpr auto* layernorm_forward = &cuda::layernorm_forward;
  static constexpr auto* layernorm_backward = &cuda::layernorm_backward;
  static constexpr auto* activation_forward = &cuda::activation_forward;
  static constexpr auto* activation_backward = &cuda::activation_backward;
  static constexpr auto* embedding_forward = &cuda::embedding_forward;
  static constexpr auto* embedding_backward = &cuda::embedding_backward;
  static constexpr auto* attention_forward = &cuda::attention_forward;
  static constexpr auto* attention_backward = &cuda::attention_backward;
  static constexpr auto* attention_fused_forward = &cuda::attention_fused_forward;
  static constexpr auto* attention_fused_backward = &cuda::attention_fused_backward;
  static constexpr auto* attention_kv_forward = &cuda::attention_kv_forward;
  static constexpr auto* short_conv_forward = &cuda::short_conv_forward;
  static constexpr auto* short_conv_backward = &cuda::short_conv_backward;
  static constexpr auto* short_conv_kv_forward = &cuda::short_conv_kv_forward;
  static constexpr auto* softmax_xent_forward = &cuda::softmax_xent_forward;
  static constexpr auto* softmax_xent_backward = &cuda::softmax_xent_backward;
  static constexpr auto* xent_chunk_forward = &cuda::xent_chunk_forward;
  static constexpr auto* xent_chunk_backward = &cuda::xent_chunk_backward;
  static constexpr auto* dropout = &cuda::dropout;
  static constexpr auto* add = &cuda::add;
  static void zero(float* p, int64_t n) { cuda::fill_zero(p, size_t(n) * sizeof(float)); }
  static void copy(float* dst, const float* src, int64_t n) { cuda::copy(dst, src, size_t(n) * sizeof(float)); }
};

}  // namespace gpt
#endif
