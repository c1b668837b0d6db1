#include "model/gpt_cuda.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "core/error.h"
#include "ops/ops.h"

#ifdef GPT_HAVE_CUDA
#include "model/cuda_ops.h"

namespace gpt {
static_assert(HasFusedAttention<CudaOps>, "the CUDA op set must carry the fused attention pair");
namespace {
// Device copies of the ids of the last forward (int32 in float-sized slots of one buffer).
struct DeviceIds {
  cuda::DeviceBuffer buf;
  int32_t* idx = nullptr;
  int32_t* targets = nullptr;
  void ensure(int64_t n) {
    if (int64_t(buf.size()) >= 2 * n) return;
    buf.resize(size_t(2 * n));
    idx = reinterpret_cast<int32_t*>(buf.data());
    targets = idx + n;
  }
};
}  // namespace

struct CudaGPT::Impl {
  GPTConfig cfg;
  std::vector<ParamView> views;
  size_t n = 0;
  cuda::DeviceBuffer params, grads, m, v, acts;
  ParamPtrs w{}, g{};
  Acts a{};
  int B = 0, T = 0, chunk = 0;  // what the activations are laid out for
  int loss_chunk = 0;
  bool fused = false;
  DeviceIds ids;
  std::vector<float> losses, logits;
  // State of the last forward, needed by backward.
  int cur_B = 0, cur_T = 0;
  bool train = false, have_targets = false;
  bool after_backward = false;  // whole logits have become their gradient
  uint64_t seed = 0;
  int64_t count = 0, adam_t = 0;
};

CudaGPT::CudaGPT(const GPT& model, bool training) : d_(std::make_unique<Impl>()) {
  std::string why;
  check(cuda::available(&why), "--device cuda: {}; use --device cpu", why);
  Impl& d = *d_;
  d.cfg = model.config();
  d.views = model.params();
  d.n = model.num_params();
  d.loss_chunk = model.loss_chunk();
  d.params.resize(d.n);
  d.w = model.bind(d.params.data());
  if (training) {
    d.grads.resize(d.n);
    d.m.resize(d.n);
    d.v.resize(d.n);
    d.g = model.bind(d.grads.data());
  }
  upload_params(model.param_data());
}

CudaGPT::~CudaGPT() = default;

const GPTConfig& CudaGPT::config() const { return d_->cfg; }
size_t CudaGPT::num_params() const { return d_->n; }
int64_t CudaGPT::loss_count() const { return d_->count; }
int64_t CudaGPT::adam_steps() const { return d_->adam_t; }
void CudaGPT::set_adam_steps(int64_t t) { d_->adam_t = t; }

const ParamPtrs& CudaGPT::device_weights() const { return d_->w; }

void CudaGPT::set_fused_attention(bool on) {
  const GPTConfig& c = d_->cfg;
  check(!on || cuda::attention_fused_supports(c.n_embd, c.n_head),
        "fused_attention: the fused kernels take head sizes up to 128, and this model's is {}; "
        "set fused_attention=false", c.n_head > 0 ? c.n_embd / c.n_head : 0);
  d_->fused = on;
}
bool CudaGPT::fused_attention() const { return d_->fused; }

float CudaGPT::forward(const int32_t* idx, const int32_t* targets, int B, int T, bool train,
                       uint64_t dropout_seed) {
  Impl& d = *d_;
  check_batch(d.cfg, idx, targets, B, T);
  const int64_t N = int64_t(B) * T;
  const int chunk = targets ? effective_loss_chunk(d.loss_chunk, d.cfg.vocab_size) : 0;
  if (B != d.B || T != d.T || chunk != d.chunk || d.fused != d.a.fused_attention) {
    const int64_t att_ws = d.fused ? cuda::attention_fused_workspace_floats(B, T, d.cfg.n_head)
                                   : cuda::attention_workspace_floats(B, T, d.cfg.n_embd, d.cfg.n_head);
    const int64_t ws = std::max(att_ws, conv_scratch_floats(d.cfg));
    const int64_t total =
        layout_acts(d.cfg, B, T, ws, /*dlogits_in_logits=*/true, chunk, d.fused, nullptr, nullptr);
    d.acts = cuda::DeviceBuffer();  // free before allocating the new size
    d.acts.resize(size_t(total));
    layout_acts(d.cfg, B, T, ws, true, chunk, d.fused, d.acts.data(), &d.a);
    d.B = B;
    d.T = T;
    d.chunk = chunk;
  }
  d.ids.ensure(N);
  cuda::to_device(d.ids.idx, idx, size_t(N) * sizeof(int32_t));
  d.have_targets = targets != nullptr;
  if (targets) cuda::to_device(d.ids.targets, targets, size_t(N) * sizeof(int32_t));
  d.cur_B = B;
  d.cur_T = T;
  d.train = train;
  d.seed = dropout_seed;
  d.logits.clear();
  d.after_backward = false;
  const float p = train ? d.cfg.dropout : 0.0f;
  forward_graph<CudaOps>(d.cfg, d.w, d.a, d.ids.idx, B, T, p, dropout_seed);
  d.count = 0;
  if (!targets) return std::numeric_limits<float>::quiet_NaN();
  d.count = loss_graph<CudaOps>(d.cfg, d.w, d.a, d.ids.targets, N);
  if (d.count == 0) return std::numeric_limits<float>::quiet_NaN();
  // Summed on the host in double, as the CPU engine does.
  d.losses.resize(size_t(N));
  cuda::to_host(d.losses.data(), d.a.losses, size_t(N) * sizeof(float));
  double sum = 0.0;
  for (float l : d.losses) sum += l;
  return float(sum / double(d.count));
}

const float* CudaGPT::logits_host() {
  Impl& d = *d_;
  check(d.cur_B > 0, "logits_host: no forward pass yet");
  check(d.a.loss_chunk == 0, "the logits of a forward with targets are not kept when the loss is chunked "
        "(train.loss_chunk); use argmax_host()");
  check(!d.after_backward, "logits_host: backward has turned the logits into their gradient; call it "
        "before backward");
  const size_t n = size_t(d.cur_B) * size_t(d.cur_T) * size_t(d.cfg.vocab_size);
  if (d.logits.size() != n) {
    d.logits.resize(n);
    cuda::to_host(d.logits.data(), d.a.logits, n * sizeof(float));
  }
  return d.logits.data();
}

void CudaGPT::argmax_host(int32_t* out) {
  Impl& d = *d_;
  check(d.cur_B > 0, "argmax_host: no forward pass yet");
  const int64_t N = int64_t(d.cur_B) * d.cur_T;
  if (d.a.loss_chunk > 0) {
    std::vector<float> stats(size_t(4 * N));
    cuda::to_host(stats.data(), d.a.xent_stats, stats.size() * sizeof(float));
    return ops::xent_chunk_argmax(out, stats.data(), N);
  }
  ops::argmax_rows(out, logits_host(), N, d.cfg.vocab_size);
}

void CudaGPT::backward(float loss_scale) {
  Impl& d = *d_;
  check(d.have_targets, "backward needs a forward pass with targets");
  check(d.grads.size() == d.n, "this CudaGPT was made for inference (training = false)");
  const float p = d.train ? d.cfg.dropout : 0.0f;
  const float scale = d.count > 0 ? loss_scale / float(d.count) : 0.0f;
  d.logits.clear();  // the logits become their gradient
  d.after_backward = true;
  backward_graph<CudaOps>(d.cfg, d.w, d.g, d.a, d.ids.idx, d.ids.targets, d.cur_B, d.cur_T, p,
                          d.seed, scale);
}

void CudaGPT::zero_grad() { d_->grads.zero(); }

double CudaGPT::clip_grad_norm(double max_norm) {
  Impl& d = *d_;
  const double norm = cuda::l2_norm(d.grads.data(), int64_t(d.n));
  if (max_norm > 0.0) {
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) cuda::scale(d.grads.data(), int64_t(d.n), float(coef));
  }
  return norm;
}

