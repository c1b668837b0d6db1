#include "recall/evaluate.h"

#include <algorithm>

#include "core/error.h"

namespace gpt::recall {

Accuracy evaluate(GPT& model, const ExampleSet& ex, int batch) {
  const int L = ex.seq_len, V = model.config().vocab_size;
  check(L <= model.config().block_size, "examples of length {} are longer than the model's block_size {}", L,
        model.config().block_size);
  check(ex.vocab_size <= V, "the examples use a vocabulary of {} but the model has {}", ex.vocab_size, V);
  batch = int(std::max<int64_t>(1, std::min<int64_t>(batch, ex.n)));
  Accuracy a;
  a.pred.assign(ex.x.size(), -1);
  std::vector<int32_t> x(size_t(batch) * L);
  for (int64_t first = 0; first < ex.n; first += batch) {
    const int rows = int(std::min<int64_t>(batch, ex.n - first));
    for (int b = 0; b < batch; ++b)  // a short last batch repeats its first row
      std::copy(ex.xs(first + std::min(b, rows - 1)), ex.xs(first + std::min(b, rows - 1)) + L, x.data() + b * L);
    model.forward(x.data(), nullptr, batch, L, false);
    const float* lg = model.logits();
    for (int b = 0; b < rows; ++b)
      for (int t = 0; t < L; ++t) {
        const int64_t cell = (first + b) * L + t;
        if (ex.y[size_t(cell)] < 0) continue;
        const float* row = lg + (int64_t(b) * L + t) * V;
        const int32_t p = int32_t(std::max_element(row, row + V) - row);
        a.pred[size_t(cell)] = p;
        ++a.scored;
        a.correct += p == ex.y[size_t(cell)];
      }
  }
  return a;
}

Ambiguity analyze(const ExampleSet& ex, const Accuracy& acc) {
  Ambiguity r;
  const int L = ex.seq_len;
  for (int64_t e = 0; e < ex.n; ++e) {
    const int32_t* x = ex.xs(e);
    const int32_t* y = ex.ys(e);
    for (int t = 0; t < L; ++t) {
      if (y[t] < 0) continue;
      ++r.scored;
      bool amb = false;
      for (int p = 0; p < t && !amb; ++p) amb = x[p] == x[t] && x[p + 1] != y[t];
      const bool ok = acc.pred[size_t(e * L + t)] == y[t];
      r.ambiguous += amb;
      (amb ? r.correct_ambiguous : r.correct_clear) += ok;
    }
  }
  return r;
}

}  // namespace gpt::recall
