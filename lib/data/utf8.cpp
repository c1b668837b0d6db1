#include "data/utf8.h"

#include <fmt/format.h>

namespace gpt {

bool is_scalar_value(char32_t cp) { return cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF); }

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

std::string to_utf8(char32_t cp) {
  std::string s;
  append_utf8(s, cp);
  return s;
}

std::string code_point_name(char32_t cp) { return fmt::format("U+{:04X}", uint32_t(cp)); }

void Utf8Decoder::invalid(int64_t at, unsigned char byte, const char* why) const {
  fail("invalid UTF-8 at byte offset {} (byte 0x{:02X}): {}", at, byte, why);
}

void Utf8Decoder::start(unsigned char b) {
  seq_start_ = offset_;
  lead_ = b;
  if (b >= 0xC2 && b <= 0xDF) {
    need_ = 1, cp_ = b & 0x1F, min_ = 0x80;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need_ = 2, cp_ = b & 0x0F, min_ = 0x800;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need_ = 3, cp_ = b & 0x07, min_ = 0x10000;
  } else if (b >= 0x80 && b <= 0xBF) {
    invalid(offset_, b, "a continuation byte without a lead byte");
  } else {
    // 0xC0/0xC1 can only start overlong forms; 0xF5.. would exceed U+10FFFF.
    invalid(offset_, b, "this byte never occurs in UTF-8");
  }
}

bool Utf8Decoder::cont(unsigned char b) {
  if ((b & 0xC0) != 0x80)
    fail("invalid UTF-8 at byte offset {} (byte 0x{:02X}): the character is cut short by byte 0x{:02X} at "
         "offset {}",
         seq_start_, lead_, b, offset_);
  cp_ = (cp_ << 6) | (b & 0x3F);
  if (--need_ > 0) return false;
  if (cp_ < min_) invalid(seq_start_, lead_, "an overlong encoding");
  if (cp_ >= 0xD800 && cp_ <= 0xDFFF) invalid(seq_start_, lead_, "an encoded UTF-16 surrogate");
  if (cp_ > 0x10FFFF) invalid(seq_start_, lead_, "a value above U+10FFFF");
  return true;
}

void Utf8Decoder::finish() const {
  if (need_ > 0) invalid(seq_start_, lead_, "the input ends in the middle of a character");
}

}  // namespace gpt
