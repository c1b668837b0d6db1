#include "data/bpe_tokenizer.h"

#include <algorithm>
#include <array>
#include <queue>
#include <unordered_map>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/json_util.h"
#include "data/bpe_pretokenizer.h"
#include "data/utf8.h"

namespace fs = std::filesystem;

namespace gpt {

namespace {

struct ByteMap {
  std::array<char32_t, 256> to_cp{};
  ByteMap() {
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_cp[size_t(b)] = printable ? char32_t(b) : char32_t(256 + n++);
    }
  }
};
const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}

// Transparent hashing, so the cache is probed with a string_view without building a string.
struct SvHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

constexpr int32_t kMaxId = 1 << 24;
// Bounds the merge cache's memory on inputs with endless distinct words (random bytes).
constexpr size_t kMaxCacheWords = size_t(1) << 20;

// Decodes one vocabulary key (valid UTF-8, as nlohmann hands it over) into the bytes it
// spells; false when a character is not one of the 256 byte stand-ins (an added token such
// as "<|endoftext|>" spelled with others, which is then taken as its own UTF-8).
bool key_to_bytes(std::string_view key, std::string& out) {
  out.clear();
  bool ok = true;
  Utf8Decoder dec;
  dec.feed(key, [&](char32_t cp) {
    int b = unicode_to_byte(cp);
    if (b < 0) ok = false;
    else out.push_back(char(b));
  });
  return ok;
}

}  // namespace

char32_t byte_to_unicode(uint8_t b) { return byte_map().to_cp[b]; }

int unicode_to_byte(char32_t cp) {
  if (cp < 256) {
    const uint8_t b = uint8_t(cp);
    return byte_to_unicode(b) == cp ? int(b) : -1;
  }
  if (cp < 256 + 68) {
    // U+0100 + n stands for the n-th non-printable byte; search the short table.
    const auto& t = byte_map().to_cp;
    for (int b = 0; b < 256; ++b)
      if (t[size_t(b)] == cp) return b;
  }
  return -1;
}

struct BpeTokenizer::Impl {
  std::vector<std::string> bytes;     // id -> the bytes it decodes to
  std::vector<uint8_t> present;       // id -> whether the vocabulary defines it
  std::array<int32_t, 256> byte_id{};  // the single-byte tokens BPE starts from
  // (left id << 32 | right id) -> (rank << 32 | merged id)
  std::unordered_map<uint64_t, uint64_t> merges;
  int n_merges = 0;
  int32_t eot = -1;
  Gpt2PreTokenizer pre;
  mutable std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, SvHash, std::equal_to<>> cache;
  mutable std::vector<int32_t> cache_ids;

  void word(std::string_view w, std::vector<int32_t>& out) const;
  void bpe(std::string_view w, std::vector<int32_t>& out) const;
  void ordinary(std::string_view text, std::vector<int32_t>& out) const;
};

BpeTokenizer::BpeTokenizer() : impl_(std::make_unique<Impl>()) {}
BpeTokenizer::BpeTokenizer(BpeTokenizer&&) noexcept = default;
BpeTokenizer& BpeTokenizer::operator=(BpeTokenizer&&) noexcept = default;
BpeTokenizer::~BpeTokenizer() = default;

