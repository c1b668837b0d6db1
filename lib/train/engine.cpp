#include "train/engine.h"

#include <omp.h>

#include "core/error.h"
#include "core/sgemm_peak.h"
#include "model/gpt_cuda.h"
#include "train/dist.h"

#ifdef GPT_HAVE_CUDA
#include "../../kernels/ops_cuda.h"
#endif

namespace gpt {
namespace {

class CpuEngine : public TrainEngine {
 public:
  CpuEngine(GPT& m, AdamW& o) : m_(m), o_(o) {}
  float forward(const int32_t* idx, const int32_t* targets, int B, int T, bool train, uint64_t seed) override {
    return m_.forward(idx, targets, B, T, train, seed);
  }
  void backward(float s) override { m_.backward(s); }
  void zero_grad() override { m_.zero_grad(); }
  int64_t loss_count() const override { return m_.loss_count(); }
  void argmax(int32_t* out) override { m_.argmax(out); }
  void allreduce_grads() override { dist::allreduce_sum(m_.grad_data(), m_.num_params()); }
  double clip_grad_norm(double max_norm) override { return gpt::clip_grad_norm(m_, max_norm); }
  void step(float lr) override {
    o_.step(m_, lr);
    // ZeRO-1: this rank updated only its block of the parameters; fetch the others'.
    if (o_.sharded()) dist::allgather_blocks(m_.param_data(), int64_t(m_.num_params()));
  }
  void sync_to_host() override {}
  double peak_flops() override { return measure_sgemm_gflops(1024, 2) * 1e9; }
  std::string describe() const override { return fmt::format("cpu, {} threads", omp_get_max_threads()); }

 private:
  GPT& m_;
  AdamW& o_;
};

class CudaEngine : public TrainEngine {
 public:
  CudaEngine(GPT& m, AdamW& o, bool fused_attention) : m_(m), o_(o), g_(m) {
    g_.set_fused_attention(fused_attention);
    g_.upload_moments(o.m(), o.v());
    g_.set_adam_steps(o.steps());
  }
  float forward(const int32_t* idx, const int32_t* targets, int B, int T, bool train, uint64_t seed) override {
    return g_.forward(idx, targets, B, T, train, seed);
  }
  void backward(float s) override { g_.backward(s); }
  void zero_grad() override { g_.zero_grad(); }
  int64_t loss_count() const override { return g_.loss_count(); }
  void argmax(int32_t* out) override { g_.argmax_host(out); }
  // Staged through the host buffer: NCCL, which would sum on the GPUs, is not wired in yet.
  void allreduce_grads() override {
    if (dist::world() == 1) return;
    g_.download_grads(m_.grad_data());
    dist::allreduce_sum(m_.grad_data(), m_.num_params());
    g_.upload_grads(m_.grad_data());
  }
  double clip_grad_norm(double max_norm) override { return g_.clip_grad_norm(max_norm); }
  void step(float lr) override { g_.adamw_step(o_.hparams(), lr); }
  void sync_to_host() override {
    g_.download_params(m_.param_data());
    g_.download_moments(o_.m(), o_.v());
    o_.set_steps(g_.adam_steps());
  }
  double peak_flops() override {
#ifdef GPT_HAVE_CUDA
    return cuda::measure_matmul_flops();
#else
    return 0;
#endif
  }
  std::string describe() const override {
#ifdef GPT_HAVE_CUDA
    const char* mm = cuda::bf16_matmuls() ? ", bf16 matmuls (fp32 accumulate)"
                     : cuda::tf32()       ? ", TF32 matmuls"
                                          : ", fp32 matmuls";
    return "cuda, " + cuda::device_name() + mm +
           (g_.fused_attention() ? ", fused attention" : "");
#else
    return "cuda";
#endif
  }

 private:
  GPT& m_;
  AdamW& o_;
  CudaGPT g_;
};

}  // namespace

std::unique_ptr<TrainEngine> make_engine(const std::string& device, GPT& model, AdamW& opt,
                                         bool fused_attention) {
  check(!fused_attention || device == "cuda",
        "fused_attention is a CUDA path (the CPU engine has one attention); set device to cuda or "
        "fused_attention to false");
  if (device == "cpu") return std::make_unique<CpuEngine>(model, opt);
  if (device == "cuda") return std::make_unique<CudaEngine>(model, opt, fused_attention);
  throw UsageError(fmt::format("unknown device '{}'; use cpu or cuda", device));
}

}  // namespace gpt
