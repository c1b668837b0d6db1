#pragma once
// Incremental UTF-8 decoding. Input arrives in chunks (files are streamed), so a code point
// may straddle two chunks; the decoder carries the partial sequence over and reports errors
// at the absolute byte offset where the bad sequence starts, which is what a user needs to
// find it in the file (e.g. `head -c OFFSET FILE | tail -c 16`).
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace gpt {

// Encodes one code point (which must be a valid scalar value) and appends it to out.
void append_utf8(std::string& out, char32_t cp);
std::string to_utf8(char32_t cp);
// "U+00E9", the form error messages use so invisible characters stay visible.
std::string code_point_name(char32_t cp);
bool is_scalar_value(char32_t cp);

class Utf8Decoder {
 public:
  // Calls emit(char32_t) for every complete code point in chunk. Throws gpt::Error
  // ("invalid UTF-8 at byte offset N: ...") on overlong forms, surrogates, values above
  // U+10FFFF, stray continuation bytes and truncated sequences.
  template <class F>
  void feed(std::string_view chunk, F&& emit);
  // Call at end of input: a sequence still open there is truncated.
  void finish() const;
  // Bytes consumed so far.
  int64_t offset() const { return offset_; }

 private:
  [[noreturn]] void invalid(int64_t at, unsigned char byte, const char* why) const;
  void start(unsigned char b);
  bool cont(unsigned char b);  // true when a code point is complete

  int64_t offset_ = 0;
  int64_t seq_start_ = 0;   // offset of the lead byte of the open sequence
  int need_ = 0;            // continuation bytes still expected
  char32_t cp_ = 0;
  char32_t min_ = 0;        // smallest value this length may encode (rejects overlong forms)
  unsigned char lead_ = 0;
};

template <class F>
void Utf8Decoder::feed(std::string_view chunk, F&& emit) {
  const auto* p = reinterpret_cast<const unsigned char*>(chunk.data());
  const size_t n = chunk.size();
  for (size_t i = 0; i < n; ++i, ++offset_) {
    unsigned char b = p[i];
    if (need_ == 0) {
      // Plain text is mostly ASCII; keep that path to one compare.
      if (b < 0x80) {
        emit(char32_t(b));
        continue;
      }
      start(b);
    } else if (cont(b)) {
      emit(cp_);
    }
  }
}

}  // namespace gpt
