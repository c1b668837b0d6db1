#include "data/bpe_pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.h"

namespace gpt {

struct Gpt2PreTokenizer::Impl {
  pcre2_code* code = nullptr;
  pcre2_match_data* md = nullptr;
  bool jit = false;
  ~Impl() {
    if (md) pcre2_match_data_free(md);
    if (code) pcre2_code_free(code);
  }
};

Gpt2PreTokenizer::Gpt2PreTokenizer() : impl_(std::make_unique<Impl>()) {
  int err = 0;
  PCRE2_SIZE err_off = 0;
  // UCP makes \s and the classes Unicode-aware, as in Python's `regex` and JavaScript's /u.
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kPattern), PCRE2_ZERO_TERMINATED,
                              PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &err, &err_off, nullptr);
  if (!impl_->code) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(err, msg, sizeof msg);
    fail("cannot compile the GPT-2 pre-tokeniser regex at offset {}: {}; the PCRE2 library needs Unicode support "
         "(Debian: libpcre2-8-0 >= 10.34)",
         size_t(err_off), reinterpret_cast<const char*>(msg));
  }
  impl_->jit = pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE) == 0;
  impl_->md = pcre2_match_data_create_from_pattern(impl_->code, nullptr);
  check(impl_->md != nullptr, "out of memory creating PCRE2 match data");
}

Gpt2PreTokenizer::~Gpt2PreTokenizer() = default;
Gpt2PreTokenizer::Gpt2PreTokenizer(Gpt2PreTokenizer&&) noexcept = default;
Gpt2PreTokenizer& Gpt2PreTokenizer::operator=(Gpt2PreTokenizer&&) noexcept = default;

bool Gpt2PreTokenizer::jit() const { return impl_->jit; }

bool Gpt2PreTokenizer::next(std::string_view text, size_t& pos, std::string_view& piece) const {
  if (pos >= text.size()) return false;
  int rc = pcre2_match(impl_->code, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), pos, 0, impl_->md,
                       nullptr);
  size_t start = text.size(), end = text.size();
  if (rc >= 0) {
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(impl_->md);
    start = ov[0];
    end = ov[1];
  } else if (rc != PCRE2_ERROR_NOMATCH) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(rc, msg, sizeof msg);
    fail("GPT-2 pre-tokeniser failed at byte offset {}: {}", pos, reinterpret_cast<const char*>(msg));
  }
  // Every valid character matches some alternative, so a gap before the match can only be
  // bytes that are not valid UTF-8 (which MATCH_INVALID_UTF never matches).
  if (start > pos) end = start;
  piece = text.substr(pos, end - pos);
  pos = end;
  return true;
}

}  // namespace gpt
