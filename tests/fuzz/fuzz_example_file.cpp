// Example files of the associative-recall task (read_examples): the header's counts must be
// checked against the file before anything is allocated or read.
#include "data/example_file.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::as_file(data, size);
  (void)gpt::is_example_file(path);
  fuzz::expect_error_only([&] {
    const gpt::ExampleSet ex = gpt::read_examples(path);
    const size_t cells = size_t(ex.n) * size_t(ex.seq_len);
    if (ex.x.size() != cells || ex.y.size() != cells || 1024 + 4 * cells != size) std::abort();
    for (size_t i = 0; i < cells; ++i)
      if (ex.x[i] < 0 || ex.x[i] >= ex.vocab_size || ex.y[i] < -1 || ex.y[i] >= ex.vocab_size) std::abort();
  });
  return 0;
}
