#pragma once
// Speculative-decoding expectations (Leviathan et al. 2023, notation of the paper):
// alpha = per-token acceptance probability (assumed i.i.d.), gamma = draft tokens per target
// call, c = draft step time / target step time, c_hat = draft FLOPs / target FLOPs per token,
// v = time of the target's (gamma+1)-token verify pass / its 1-token step (1 when memory bound).
#include <cstdint>
#include <string>

namespace gpt::analysis {

// alpha in [0, 1] (1 is the limit: every draft accepted), gamma >= 1, c >= 0: else
// gpt::UsageError with the offending value.
void validate_spec(double alpha, int64_t gamma, double c);

// E[tokens per target call] = (1 - alpha^(gamma+1)) / (1 - alpha), counting the bonus
// token; gamma + 1 at alpha = 1.
double expected_tokens(double alpha, int64_t gamma);
// E[accepted draft tokens] = expected_tokens - 1.
double expected_accepted(double alpha, int64_t gamma);
// Walltime speedup = expected_tokens / (gamma * c + v).
double spec_speedup(double alpha, int64_t gamma, double c, double v = 1.0);
// Arithmetic-op inflation = (1 - alpha)(gamma c_hat + gamma + 1) / (1 - alpha^(gamma+1)).
double op_inflation(double alpha, int64_t gamma, double c_hat);

// What other tools print, for a fixed gamma: llama.cpp's accepted/drafted, vLLM V0's
// "system efficiency" (tokens / (gamma+1)); vLLM V1's mean acceptance length is expected_tokens.
double accept_rate(double alpha, int64_t gamma);
double efficiency(double alpha, int64_t gamma);

// Inverses (both measures rise monotonically with alpha; solved by bisection to 1e-12).
// Out-of-range inputs are a gpt::UsageError naming the valid range for this gamma.
double alpha_from_tokens_per_call(double tokens, int64_t gamma);
double alpha_from_accept_rate(double rate, int64_t gamma);

// The gamma in [1, max_gamma] with the highest speedup (the smallest on ties).
int64_t best_gamma(double alpha, double c, double v = 1.0, int64_t max_gamma = 32);

// Monte Carlo of the same model: each of gamma drafts is accepted with probability alpha
// until the first rejection, plus one target token. Mean tokens per call over `trials`.
double simulate_tokens_per_call(double alpha, int64_t gamma, int64_t trials, uint64_t seed);

}  // namespace gpt::analysis
