#include "infer/cached_context.h"

#include <algorithm>

#include "core/error.h"

namespace gpt {

CachedContext::CachedContext(const GPT& model, int batch, int capacity, bool use_cache, const CudaGPT* gpu)
    : dec_(model, batch, capacity, gpu), use_cache_(use_cache), cached_(size_t(batch)) {}

const float* CachedContext::logits(const std::vector<std::vector<int32_t>>& seqs, int n_out) {
  const int B = dec_.batch(), bs = dec_.model().config().block_size;
  check(int(seqs.size()) == B, "expected {} sequences, got {}", B, seqs.size());
  const int S = int(seqs[0].size());
  for (const auto& s : seqs) check(int(s.size()) == S, "the sequences of a batch must have the same length");
  const int ws = std::max(0, S - bs);  // window [ws, S)
  check(n_out >= 1 && n_out <= S - ws, "asked for the logits of {} positions of a window of {}", n_out, S - ws);
  check(S - ws <= dec_.capacity(), "a window of {} tokens does not fit a KV cache of {}", S - ws, dec_.capacity());
  // Keep the longest cached prefix that still matches every row, short of the n_out positions.
  int keep = 0;
  if (use_cache_ && start_ == ws) {
    keep = std::min(dec_.length(), S - ws - n_out);
    for (int b = 0; b < B; ++b)
      for (int i = 0; i < keep; ++i)
        if (cached_[size_t(b)][size_t(i)] != seqs[size_t(b)][size_t(ws + i)]) { keep = i; break; }
  }
  if (keep == 0) {
    if (forwards_ > 0) ++rebuilds_;
    dec_.reset();
    start_ = ws;
  } else {
    dec_.truncate(keep);
  }
  const int n = S - ws - keep;
  toks_.resize(size_t(B) * size_t(n));
  for (int b = 0; b < B; ++b) {
    const auto& s = seqs[size_t(b)];
    std::copy(s.begin() + ws + keep, s.end(), toks_.begin() + int64_t(b) * n);
    cached_[size_t(b)].assign(s.begin() + ws, s.end());
  }
  ++forwards_;
  return dec_.append(toks_.data(), n, n_out);
}

}  // namespace gpt
