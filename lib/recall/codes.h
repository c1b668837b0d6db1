#pragma once
// Feature codes for the hand-built induction model: how a position or a token is written
// into the residual stream. One-hot codes are exact but cost one dimension per item; the
// compact codes keep the same guarantees (a strict, known score gap) in far fewer dimensions,
// which is what makes V = 8192, L = 512 practical.
#include <string>
#include <vector>

namespace gpt::recall {

struct Code {
  std::string kind;        // "onehot", "fourier" or "rs"
  int items = 0, dim = 0;  // rows, columns of m
  std::vector<float> m;    // [items, dim]: the code of item a is row a
  // Tokens: the largest dot product of two different rows (rows have unit norm).
  // Positions: self = |p_i|^2 and gap = |p_i|^2 - max_{j != i} p_i . p_j.
  double coherence = 0, self = 1, gap = 1;
  const float* row(int a) const { return m.data() + size_t(a) * size_t(dim); }
};

// One-hot rows: dim = items, coherence 0.
Code onehot_code(int items);

// Reed-Solomon token code: token a's base-q digits are the coefficients of a polynomial of
// degree <= d over GF(q); it is evaluated at r points and each value one-hot encoded in a
// block of q, scaled by 1/sqrt(r). Two different polynomials agree on at most d points, so
// two different tokens have dot product <= d/r: a proven coherence bound, no randomness.
// Picks the (d, q, r) with the fewest dimensions r*q and d/r <= max_coherence.
Code rs_code(int items, double max_coherence);

// Fourier position code with b = ceil(log2 L) frequencies pi/2^m: p_i = (cos, sin)(pi i / 2^m).
// p_i . p_j = sum_m cos(pi (i-j) / 2^m) is b at i = j and at most b-2 for 0 < |i-j| < 2^b
// (the frequency 2^s with i-j = 2^s * odd contributes -1), so the gap is 2 in 2b dims.
Code fourier_code(int positions);

// The linear map S [dim, dim] (row-vector convention, q = p S) with p_i S = p_{i-1}: a shift
// for one-hot codes (p_0 S = 0), a rotation by -pi/2^m per frequency for the Fourier code.
std::vector<float> shift_back(const Code& pos);

}  // namespace gpt::recall
