#pragma once
// gpt::Error is the one exception library code throws. Its message says what was wrong
// and what to do; tools print it as "error: <message>" and exit 1.
#include <stdexcept>
#include <string>
#include <fmt/format.h>

namespace gpt {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A usage error: the user typed something the tool cannot accept (exit code 2).
struct UsageError : Error {
  using Error::Error;
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

template <class... Args>
void check(bool ok, fmt::format_string<Args...> f, Args&&... args) {
  if (!ok) throw Error(fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace gpt
