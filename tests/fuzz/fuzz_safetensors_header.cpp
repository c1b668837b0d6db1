// st::parse_header on any header text. Input: 8 bytes (little-endian) giving the size of the
// data section the header claims to describe, then the header JSON. Every tensor the parser
// accepts must lie inside the data and have exactly the bytes its dtype and shape need.
#include <cstring>

#include "core/safetensors.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 8) return 0;
  uint64_t data_size = 0;
  std::memcpy(&data_size, data, 8);
  const std::string_view header = fuzz::text(data + 8, size - 8);
  fuzz::expect_error_only([&] {
    std::map<std::string, std::string> meta;
    const auto tensors = gpt::st::parse_header(header, data_size, &meta);
    for (const auto& t : tensors) {
      if (t.begin > t.end || t.end > data_size) std::abort();
      const uint64_t esize = gpt::st::dtype_size(t.dtype);
      if (esize == 0) std::abort();
      uint64_t numel = 1;
      for (int64_t d : t.shape) {
        if (d < 0) std::abort();
        numel *= uint64_t(d);
      }
      if (uint64_t(t.numel()) != numel || numel * esize != t.end - t.begin) std::abort();
    }
  });
  return 0;
}
