// Hardware JSON files of gpt-intensity (--hardware FILE). Accepted peaks and bandwidth must
// be finite and positive: every roofline number divides by them.
#include <cmath>

#include "analysis/hardware.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  gpt::json j = gpt::json::parse(fuzz::text(data, size), nullptr, false);
  if (j.is_discarded()) return 0;
  fuzz::expect_error_only([&] {
    const auto h = gpt::analysis::Hardware::from_json(j, "hw.json");
    if (!(h.bandwidth > 0) || !std::isfinite(h.bandwidth) || !std::isfinite(h.memory_bytes)) std::abort();
    for (const auto& [t, v] : h.peak_flops)
      if (!(v > 0) || !std::isfinite(v) || !std::isfinite(h.ridge(t))) std::abort();
    (void)h.dtype_list();
    const auto again = gpt::analysis::Hardware::from_json(h.to_json(), "again");
    if (again.peak_flops.size() != h.peak_flops.size()) std::abort();
  });
  return 0;
}
