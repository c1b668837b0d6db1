// A whole safetensors file opened by st::File (mmap, header checks), then every tensor read
// the ways the loaders read them. A read must stay inside the file (ASan sees the mapping's
// end) and return exactly numel values.
#include <vector>

#include "core/safetensors.h"
#include "fuzz_util.h"

using gpt::st::DType;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::as_file(data, size);
  fuzz::expect_error_only([&] {
    gpt::st::File f(path);
    for (const auto& t : f.tensors()) {
      // Duplicate names would make the index point at another entry; the parser rejects them.
      if (f.find(t.name) != &t) std::abort();
      volatile uint8_t sink = 0;
      for (std::byte b : f.bytes(t)) sink = sink ^ uint8_t(b);
      fuzz::expect_error_only([&] {
        std::vector<float> v(size_t(t.numel()));
        f.read_f32(t, v.data());
        if (f.f32(t.name).size() != size_t(t.numel())) std::abort();
        if (f.f64(t.name).size() != size_t(t.numel())) std::abort();
      });
      fuzz::expect_error_only([&] {
        if (f.i32(t.name).size() != size_t(t.numel())) std::abort();
      });
    }
    (void)f.metadata().size();
  });
  return 0;
}