void CudaGPT::adamw_step(const ops::AdamWParams& hp, float lr) {
  Impl& d = *d_;
  ++d.adam_t;
  ops::AdamWParams h = hp;
  h.lr = lr;
  for (const auto& v : d.views)
    cuda::adamw_step(d.params.data() + v.offset, d.grads.data() + v.offset, d.m.data() + v.offset,
                     d.v.data() + v.offset, int64_t(v.numel), h, d.adam_t, v.decay);
}

void CudaGPT::upload_params(const float* host) { cuda::to_device(d_->params.data(), host, d_->n * sizeof(float)); }
void CudaGPT::download_params(float* host) const { cuda::to_host(host, d_->params.data(), d_->n * sizeof(float)); }
void CudaGPT::download_grads(float* host) const { cuda::to_host(host, d_->grads.data(), d_->n * sizeof(float)); }
void CudaGPT::upload_grads(const float* host) { cuda::to_device(d_->grads.data(), host, d_->n * sizeof(float)); }
void CudaGPT::upload_moments(const float* m, const float* v) {
  cuda::to_device(d_->m.data(), m, d_->n * sizeof(float));
  cuda::to_device(d_->v.data(), v, d_->n * sizeof(float));
}
void CudaGPT::download_moments(float* m, float* v) const {
  cuda::to_host(m, d_->m.data(), d_->n * sizeof(float));
  cuda::to_host(v, d_->v.data(), d_->n * sizeof(float));
}
size_t CudaGPT::device_bytes() const {
  const Impl& d = *d_;
  return (d.params.size() + d.grads.size() + d.m.size() + d.v.size() + d.acts.size() + d.ids.buf.size()) *
             sizeof(float) +
         cuda::bf16_scratch_bytes();
}

}  // namespace gpt