BpeTokenizer BpeTokenizer::from_strings(std::string_view vocab_json, std::string_view merges_txt,
                                        const std::string& vocab_name, const std::string& merges_name) {
  BpeTokenizer t;
  Impl& m = *t.impl_;
  json j = json::parse(vocab_json, nullptr, false);
  if (j.is_discarded()) {
    try {
      json unused = json::parse(vocab_json);
      (void)unused;
    } catch (const json::exception& e) {  // parse_error, and out_of_range for a number like 1E888
      fail("{} is not valid JSON ({}); it should map each token to its id, as GPT-2's vocab.json does", vocab_name,
           e.what());
    }
    fail("{} is not valid JSON", vocab_name);
  }
  check(j.is_object() && !j.empty(), "{} must be a non-empty JSON object mapping tokens to ids, as GPT-2's vocab.json",
        vocab_name);

  std::unordered_map<std::string, int32_t> by_key;
  by_key.reserve(j.size());
  std::string b;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const json& v = it.value();
    check(v.is_number_integer() && v.get<int64_t>() >= 0 && v.get<int64_t>() < kMaxId,
          "{}: token \"{}\" has id {}, expected an integer in 0..{}", vocab_name, it.key(), v.dump(), kMaxId - 1);
    const int32_t id = int32_t(v.get<int64_t>());
    if (size_t(id) >= m.bytes.size()) {
      m.bytes.resize(size_t(id) + 1);
      m.present.resize(size_t(id) + 1, 0);
    }
    check(!m.present[size_t(id)], "{}: id {} is given to two tokens (\"{}\" and another); ids must be unique",
          vocab_name, id, it.key());
    if (!key_to_bytes(it.key(), b)) b = it.key();
    m.bytes[size_t(id)] = b;
    m.present[size_t(id)] = 1;
    by_key.emplace(it.key(), id);
    if (it.key() == kEndOfText) m.eot = id;
  }
  for (int c = 0; c < 256; ++c) {
    std::string key;
    append_utf8(key, byte_to_unicode(uint8_t(c)));
    auto f = by_key.find(key);
    check(f != by_key.end(),
          "{} has no token for byte 0x{:02x} (spelled \"{}\"); a byte-level BPE vocabulary needs all 256 bytes, "
          "as GPT-2's vocab.json has",
          vocab_name, c, key);
    m.byte_id[size_t(c)] = f->second;
  }

  // merges.txt: an optional "#version" line, then "left right" per line, in rank order.
  m.merges.reserve(65536);
  size_t pos = 0;
  int line_no = 0;
  while (pos < merges_txt.size()) {
    size_t eol = merges_txt.find('\n', pos);
    if (eol == std::string_view::npos) eol = merges_txt.size();
    std::string_view line = merges_txt.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || (line_no == 1 && line.starts_with("#version"))) continue;
    const size_t sp = line.find(' ');
    check(sp != std::string_view::npos && sp > 0 && sp + 1 < line.size() && line.find(' ', sp + 1) == line.npos,
          "{} line {}: expected two tokens separated by one space, got \"{}\"", merges_name, line_no, line);
    const std::string left(line.substr(0, sp)), right(line.substr(sp + 1));
    const std::string merged = left + right;
    auto find = [&](const std::string& k, const char* what) {
      auto f = by_key.find(k);
      if (f == by_key.end())
        fail("{} line {}: the merge \"{}\" {} \"{}\", which is not in {}; the two files do not belong together "
             "(take vocab.json and merges.txt from the same model)",
             merges_name, line_no, line, what, k, vocab_name);
      return f->second;
    };
    const int32_t a = find(left, "has the part"), c = find(right, "has the part"), r = find(merged, "gives");
    const uint64_t key = uint64_t(uint32_t(a)) << 32 | uint32_t(c);
    const bool fresh = m.merges.emplace(key, uint64_t(uint32_t(m.n_merges)) << 32 | uint32_t(r)).second;
    check(fresh, "{} line {}: the merge \"{}\" is listed twice", merges_name, line_no, line);
    ++m.n_merges;
  }
  return t;
}

std::pair<fs::path, fs::path> BpeTokenizer::find_files(const fs::path& dir) {
  check(fs::is_directory(dir),
        "tokenizer directory {} does not exist; give the directory holding GPT-2's vocab.json and merges.txt "
        "(or encoder.json and vocab.bpe)",
        dir.string());
  fs::path v = dir / "vocab.json", mg = dir / "merges.txt";
  if (!fs::exists(v) && !fs::exists(mg)) {
    v = dir / "encoder.json";
    mg = dir / "vocab.bpe";
  }
  if (!fs::exists(v) || !fs::exists(mg))
    fail("{} needs vocab.json and merges.txt (Hugging Face names) or encoder.json and vocab.bpe (OpenAI names); "
         "{} is missing. Download them from the gpt2 model on the Hugging Face Hub",
         dir.string(), (fs::exists(v) ? mg : v).string());
  return {v, mg};
}

BpeTokenizer BpeTokenizer::load(const fs::path& dir) {
  const auto [v, mg] = find_files(dir);
  const std::string vt = read_file(v), mt = read_file(mg);
  return from_strings(vt, mt, v.string(), mg.string());
}

int BpeTokenizer::vocab_size() const { return int(impl_->bytes.size()); }
int BpeTokenizer::num_merges() const { return impl_->n_merges; }
int32_t BpeTokenizer::eot_id() const { return impl_->eot; }

const std::string& BpeTokenizer::token_bytes(int32_t id) const {
  check(id >= 0 && size_t(id) < impl_->bytes.size() && impl_->present[size_t(id)],
        "token id {} is not in the GPT-2 vocabulary (ids 0..{})", id, int(impl_->bytes.size()) - 1);
  return impl_->bytes[size_t(id)];
}

