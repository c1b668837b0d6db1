#include "recall/tasks.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "core/error.h"
#include "core/rng.h"

namespace gpt::recall {

namespace {

// Independent streams per split, so the test split does not shift when n_train changes.
Rng split_rng(uint64_t seed, uint64_t split) { return Rng(splitmix64(seed ^ splitmix64(split + 0x61737363))); }

template <class T>
void shuffle(std::vector<T>& v, Rng& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng.below(i)]);
}

// k distinct indices from [0, m) drawn with the given weights, without replacement
// (sequentially, renormalising), as numpy's choice(replace=False, p=w).
std::vector<int> weighted_distinct(std::vector<double> w, int k, Rng& rng) {
  std::vector<int> out;
  for (int d = 0; d < k; ++d) {
    const double total = std::accumulate(w.begin(), w.end(), 0.0);
    double u = rng.uniform() * total;
    int pick = -1;
    for (int i = 0; i < int(w.size()); ++i) {
      if (w[size_t(i)] <= 0) continue;
      pick = i;
      if (u < w[size_t(i)]) break;
      u -= w[size_t(i)];
    }
    out.push_back(pick);
    w[size_t(pick)] = 0;
  }
  return out;
}

ExampleSet empty_set(int vocab, int len, int64_t n) {
  ExampleSet ex;
  ex.vocab_size = vocab;
  ex.seq_len = len;
  ex.n = n;
  ex.x.assign(size_t(n * len), 0);
  ex.y.assign(size_t(n * len), -1);
  return ex;
}

}  // namespace

void check_params(const MqarParams& p) {
  check(p.vocab >= 4, "vocab {} is too small for MQAR: keys come from [1, V/2) and values from [V/2, V), so V >= 4",
        p.vocab);
  check(p.vocab <= 65535, "vocab {} is too large: example files hold uint16 tokens (V <= 65535)", p.vocab);
  check(p.pairs >= 1, "pairs must be at least 1, got {}", p.pairs);
  const int keys = p.vocab / 2 - 1, values = p.vocab - p.vocab / 2;
  check(p.pairs <= keys,
        "{} pairs need {} distinct keys, but vocab {} has only {} (keys come from [1, {})); use fewer pairs or a "
        "larger vocab", p.pairs, p.pairs, p.vocab, keys, p.vocab / 2);
  check(p.pairs <= values, "{} pairs need {} distinct values, but vocab {} has only {}", p.pairs, p.pairs, p.vocab,
        values);
  check(p.seq_len % 2 == 0, "seq_len must be even (queries sit in two-token slots), got {}", p.seq_len);
  check(p.seq_len >= 4 * p.pairs,
        "seq_len {} is too short for {} pairs: the context takes 2n = {} tokens and the n queries need n two-token "
        "slots after it, so seq_len >= 4n = {}", p.seq_len, p.pairs, 2 * p.pairs, 4 * p.pairs);
  check(p.power_a > 0 && p.power_a <= 1, "power_a must be in (0, 1], got {}", p.power_a);
}

ExampleSet make_mqar(const MqarParams& p, int64_t count, uint64_t seed) {
  check_params(p);
  check(count >= 1, "the number of examples must be at least 1, got {}", count);
  const int V = p.vocab, L = p.seq_len, n = p.pairs, half = V / 2, slots = (L - 2 * n) / 2;
  ExampleSet ex = empty_set(V, L, count);
  Rng rng = split_rng(seed, 0);
  std::vector<double> w(static_cast<size_t>(slots));
  for (int i = 0; i < slots; ++i) w[size_t(i)] = p.power_a * std::pow(double(i + 1), p.power_a - 1.0);
  std::vector<int> keys(static_cast<size_t>(half - 1)), values(static_cast<size_t>(V - half));
  for (int64_t e = 0; e < count; ++e) {
    // Partial Fisher-Yates: the first n entries are a uniform draw without replacement.
    std::iota(keys.begin(), keys.end(), 1);
    std::iota(values.begin(), values.end(), half);
    for (int i = 0; i < n; ++i) {
      std::swap(keys[size_t(i)], keys[size_t(i) + rng.below(keys.size() - size_t(i))]);
      std::swap(values[size_t(i)], values[size_t(i) + rng.below(values.size() - size_t(i))]);
    }
    int32_t* x = ex.x.data() + e * L;
    int32_t* y = ex.y.data() + e * L;
    for (int i = 0; i < n; ++i) {
      x[2 * i] = keys[size_t(i)];
      x[2 * i + 1] = values[size_t(i)];
    }
    const std::vector<int> at = weighted_distinct(w, n, rng);
    for (int i = 0; i < n; ++i) {  // key i goes to slot at[i]
      const int pos = 2 * n + 2 * at[size_t(i)];
      x[pos] = keys[size_t(i)];
      y[pos] = values[size_t(i)];
    }
    if (p.random_filler)
      for (int t = 0; t < L; ++t)
        if (x[t] == 0) x[t] = int32_t(rng.below(uint64_t(V)));
  }
  return ex;
}

void check_params(const CourseArParams& p) {
  check(p.vocab >= 3, "vocab {} is too small for the course AR task: it needs at least one key, one value and the "
        "'=>' token", p.vocab);
  check(p.vocab <= 65535, "vocab {} is too large for uint16 example files", p.vocab);
  check(p.pairs >= 1, "pairs must be at least 1, got {}", p.pairs);
}