#else  // built without CUDA: the type exists so tools compile, and says how to get it.

namespace gpt {
struct CudaGPT::Impl {};
CudaGPT::CudaGPT(const GPT&, bool) {
  fail("this gptkit was built without CUDA; rebuild with -DGPT_CUDA=ON on a machine with nvcc "
       "(see README), or use --device cpu");
}
CudaGPT::~CudaGPT() = default;
const GPTConfig& CudaGPT::config() const { fail("no CUDA"); }
size_t CudaGPT::num_params() const { return 0; }
float CudaGPT::forward(const int32_t*, const int32_t*, int, int, bool, uint64_t) { fail("no CUDA"); }
void CudaGPT::backward(float) { fail("no CUDA"); }
void CudaGPT::zero_grad() {}
int64_t CudaGPT::loss_count() const { return 0; }
const float* CudaGPT::logits_host() { fail("no CUDA"); }
void CudaGPT::argmax_host(int32_t*) { fail("no CUDA"); }
void CudaGPT::set_fused_attention(bool) { fail("no CUDA"); }
bool CudaGPT::fused_attention() const { return false; }
double CudaGPT::clip_grad_norm(double) { fail("no CUDA"); }
void CudaGPT::adamw_step(const ops::AdamWParams&, float) { fail("no CUDA"); }
int64_t CudaGPT::adam_steps() const { return 0; }
void CudaGPT::set_adam_steps(int64_t) {}
void CudaGPT::upload_params(const float*) { fail("no CUDA"); }
void CudaGPT::download_params(float*) const { fail("no CUDA"); }
void CudaGPT::download_grads(float*) const { fail("no CUDA"); }
void CudaGPT::upload_grads(const float*) { fail("no CUDA"); }
void CudaGPT::upload_moments(const float*, const float*) { fail("no CUDA"); }
void CudaGPT::download_moments(float*, float*) const { fail("no CUDA"); }
size_t CudaGPT::device_bytes() const { return 0; }
const ParamPtrs& CudaGPT::device_weights() const { fail("no CUDA"); }
}  // namespace gpt

#endif
