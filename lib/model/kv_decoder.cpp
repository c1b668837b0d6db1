#include "model/kv_decoder.h"

#include <algorithm>
#include <limits>

#include "core/error.h"
#include "core/profile.h"
#include "model/cpu_ops.h"
#include "model/cuda_ops.h"
#include "model/gpt_cuda.h"

namespace gpt {
namespace {

// Fresh cache and scratch hold NaN, not zeros: a position or activation read before it was
// written then shows up in every logit it touches, which the tests would catch. It costs one
// pass over memory per allocation, never per token.
void poison(Buffer& b) { std::fill(b.data(), b.data() + b.size(), std::numeric_limits<float>::quiet_NaN()); }

}  // namespace

#ifdef GPT_HAVE_CUDA
struct Decoder::Device {
  cuda::DeviceBuffer cache, scratch, tokens;
};
#else
struct Decoder::Device {};
#endif

Decoder::Decoder(const GPT& model, int batch, int capacity, const CudaGPT* gpu)
    : model_(model), gpu_(gpu), B_(batch), cap_(capacity) {
  const GPTConfig& c = model.config();
  check(batch >= 1, "decoder batch must be at least 1 (got {})", batch);
  check(capacity >= 1 && capacity <= c.block_size,
        "KV cache capacity must be in [1, block_size = {}] (got {})", c.block_size, capacity);
  layer_floats_ = int64_t(batch) * c.n_head * capacity * (c.n_embd / c.n_head);
  cache_floats_ = size_t(2 * layer_floats_ * c.n_layer);
  if (gpu_) {
#ifdef GPT_HAVE_CUDA
    dev_ = std::make_unique<Device>();
    dev_->cache.resize(cache_floats_);
    cuda::fill_nan(dev_->cache.data(), cache_floats_);
#endif
  } else {
    cache_.resize(cache_floats_);
    poison(cache_);
  }
}

Decoder::~Decoder() = default;

void Decoder::truncate(int len) {
  check(len >= 0 && len <= len_, "cannot truncate a KV cache of length {} to {}", len_, len);
  len_ = len;
}

void Decoder::ensure_scratch(int n, int n_logits) {
  if (n <= scratch_n_ && n_logits <= scratch_logits_) return;
  n = std::max(n, scratch_n_);
  n_logits = std::max(n_logits, scratch_logits_);
  const GPTConfig& c = model_.config();
  const int64_t att = gpu_ ?
#ifdef GPT_HAVE_CUDA
      cuda::attention_kv_workspace_floats(B_, n, c.n_head, cap_)
#else
      0
#endif
      : ops::attention_kv_scratch_floats(n, cap_);
  scratch_floats_ = size_t(layout_decode(c, B_, n, n_logits, att, nullptr, nullptr));
  float* base = nullptr;
  if (gpu_) {
#ifdef GPT_HAVE_CUDA
    dev_->scratch = cuda::DeviceBuffer();
    dev_->scratch.resize(scratch_floats_);
    cuda::fill_nan(dev_->scratch.data(), scratch_floats_);
    dev_->tokens.resize(size_t(B_) * size_t(n));
    base = dev_->scratch.data();
#endif
  } else {
    scratch_ = Buffer();
    scratch_.resize(scratch_floats_);
    poison(scratch_);
    base = scratch_.data();
  }
  layout_decode(c, B_, n, n_logits, att, base, &s_);
  scratch_n_ = n;
  scratch_logits_ = n_logits;
}

const float* Decoder::append(const int32_t* tokens, int n, int n_logits) {
  GPT_PROF("decoder_append");
  const GPTConfig& cfg = model_.config();
  const int V = cfg.vocab_size;
  check(n >= 1, "append needs at least one token (got {})", n);
  check(n_logits >= 1 && n_logits <= n, "append: n_logits must be in [1, {}] (got {})", n, n_logits);
  check(len_ + n <= cap_,
        "the KV cache holds {} positions and has {}; appending {} overflows it (truncate or reset first)",
        cap_, len_, n);
  const int64_t N = int64_t(B_) * n;
  for (int64_t i = 0; i < N; ++i)
    check(tokens[i] >= 0 && tokens[i] < V, "token id {} is outside the model's vocabulary [0, {})", tokens[i], V);
  ensure_scratch(n, n_logits);
  const int len = len_;
  len_ += n;
  if (!gpu_) {
    decode_graph<CpuOps>(cfg, model_.weights(), s_, cache_.data(), layer_floats_, tokens, B_, n, n_logits, len, cap_);
    return s_.logits;
  }
#ifdef GPT_HAVE_CUDA
  int32_t* dtok = reinterpret_cast<int32_t*>(dev_->tokens.data());
  cuda::to_device(dtok, tokens, size_t(N) * sizeof(int32_t));
  decode_graph<CudaOps>(cfg, gpu_->device_weights(), s_, dev_->cache.data(), layer_floats_, dtok, B_, n,
                        n_logits, len, cap_);
  host_logits_.resize(size_t(B_) * size_t(n_logits) * size_t(V));
  cuda::to_host(host_logits_.data(), s_.logits, host_logits_.size() * sizeof(float));
  return host_logits_.data();
#else
  fail("this gptkit was built without CUDA");
#endif
}

}  // namespace gpt