// Merges by rank with a heap over adjacent pairs, O(n log n) in the word length so a long
// word (a megabyte without spaces) stays fast. Equal to the reference's loop (take the
// lowest-ranked pair present, merge all its occurrences left to right, repeat): entries of
// one rank are taken together, in position order, before any pair they create.
void BpeTokenizer::Impl::bpe(std::string_view w, std::vector<int32_t>& out) const {
  const int n = int(w.size());
  const size_t len = w.size();
  std::vector<int32_t> sym(len), nxt(len), prv(len);
  for (int i = 0; i < n; ++i) {
    sym[size_t(i)] = byte_id[uint8_t(w[size_t(i)])];
    nxt[size_t(i)] = i + 1 < n ? i + 1 : -1;
    prv[size_t(i)] = i - 1;
  }
  struct Cand {
    uint32_t rank;
    int32_t pos, left, right, merged;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Cand, std::vector<Cand>, std::greater<>> heap;
  auto push = [&](int32_t p) {
    if (p < 0 || nxt[size_t(p)] < 0) return;
    const int32_t a = sym[size_t(p)], c = sym[size_t(nxt[size_t(p)])];
    auto f = merges.find(uint64_t(uint32_t(a)) << 32 | uint32_t(c));
    if (f != merges.end()) heap.push({uint32_t(f->second >> 32), p, a, c, int32_t(uint32_t(f->second))});
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  std::vector<Cand> batch;
  std::vector<int32_t> touched;
  while (!heap.empty()) {
    const uint32_t rank = heap.top().rank;
    batch.clear();
    while (!heap.empty() && heap.top().rank == rank) {
      batch.push_back(heap.top());
      heap.pop();
    }
    touched.clear();
    for (const Cand& c : batch) {
      const int32_t p = c.pos, q = nxt[size_t(p)];
      // Stale: p was absorbed (sym -1), or p or its neighbour changed since the push.
      if (sym[size_t(p)] != c.left || q < 0 || sym[size_t(q)] != c.right) continue;
      sym[size_t(p)] = c.merged;
      sym[size_t(q)] = -1;
      nxt[size_t(p)] = nxt[size_t(q)];
      if (nxt[size_t(q)] >= 0) prv[size_t(nxt[size_t(q)])] = p;
      touched.push_back(p);
    }
    for (int32_t p : touched) {
      if (sym[size_t(p)] < 0) continue;
      push(prv[size_t(p)]);
      push(p);
    }
  }
  for (int32_t i = 0; i >= 0 && i < n; i = nxt[size_t(i)]) out.push_back(sym[size_t(i)]);
}

void BpeTokenizer::Impl::word(std::string_view w, std::vector<int32_t>& out) const {
  if (w.size() == 1) {
    out.push_back(byte_id[uint8_t(w[0])]);
    return;
  }
  auto f = cache.find(w);
  if (f != cache.end()) {
    out.insert(out.end(), cache_ids.begin() + f->second.first,
               cache_ids.begin() + f->second.first + f->second.second);
    return;
  }
  const size_t start = out.size();
  bpe(w, out);
  if (cache.size() >= kMaxCacheWords) {
    cache.clear();
    cache_ids.clear();
  }
  cache.emplace(std::string(w), std::pair(uint32_t(cache_ids.size()), uint32_t(out.size() - start)));
  cache_ids.insert(cache_ids.end(), out.begin() + ptrdiff_t(start), out.end());
}

void BpeTokenizer::Impl::ordinary(std::string_view text, std::vector<int32_t>& out) const {
  size_t pos = 0;
  std::string_view piece;
  while (pre.next(text, pos, piece)) word(piece, out);
}

void BpeTokenizer::encode(std::string_view text, std::vector<int32_t>& out, bool allow_special) const {
  const Impl& m = *impl_;
  if (!allow_special || m.eot < 0) {
    m.ordinary(text, out);
    return;
  }
  const std::string_view eot(kEndOfText);
  size_t pos = 0;
  for (;;) {
    const size_t f = text.find(eot, pos);
    m.ordinary(text.substr(pos, f == text.npos ? text.npos : f - pos), out);
    if (f == text.npos) break;
    out.push_back(m.eot);
    pos = f + eot.size();
  }
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool allow_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 8);
  encode(text, out, allow_special);
  return out;
}

std::string BpeTokenizer::decode(std::span<const int32_t> ids) const {
  std::string s;
  for (int32_t id : ids) s += token_bytes(id);
  return s;
}

std::vector<int32_t> BpeTokenizer::bpe_uncached(std::string_view word) const {
  std::vector<int32_t> out;
  impl_->bpe(word, out);
  return out;
}

void BpeTokenizer::clear_cache() const {
  impl_->cache.clear();
  impl_->cache_ids.clear();
}
size_t BpeTokenizer::cache_size() const { return impl_->cache.size(); }

size_t BpeTokenizer::safe_split(std::string_view text) {
  auto space = [](unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
  for (size_t i = text.size(); i-- > 1;) {
    const unsigned char c = uint8_t(text[i]), p = uint8_t(text[i - 1]);
    if (space(c) && p < 0x80 && !space(p)) return i;
  }
  return 0;
}

}  // namespace gpt
