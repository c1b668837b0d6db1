#pragma once
// Associative-recall (AR) task generators. Every generator is a pure function of its
// parameters and seed, and writes fixed-length examples whose targets mark only the scored
// positions (y = -1 elsewhere), in the next-token convention: the target at position t is
// the token the model should predict after reading x[0..t].
#include <cstdint>
#include <string>

#include "core/json_util.h"
#include "data/example_file.h"

namespace gpt::recall {

// Zoology MQAR: keys from [1, V/2), values from [V/2, V), n pairs k1 v1 ... kn vn at
// positions 0..2n-1; then (L-2n)/2 two-token slots, n of them (drawn without replacement
// with probability ~ i^(power_a-1), i = 1..slots) hold one key each, every key once; the
// target at a query key's position is its value. Filler is token 0, or uniform random
// tokens in [0, V) (which may collide with keys and values).
struct MqarParams {
  int vocab = 8192, seq_len = 64, pairs = 4;
  double power_a = 0.01;
  bool random_filler = false;
};
void check_params(const MqarParams& p);  // clear errors for impossible settings
ExampleSet make_mqar(const MqarParams& p, int64_t count, uint64_t seed);

// The course's P1-Q1 language-modelling AR data: vocabulary of `vocab` tokens, the last
// being the copy prefix "=>"; the other vocab-1 tokens are the strings "0".."vocab-2" in
// lexicographic order, the first (vocab-1)/2 of them keys, the rest values. Each sequence
// draws a fresh key->value map (values with replacement), then `pairs` pairs with keys drawn
// with replacement, then "=>", a key that occurred, and its value: 2*pairs+3 tokens, of
// which the model reads all but the last. Train rows score every next token; test rows score
// only the recalled value (the last position). All sequences of both splits are distinct.
struct CourseArParams {
  int vocab = 20, pairs = 50;
};
void check_params(const CourseArParams& p);
struct Split { ExampleSet train, test; };
Split make_course_ar(const CourseArParams& p, int64_t n_train, int64_t n_test, uint64_t seed);
// Token names for the course vocabulary ("0", "1", "10", ..., "=>").
std::vector<std::string> course_ar_vocab(int vocab);

// The course's P1-Q2 hardcoding task: vocab 10 with keys 1..4 and values 5..9 (0 unused);
// shuffle keys and values, pair them, keep the first 2 pairs, repeat them 3 times in a
// shuffled order: 12 tokens. Scored: every key position whose key occurred before, with the
// following value as target.
ExampleSet make_course_toy(int64_t count, uint64_t seed);

// Named presets: "mqar-64" .. "mqar-512" are (L, n) = (64,4) (128,8) (256,16) (512,64) with
// V = 8192; "toy" is the course's hardcoding task; "course-ar" the course's LM data.
struct Preset {
  std::string name, task;  // task: mqar | toy | course-ar
  MqarParams mqar;
  CourseArParams ar;
};
Preset preset(const std::string& name);
std::string preset_names();

// A short description of a set's parameters, kept beside example files (assoc.json).
json describe(const Preset& p, int64_t n_train, int64_t n_test, uint64_t seed);

}  // namespace gpt::recall
