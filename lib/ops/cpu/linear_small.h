#pragma once
// y[M,OUT] = x[M,IN] @ W (+ y when accumulate) for 2 <= M <= 8 rows: the few-token forwards of
// inference (speculative verification, a draft catching up, small decode batches).
#include <cstdint>

namespace gpt::ops {

constexpr int kSmallRowsMax = 8;
// W is [IN,OUT], or [OUT,IN] when w_out_in. When accumulate, y already holds the bias.
void linear_small_rows(float* y, const float* x, const float* W, int M, int IN, int OUT, bool w_out_in,
                       bool accumulate);

}  // namespace gpt::ops
