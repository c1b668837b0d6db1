#pragma once
// Shared by the fuzz targets: the input as a file that the real readers open by path, and
// the rule that a parser may only fail with gpt::Error (anything else escaping is a finding:
// the tools would print it as an internal error, or terminate on it).
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/error.h"

namespace fuzz {

// A memfd holding exactly the last input; readers open it through /proc, so each run costs
// no disk I/O and leaves nothing behind.
inline std::string as_file(const uint8_t* data, size_t size) {
  static int fd = memfd_create("gptkit-fuzz", 0);
  if (fd < 0 || ftruncate(fd, 0) != 0) std::abort();
  size_t off = 0;
  while (off < size) {
    ssize_t n = pwrite(fd, data + off, size - off, off_t(off));
    if (n <= 0) std::abort();
    off += size_t(n);
  }
  return "/proc/self/fd/" + std::to_string(fd);
}

inline std::string_view text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Runs f; gpt::Error (the documented way to reject input) is swallowed, anything else
// propagates and libFuzzer reports it as a crash.
template <class F>
void expect_error_only(F&& f) {
  try {
    f();
  } catch (const gpt::Error&) {
  }
}

}  // namespace fuzz
