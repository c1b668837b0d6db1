#pragma once
// Model ops on fp32 host memory. The CPU versions in ops/cpu are the reference
// implementations; every faster path is tested against them. Shapes are row-major.
// Conventions: "dx +=" means the op accumulates into dx; other outputs are overwritten.
#include <cstdint>

#include "model/config.h"
#include "ops/adamw_params.h"

namespace gpt::ops {

// y[N,OUT] = x[N,IN] @ W + b. W is [IN,OUT] (Hugging Face Conv1D layout), or [OUT,IN] when
// w_out_in (nn.Linear / a tied embedding used as the LM head). b may be null.
void linear_forward(float* y, const float* x, const float* W, const float* b, int64_t N, int IN,
                    int OUT, bool w_out_in = false);
// dx = dy @ W^T (overwritten; dx may be null), dW += x^T @ dy, db += sum_rows(dy) (db may be null).
void linear_backward(float* dx, float* dW, float* db, const float* dy, const float* x,
                     const float* W, int64_t N, int IN, int OUT, bool w_out_in = false);

// y = (x - mean) * rstd * w + b per row of C; saves mean and rstd per row. b may be null.
void layernorm_forward(float* y, float* mean, float* rstd, const float* x, const float* w,
                       const float* b, int64_t N, int C, float eps);
// dx += ..., dw += ..., db += ... (db may be null).
void layernorm_backward(float* dx, float* dw, float* db, const float* dy, const float* x,
                        const float* w, const float* mean, const float* rstd, int64_t N, int C);

void activation_forward(float* y, const float* x, int64_t n, Activation a);
// dx = dy * act'(x) (overwrites; dx may alias dy).
void activation_backward(float* dx, const float* dy, const float* x, int64_t n, Activation a);

// y[B,T,C] = wte[idx] + wpe[pos0 + t]. Token ids must already be checked against V.
void embedding_forward(float* y, const int32_t* idx, const float* wte, const float* wpe, int B,
                       int T, int C, int pos0 = 0);
// dwte += scatter(dy), dwpe += sum over batch. Deterministic for any thread count.
void embedding_backward(float* dwte, float* dwpe, const float* dy, const int32_t* idx, int B,
                        int T, int C);

// Causal multi-head self-attention over packed qkv[B,T,3C] (q, k, v; heads contiguous in each).
// out[B,T,C]; att[B,NH,T,T] keeps the softmax probabilities (zeros above the diagonal) for
// backward. Attention dropout with probability p is keyed by seed. scratch: attention_scratch().
void attention_forward(float* out, float* att, const float* qkv, int B, int T, int C, int NH,
                       float p, uint64_t seed, float* scratch);
// dqkv = d(out)/d(qkv) (overwritten).
void attention_backward(float* dqkv, const float* dout, const float* qkv, const float* att, int B,
                        int T, int C, int NH, float p, uint64_t seed, float* scratch);
// Floats of scratch the attention ops need for T (per thread; covers all threads).
int64_t attention_scratch_floats(int T);

// Causal attention of n new positions against a KV cache, for inference. qkv[B,n,3C] holds the
// new rows; their k and v are first written into kcache/vcache [B,NH,cap,head_dim] at
// positions len..len+n-1, then new position i attends to cached positions [0, len+i].
// out[B,n,C]. scratch: attention_kv_scratch_floats(n, cap).
void attention_kv_forward(float* out, float* kcache, float* vcache, const float* qkv, int B, int n,
                          int C, int NH, int cap, int len, float* scratch);
int64_t attention_kv_scratch_floats(int n, int cap);

// Causal depthwise convolution along time over x[B,T,C] (the model's BLC layout), width K:
// y[b,t,c] = bias[c] + sum_k w[c,k] x[b,t+k-(K-1),c], with x = 0 before t = 0. w [C,K] fp32;
// bias may be null. The depthwise-conv op (ops/conv1d.h) does the work.
void short_conv_forward(float* y, const float* x, const float* w, const float* bias, int B, int T,
                        int C, int K);
// dx, dw [C,K] and dbias [C] are overwritten, not accumulated; dbias and bias are both null
// or both set.
void short_conv_backward(float* dx, float* dw, float* dbias, const float* dy, const float* x,
                         const float* w, const float* bias, int B, int T, int C, int K);
// The convolution for n new positions per row at len..len+n-1, for inference: x[B,n,C] is
// first written into hist [B,cap,C] (every input so far), then y[B,n,C] is read off it.
void short_conv_kv_forward(float* y, float* hist, const float* x, const float* w, const float* bias,
                           int B, int n, int C, int K, int cap, int len);

// Per-row softmax cross-entropy. Rows whose target is -1 are ignored (loss 0).
// Returns the number of counted rows; losses[N] gets the per-row loss.
int64_t softmax_xent_forward(float* losses, const float* logits, const int32_t* targets, int64_t N,
                             int V);
// dlogits = (softmax(logits) - onehot(target)) * scale for counted rows, 0 for ignored ones.
void softmax_xent_backward(float* dlogits, const float* logits, const int32_t* targets, int64_t N,
                           int V, float scale);

// The same loss over the vocabulary in column chunks, so that only [N, vc] logits exist at a
// time: logits holds columns [v0, v0+vc) of each row. stats [N,4] carries each row's running
// max, sum of exp(logit - max), target logit and argmax (a float; exact below 2^24) from chunk
// to chunk; v0 == 0 starts them. The last chunk (v0 + vc == V) writes losses (0 for ignored
// rows) and returns the number of counted rows; earlier chunks return 0. A row with no finite
// logit has argmax -1 (a max over the row would say 0).
int64_t xent_chunk_forward(float* losses, float* stats, const float* logits,
                           const int32_t* targets, int64_t N, int v0, int vc, int V);
// dlogits = (softmax - onehot) * scale over columns [v0, v0+vc), from the finished stats; 0 for
// ignored rows. dlogits may alias logits.
void xent_chunk_backward(float* dlogits, const float* logits, const float* stats,
                         const int32_t* targets, int64_t N, int v0, int vc, float scale);
// Argmax of each row from finished stats (the chunked counterpart of a max over the logits).
void xent_chunk_argmax(int32_t* out, const float* stats, int64_t N);
// Argmax of each of N rows of V logits (the first of equal maxima), the whole-row counterpart.
void argmax_rows(int32_t* out, const float* logits, int64_t N, int V);

// Inverted dropout: y = x * keep / (1 - p), keep = hash_uniform(seed, i) >= p. y may alias x.
void dropout(float* y, const float* x, int64_t n, float p, uint64_t seed);

// y = a + b (y may alias a).
void add(float* y, const float* a, const float* b, int64_t n);

// sqrt(sum g^2) accumulated in double.
double l2_norm(const float* g, int64_t n);
void scale(float* x, int64_t n, float s);

// One AdamW step (torch.optim.AdamW semantics, decoupled decay) on n values; step counts from 1.
void adamw_step(float* p, const float* g, float* m, float* v, int64_t n, const AdamWParams& h,
                int64_t step, bool decay);

}  // namespace gpt::ops
