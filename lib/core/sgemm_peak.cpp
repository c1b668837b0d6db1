#include "core/sgemm_peak.h"

#include <cblas.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/buffer.h"
#include "core/rng.h"
#include "core/timer.h"

namespace gpt {

double measure_sgemm_gflops(int n, int reps) {
  Buffer a(size_t(n) * n), b(size_t(n) * n), c(size_t(n) * n);
  Rng r(1);
  for (size_t i = 0; i < a.size(); ++i) { a[i] = r.uniformf() - 0.5f; b[i] = r.uniformf() - 0.5f; }
  double best = 1e30;
  for (int i = 0; i < reps + 1; ++i) {
    double t0 = now_s();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(), n,
                0.0f, c.data(), n);
    double t = now_s() - t0;
    if (i > 0) best = std::min(best, t);  // the first call warms up threads and caches
  }
  return 2.0 * n * double(n) * n / best / 1e9;
}

double measure_copy_gbps(size_t bytes, int reps) {
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  double best = 1e30;
  for (int i = 0; i < reps + 1; ++i) {
    double t0 = now_s();
    std::memcpy(dst.data(), src.data(), bytes);
    double t = now_s() - t0;
    if (i > 0) best = std::min(best, t);
  }
  return 2.0 * double(bytes) / best / 1e9;
}

}  // namespace gpt