std::vector<std::string> course_ar_vocab(int vocab) {
  std::vector<std::string> v;
  for (int i = 0; i < vocab - 1; ++i) v.push_back(std::to_string(i));
  std::sort(v.begin(), v.end());  // lexicographic, as the course's vocabulary
  v.push_back("=>");
  return v;
}

Split make_course_ar(const CourseArParams& p, int64_t n_train, int64_t n_test, uint64_t seed) {
  check_params(p);
  check(n_train >= 1 && n_test >= 1, "train and test need at least one example each (got {} and {})", n_train, n_test);
  const int nk = (p.vocab - 1) / 2, nv = p.vocab - 1 - nk, arrow = p.vocab - 1;
  const int len = 2 * p.pairs + 3;
  // The number of distinct sequences is astronomically large for the course sizes; refuse
  // only when it is plainly too small to draw the requested distinct sequences.
  const double log_distinct = p.pairs * std::log(double(nk)) + std::log(double(nv));
  check(log_distinct > std::log(double(n_train + n_test)) + 1,
        "vocab {} with {} pairs has too few distinct sequences for {} train + {} test examples; use more pairs",
        p.vocab, p.pairs, n_train, n_test);
  Split s{empty_set(p.vocab, len - 1, n_train), empty_set(p.vocab, len - 1, n_test)};
  Rng rng = split_rng(seed, 2);
  std::set<std::vector<int32_t>> seen;
  std::vector<int32_t> seq(static_cast<size_t>(len)), map(static_cast<size_t>(nk));
  for (int64_t e = 0; e < n_train + n_test;) {
    for (auto& v : map) v = nk + int32_t(rng.below(uint64_t(nv)));
    for (int i = 0; i < p.pairs; ++i) {
      const int32_t k = int32_t(rng.below(uint64_t(nk)));
      seq[size_t(2 * i)] = k;
      seq[size_t(2 * i + 1)] = map[size_t(k)];
    }
    const int32_t q = seq[size_t(2 * rng.below(uint64_t(p.pairs)))];
    seq[size_t(len - 3)] = arrow;
    seq[size_t(len - 2)] = q;
    seq[size_t(len - 1)] = map[size_t(q)];
    if (!seen.insert(seq).second) continue;  // a repeat: draw again
    const bool train = e < n_train;
    ExampleSet& ex = train ? s.train : s.test;
    const int64_t row = train ? e : e - n_train;
    int32_t* x = ex.x.data() + row * (len - 1);
    int32_t* y = ex.y.data() + row * (len - 1);
    for (int t = 0; t < len - 1; ++t) {
      x[t] = seq[size_t(t)];
      if (train || t == len - 2) y[t] = seq[size_t(t + 1)];
    }
    ++e;
  }
  return s;
}

ExampleSet make_course_toy(int64_t count, uint64_t seed) {
  check(count >= 1, "the number of examples must be at least 1, got {}", count);
  ExampleSet ex = empty_set(10, 12, count);
  Rng rng = split_rng(seed, 3);
  for (int64_t e = 0; e < count; ++e) {
    std::vector<int32_t> keys = {1, 2, 3, 4}, values = {5, 6, 7, 8, 9};
    shuffle(keys, rng);
    shuffle(values, rng);
    std::vector<int> order = {0, 0, 0, 1, 1, 1};  // the first 2 pairs, 3 times each
    shuffle(order, rng);
    int32_t* x = ex.x.data() + e * 12;
    int32_t* y = ex.y.data() + e * 12;
    bool seen[2] = {false, false};
    for (int i = 0; i < 6; ++i) {
      const int k = order[size_t(i)];
      x[2 * i] = keys[size_t(k)];
      x[2 * i + 1] = values[size_t(k)];
      if (seen[k]) y[2 * i] = values[size_t(k)];
      seen[k] = true;
    }
  }
  return ex;
}

Preset preset(const std::string& name) {
  Preset p;
  p.name = name;
  const std::pair<const char*, std::pair<int, int>> mq[] = {
      {"mqar-64", {64, 4}}, {"mqar-128", {128, 8}}, {"mqar-256", {256, 16}}, {"mqar-512", {512, 64}}};
  for (const auto& [n, ln] : mq)
    if (name == n) {
      p.task = "mqar";
      p.mqar.seq_len = ln.first;
      p.mqar.pairs = ln.second;
      return p;
    }
  if (name == "toy" || name == "course-ar") {
    p.task = name;
    return p;
  }
  throw UsageError(fmt::format("unknown preset '{}'; choose one of {}", name, preset_names()));
}

std::string preset_names() { return "toy, course-ar, mqar-64, mqar-128, mqar-256, mqar-512"; }

json describe(const Preset& p, int64_t n_train, int64_t n_test, uint64_t seed) {
  json j = {{"task", p.task}, {"preset", p.name}, {"train_examples", n_train}, {"test_examples", n_test},
            {"seed", seed}};
  if (p.task == "mqar")
    j.update({{"vocab_size", p.mqar.vocab}, {"seq_len", p.mqar.seq_len}, {"pairs", p.mqar.pairs},
              {"power_a", p.mqar.power_a}, {"filler", p.mqar.random_filler ? "random" : "zero"}});
  else if (p.task == "course-ar")
    j.update({{"vocab_size", p.ar.vocab}, {"pairs", p.ar.pairs}, {"seq_len", 2 * p.ar.pairs + 2},
              {"vocab", course_ar_vocab(p.ar.vocab)}});
  else
    j.update({{"vocab_size", 10}, {"seq_len", 12}, {"pairs", 2}});
  return j;
}

}  // namespace gpt::recall
