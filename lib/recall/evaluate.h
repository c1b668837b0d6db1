#pragma once
// Scoring a model on examples through the generic forward: argmax of the logits at every
// scored position (ties go to the lowest id, as torch.argmax), and the cases a recall rule
// cannot decide.
#include <cstdint>
#include <vector>

#include "data/example_file.h"
#include "model/gpt.h"

namespace gpt::recall {

struct Accuracy {
  int64_t scored = 0, correct = 0;
  double acc() const { return scored ? double(correct) / double(scored) : 0.0; }
  std::vector<int32_t> pred;  // [n, seq_len]: the argmax at scored positions, -1 elsewhere
};

// Runs model.forward over the examples in batches of `batch` rows (no targets, eval mode).
Accuracy evaluate(GPT& model, const ExampleSet& ex, int batch = 8);

// A scored position t (query token k, target v) is ambiguous when k also occurs at some
// p < t with x[p+1] != v (p+1 <= t): "the token after an earlier k" then names two tokens.
// With random filler this happens when a filler token equals a key before its query.
struct Ambiguity {
  int64_t scored = 0, ambiguous = 0, correct_clear = 0, correct_ambiguous = 0;
  double clear_acc() const { return scored - ambiguous ? double(correct_clear) / double(scored - ambiguous) : 1.0; }
};
Ambiguity analyze(const ExampleSet& ex, const Accuracy& acc);

}  // namespace gpt::recall
