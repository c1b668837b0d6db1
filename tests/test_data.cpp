// Data layer: UTF-8 decoding, the char tokenizer, token files (llm.c shards and headerless
// nanoGPT files, including damaged ones), batch sampling, meta.json and gpt-prepare's core.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/rng.h"
#include "data/char_tokenizer.h"
#include "data/dataset.h"
#include "data/meta.h"
#include "data/prepare.h"
#include "data/token_file.h"
#include "data/utf8.h"
#include "test_util.h"

using namespace gpt;
namespace fs = std::filesystem;

namespace {

std::string raw_shard(int32_t magic, int32_t version, int32_t count, size_t n_tokens) {
  std::string s(1024 + 2 * n_tokens, '\0');
  int32_t h[3] = {magic, version, count};
  std::memcpy(s.data(), h, sizeof h);
  return s;
}

// The message of the gpt::Error that f throws ("" if none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::vector<char32_t> decode_all(std::string_view s, size_t chunk) {
  std::vector<char32_t> out;
  Utf8Decoder d;
  for (size_t i = 0; i < s.size(); i += chunk) d.feed(s.substr(i, chunk), [&](char32_t c) { out.push_back(c); });
  d.finish();
  return out;
}

const std::string kMixed = "Hé 中 \xF0\x9F\x98\x80!\n";  // 1, 2, 3 and 4-byte characters

}  // namespace

TEST_SUITE("data") {

TEST_CASE("data: char tokenizer round-trips multi-byte UTF-8") {
  CharTokenizer tok({U'\n', U' ', U'!', U'H', U'é', U'中', U'\U0001F600'});
  CHECK(tok.vocab_size() == 7);
  auto ids = tok.encode(kMixed);
  CHECK(ids == std::vector<int32_t>{3, 4, 1, 5, 1, 6, 2, 0});
  CHECK(tok.decode(ids) == kMixed);
  CHECK(tok.decode_one(6) == "\xF0\x9F\x98\x80");
  CHECK(tok.id_of(U'x') == -1);

  json j = tok.to_json();
  CHECK(j["type"] == "char");
  CHECK(j["vocab"][5] == "中");
  CHECK(CharTokenizer::from_json(json::parse(j.dump())) == tok);

  std::string e = error_of([&] { tok.encode("H\xC3\xA9x"); });
  CHECK(e.find("'x'") != std::string::npos);
  CHECK(e.find("U+0078") != std::string::npos);
  CHECK(e.find("byte offset 3") != std::string::npos);
  CHECK(error_of([&] { tok.decode(std::vector<int32_t>{1, 7}); }).find("token id 7 is out of range") !=
        std::string::npos);
  CHECK(error_of([&] { tok.decode_one(-1); }).find("out of range") != std::string::npos);
  CHECK(error_of([&] { tok.encode("H\xFF"); }).find("byte offset 1") != std::string::npos);
}

TEST_CASE("data: char tokenizer rejects bad vocabularies") {
  CHECK(error_of([] { CharTokenizer({U'a', U'b', U'a'}); }).find("twice") != std::string::npos);
  CHECK(error_of([] { CharTokenizer({U'\U0001F600', U'\U0001F600'}); }).find("twice") != std::string::npos);
  CHECK(error_of([] { CharTokenizer({char32_t(0xD800)}); }).find("U+D800") != std::string::npos);
  CHECK(error_of([] { CharTokenizer::from_json(json{{"type", "char"}, {"vocab", {"a", "bc"}}}); })
            .find("entry 1 must be exactly one character") != std::string::npos);
  CHECK(error_of([] { CharTokenizer::from_json(json{{"type", "bpe"}, {"vocab", {"a"}}}); }).find("\"char\"") !=
        std::string::npos);
}

TEST_CASE("data: utf8 decoding is the same for any chunking") {
  const std::vector<char32_t> want = {U'H', U'é', U' ', U'中', U' ', U'\U0001F600', U'!', U'\n'};
  for (size_t chunk : {1, 2, 3, 5, 100}) CHECK(decode_all(kMixed, chunk) == want);
  std::string back;
  for (char32_t c : want) append_utf8(back, c);
  CHECK(back == kMixed);
}

TEST_CASE("data: invalid utf8 is reported at its byte offset") {
  struct Bad {
    std::string bytes;
    int64_t offset;
    const char* why;
  };
  const std::vector<Bad> cases = {
      {"abc\x80", 3, "continuation byte without a lead"},
      {"ab\xC0\x80", 2, "never occurs"},                  // overlong NUL
      {"a\xE0\x80\x80", 1, "overlong"},                   // overlong 3-byte
      {"abcd\xED\xA0\x80", 4, "surrogate"},               // U+D800
      {"\xF4\x90\x80\x80", 0, "above U+10FFFF"},
      {"ok\xF5\x80\x80\x80", 2, "never occurs"},
      {"xy\xE4\xB8", 2, "ends in the middle"},            // truncated at end of input
      {"xyz\xE4\xB8z", 3, "cut short"},                   // truncated by an ASCII byte
  };
  for (const auto& c : cases) {
    CAPTURE(c.bytes);
    for (size_t chunk : {1, 2, 64}) {
      std::string e = error_of([&] { decode_all(c.bytes, chunk); });
      CHECK(e.find("invalid UTF-8 at byte offset " + std::to_string(c.offset) + " ") != std::string::npos);
      CHECK(e.find(c.why) != std::string::npos);
    }
  }
  // A bad continuation arriving in a later chunk than its lead byte: the offset is absolute.
  std::string big(5000, 'a');
  big += "\xE4\xB8";
  big += "a";
  for (size_t chunk : {4096, 5001}) {
    CAPTURE(chunk);
    std::string e = error_of([&] { decode_all(big, chunk); });
    CHECK(e.find("byte offset 5000 ") != std::string::npos);
  }
}

TEST_CASE("data: shard write and read round trip") {
  fs::path d = test::scratch_dir("data", "shard");
  std::vector<uint16_t> toks = {0, 1, 65535, 42, 7, 7, 300};
  write_token_shard(d / "a.bin", toks);
  CHECK(fs::file_size(d / "a.bin") == 1024 + 2 * toks.size());
  for (const auto& e : fs::directory_iterator(d)) CHECK(e.path().filename() == "a.bin");  // no temporaries left
  TokenFile f(d / "a.bin");
  CHECK(f.has_header());
  CHECK(f.size() == int64_t(toks.size()));
  CHECK(f.path() == d / "a.bin");
  for (size_t i = 0; i < toks.size(); ++i) CHECK(f[int64_t(i)] == toks[i]);
  CHECK(std::equal(toks.begin(), toks.end(), f.data()));
  CHECK(f.max_token() == 65535);
  CHECK(f.max_token() == 65535);

  TokenFile moved(std::move(f));
  CHECK(moved.size() == int64_t(toks.size()));
  CHECK(moved[2] == 65535);

  // Rewriting replaces the file whole.
  write_token_shard(d / "a.bin", std::vector<uint16_t>{5});
  CHECK(TokenFile(d / "a.bin").size() == 1);
  CHECK(error_of([&] { write_token_shard(d / "e.bin", {}); }).find("at least one token") != std::string::npos);
  CHECK(!fs::exists(d / "e.bin"));

  // A shard abandoned half-way (an error mid-prepare) leaves neither the file nor a temporary.
  {
    ShardWriter w(d / "half.bin", 10);
    w.append(std::vector<uint16_t>(4, 1));
    CHECK(error_of([&] { w.commit(); }).find("4 tokens written but 10 announced") != std::string::npos);
    CHECK(error_of([&] { w.append(std::vector<uint16_t>(7, 1)); }).find("more tokens") != std::string::npos);
  }
  CHECK(!fs::exists(d / "half.bin"));
  size_t n_files = 0;
  for (const auto& e : fs::directory_iterator(d)) n_files += e.path().filename() != "a.bin";
  CHECK(n_files == 0);
  fs::remove_all(d);
}

TEST_CASE("data: corrupt or missing token files give clear errors") {
  fs::path d = test::scratch_dir("data", "corrupt");
  auto err = [&](const std::string& name, const std::string& bytes) {
    test::write_bytes(d / name, bytes);
    return error_of([&] { TokenFile f(d / name); });
  };
  CHECK(err("version.bin", raw_shard(kShardMagic, 2, 3, 3)).find("version 2") != std::string::npos);
  CHECK(err("more.bin", raw_shard(kShardMagic, 1, 10, 3)).find("header says 10 tokens") != std::string::npos);
  CHECK(err("more.bin", raw_shard(kShardMagic, 1, 10, 3)).find("truncated") != std::string::npos);
  CHECK(err("fewer.bin", raw_shard(kShardMagic, 1, 2, 3)).find("header says 2 tokens") != std::string::npos);
  CHECK(err("zero.bin", raw_shard(kShardMagic, 1, 0, 0)).find("no tokens") != std::string::npos);
  CHECK(err("neg.bin", raw_shard(kShardMagic, 1, -5, 0)).find("no tokens") != std::string::npos);
  CHECK(err("header.bin", raw_shard(kShardMagic, 1, 3, 3).substr(0, 600)).find("shorter than the 1024-byte header") !=
        std::string::npos);
  CHECK(err("odd.bin", raw_shard(kShardMagic, 1, 3, 3) + "x").find("odd size") != std::string::npos);
  CHECK(err("empty.bin", "").find("is empty") != std::string::npos);
  CHECK(error_of([&] { TokenFile f(d / "nope.bin"); }).find("does not exist") != std::string::npos);
  CHECK(error_of([&] { TokenFile f(d); }).find("directory") != std::string::npos);
  CHECK(error_of([&] { open_token_dataset(d / "nope.bin"); }).find("does not exist") != std::string::npos);
  fs::remove_all(d);
}

TEST_CASE("data: headerless nanoGPT uint16 files are read") {
  fs::path d = test::scratch_dir("data", "nanogpt");
  std::vector<uint16_t> toks = {10, 20, 30, 40, 50};
  test::write_bytes(d / "train.bin", std::string(reinterpret_cast<const char*>(toks.data()), toks.size() * 2));
  TokenFile f(d / "train.bin");
  CHECK(!f.has_header());
  CHECK(f.size() == 5);
  CHECK(f[4] == 50);
  CHECK(f.max_token() == 50);
  // A 2-byte file is one token, not a truncated header.
  test::write_bytes(d / "one.bin", std::string("\x07\x00", 2));
  CHECK(TokenFile(d / "one.bin").size() == 1);
  auto ds = open_token_dataset(d / "train.bin");
  CHECK(ds->describe().find("headerless") != std::string::npos);
  fs::remove_all(d);
}

TEST_CASE("data: batches are deterministic in the seed and shifted by one") {
  fs::path d = test::scratch_dir("data", "batch");
  std::vector<uint16_t> toks(1000);
  for (size_t i = 0; i < toks.size(); ++i) toks[i] = uint16_t(i);  // token = position, so x reveals the offset
  write_token_shard(d / "t.bin", toks);
  auto ds = open_token_dataset(d / "t.bin");
  CHECK(ds->num_tokens() == 1000);
  CHECK(ds->max_token_id() == 999);
  CHECK(ds->describe().find("llm.c shard") != std::string::npos);

  const int B = 4, T = 16;
  std::vector<int32_t> x1(B * T), y1(B * T), x2(B * T), y2(B * T), x3(B * T), y3(B * T);
  ds->batch(123, B, T, x1.data(), y1.data());
  ds->batch(999, B, T, x3.data(), y3.data());  // an intervening call must not matter
  ds->batch(123, B, T, x2.data(), y2.data());
  CHECK(x1 == x2);
  CHECK(y1 == y2);
  CHECK(x1 != x3);

  Rng rng(123);
  for (int b = 0; b < B; ++b) {
    const int64_t start = int64_t(rng.below(uint64_t(1000 - T)));  // the documented offset rule
    for (int t = 0; t < T; ++t) {
      CHECK(x1[size_t(b * T + t)] == start + t);
      CHECK(y1[size_t(b * T + t)] == x1[size_t(b * T + t)] + 1);
    }
  }
  fs::remove_all(d);
}

TEST_CASE("data: windows reach the last token and never run past it") {
  fs::path d = test::scratch_dir("data", "window");
  const int T = 8;
  std::vector<uint16_t> toks(T + 1);
  for (size_t i = 0; i < toks.size(); ++i) toks[i] = uint16_t(100 + i);
  write_token_shard(d / "exact.bin", toks);
  auto ds = open_token_dataset(d / "exact.bin");
  ds->check_block_size(T);
  std::vector<int32_t> x(4 * T), y(4 * T);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    ds->batch(seed, 3, T, x.data(), y.data());
    for (int b = 0; b < 3; ++b) {
      CHECK(x[size_t(b * T)] == 100);           // the only possible window
      CHECK(y[size_t(b * T + T - 1)] == 100 + T);  // ends at the last token
    }
  }

  // With n = T + 3 the starts are 0..2, and all of them occur.
  toks.resize(T + 3);
  for (size_t i = 0; i < toks.size(); ++i) toks[i] = uint16_t(i);
  write_token_shard(d / "three.bin", toks);
  auto ds3 = open_token_dataset(d / "three.bin");
  std::set<int32_t> starts;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    ds3->batch(seed, 4, T, x.data(), y.data());
    for (int b = 0; b < 4; ++b) {
      starts.insert(x[size_t(b * T)]);
      CHECK(y[size_t(b * T + T - 1)] <= T + 2);
    }
  }
  CHECK(starts == std::set<int32_t>{0, 1, 2});
  fs::remove_all(d);
}

TEST_CASE("data: data shorter than block_size+1 is an error") {
  fs::path d = test::scratch_dir("data", "short");
  write_token_shard(d / "s.bin", std::vector<uint16_t>(8, 1));
  auto ds = open_token_dataset(d / "s.bin");
  ds->check_block_size(7);
  std::string e = error_of([&] { ds->check_block_size(8); });
  CHECK(e.find("has 8 tokens, too few for block_size 8") != std::string::npos);
  CHECK(e.find("block_size+1 = 9") != std::string::npos);
  std::vector<int32_t> x(8), y(8);
  CHECK(error_of([&] { ds->batch(1, 1, 8, x.data(), y.data()); }).find("too few") != std::string::npos);
  CHECK(error_of([&] { ds->check_block_size(0); }).find("at least 1") != std::string::npos);
  fs::remove_all(d);
}

TEST_CASE("data: prepare reproduces nanoGPT's tinyshakespeare split") {
  // $GPT_CORPUS as the quickstart and the CLI tests take it, else the shared copy.
  const char* env = std::getenv("GPT_CORPUS");
  const fs::path text = env && *env ? fs::path(env) : test::source_dir() / ".." / "shared" / "data" / "tinyshakespeare.txt";
  if (!fs::exists(text)) {
    MESSAGE("skipped: " << text.string() << " not found (set GPT_CORPUS)");
    return;
  }
  fs::path d = test::scratch_dir("data", "shakespeare");
  PrepareOptions opt;
  opt.inputs = {text};
  opt.out_dir = d;
  PrepareResult r = prepare_dataset(opt);
  CHECK(r.vocab_size == 65);
  CHECK(r.train_tokens == 1003854);
  CHECK(r.val_tokens == 111540);
  CHECK(r.files == std::vector<fs::path>{d / "train.bin", d / "val.bin", d / "meta.json"});

  DataMeta m = load_meta(d);
  CHECK(m.tokenizer == "char");
  CHECK(m.vocab_size == 65);
  CHECK(m.train_tokens == 1003854);
  CHECK(m.val_tokens == 111540);
  CHECK(m.chars.decode_one(0) == "\n");
  CHECK(m.raw["inputs"][0] == text.string());

  TokenFile train(d / "train.bin"), val(d / "val.bin");
  CHECK(train.size() == 1003854);
  CHECK(val.size() == 111540);
  CHECK(train.max_token() < 65);
  std::vector<int32_t> head(train.data(), train.data() + 13);
  CHECK(m.chars.decode(head) == "First Citizen");
  // The two shards together decode back to the file.
  std::string all;
  for (const TokenFile* f : {&train, &val})
    for (int64_t i = 0; i < f->size(); ++i) all += m.chars.decode_one((*f)[i]);
  CHECK(all == read_file(text));
  fs::remove_all(d);
}

TEST_CASE("data: prepare splits, concatenates inputs and replaces earlier output") {
  fs::path d = test::scratch_dir("data", "prep");
  test::write_bytes(d / "a.txt", "hello ");
  test::write_bytes(d / "b.txt", "wörld\n");
  PrepareOptions opt;
  opt.inputs = {d / "a.txt", d / "b.txt"};
  opt.out_dir = d / "out";
  opt.val_fraction = 0.25;
  PrepareResult r = prepare_dataset(opt);  // 12 characters: floor(12 * 0.75) = 9 train
  CHECK(r.vocab_size == 10);
  CHECK(r.train_tokens == 9);
  CHECK(r.val_tokens == 3);
  DataMeta m = load_meta(d / "out");
  TokenFile val(d / "out" / "val.bin");
  std::vector<int32_t> v(val.data(), val.data() + val.size());
  CHECK(m.chars.decode(v) == "ld\n");

  // val_fraction 0: no val.bin, and a stale one from the run above is removed.
  opt.val_fraction = 0.0;
  r = prepare_dataset(opt);
  CHECK(r.train_tokens == 12);
  CHECK(r.val_tokens == 0);
  CHECK(!fs::exists(d / "out" / "val.bin"));
  CHECK(load_meta(d / "out").val_tokens == 0);
  for (const auto& e : fs::directory_iterator(d / "out"))
    CHECK(e.path().filename().string().find(".tmp") == std::string::npos);
  CHECK(split_train_tokens(1115394, 0.1) == 1003854);
  fs::remove_all(d);
}

TEST_CASE("data: prepare rejects bad input with clear errors") {
  fs::path d = test::scratch_dir("data", "prepbad");
  test::write_bytes(d / "empty.txt", "");
  test::write_bytes(d / "bad.txt", std::string(3000000, 'a') + "\xE4\xB8" + "a");  // bad sequence past the first 1 MiB chunk
  test::write_bytes(d / "tiny.txt", "ab");
  test::write_bytes(d / "ok.txt", "hello world\n");
  test::write_bytes(d / "file", "x");
  auto prep = [&](std::vector<fs::path> in, double vf = 0.1, std::string tok = "char", fs::path out = {}) {
    PrepareOptions o;
    o.inputs = std::move(in);
    o.val_fraction = vf;
    o.tokenizer = std::move(tok);
    o.out_dir = out.empty() ? d / "out" : out;
    return error_of([&] { prepare_dataset(o); });
  };
  CHECK(prep({d / "empty.txt"}).find("input is empty") != std::string::npos);
  std::string e = prep({d / "ok.txt", d / "bad.txt"});
  CHECK(e.find((d / "bad.txt").string() + ": invalid UTF-8 at byte offset 3000000 ") != std::string::npos);
  CHECK(prep({d / "missing.txt"}).find("does not exist") != std::string::npos);
  CHECK(prep({d}).find("is a directory") != std::string::npos);
  CHECK(prep({}).find("no input") != std::string::npos);
  CHECK(prep({"-", "-"}).find("only once") != std::string::npos);
  CHECK(prep({d / "ok.txt"}, 1.0).find("[0, 1)") != std::string::npos);
  CHECK(prep({d / "ok.txt"}, -0.1).find("[0, 1)") != std::string::npos);
  CHECK(prep({d / "ok.txt"}, 0.1, "gpt2").find("--vocab DIR") != std::string::npos);
  CHECK(prep({d / "ok.txt"}, 0.1, "bpe").find("unknown tokenizer") != std::string::npos);
  CHECK(prep({d / "tiny.txt"}, 1e-17).find("no validation tokens") != std::string::npos);
  CHECK(prep({d / "tiny.txt"}, 0.9).find("no training tokens") != std::string::npos);
  CHECK(prep({d / "ok.txt"}, 0.1, "char", d / "file" / "sub").find("cannot create output directory") !=
        std::string::npos);
  CHECK(!fs::exists(d / "out" / "meta.json"));
  fs::remove_all(d);
}

TEST_CASE("data: a vocabulary beyond uint16 is refused, 65536 characters fit") {
  fs::path d = test::scratch_dir("data", "vocab");
  auto text = [](int n) {
    std::string s;
    int made = 0;
    for (char32_t cp = 0x20; made < n; ++cp) {
      if (!is_scalar_value(cp)) continue;
      append_utf8(s, cp);
      ++made;
    }
    return s;
  };
  test::write_bytes(d / "big.txt", text(70000));
  PrepareOptions o;
  o.inputs = {d / "big.txt"};
  o.out_dir = d / "out";
  std::string e = error_of([&] { prepare_dataset(o); });
  CHECK(e.find("70000 distinct characters") != std::string::npos);
  CHECK(e.find("65536") != std::string::npos);

  test::write_bytes(d / "max.txt", text(65536));
  o.inputs = {d / "max.txt"};
  o.val_fraction = 0.0;
  PrepareResult r = prepare_dataset(o);
  CHECK(r.vocab_size == 65536);
  TokenFile f(d / "out" / "train.bin");
  CHECK(f.max_token() == 65535);
  CHECK(load_meta(d / "out").chars.vocab_size() == 65536);
  fs::remove_all(d);
}

TEST_CASE("data: load_meta errors say what to do") {
  fs::path d = test::scratch_dir("data", "meta");
  CHECK(error_of([&] { load_meta(d / "nope"); }).find("does not exist") != std::string::npos);
  CHECK(error_of([&] { load_meta(d); }).find("run gpt-prepare") != std::string::npos);
  test::write_bytes(d / "meta.json", "{\"tokenizer\": \"char\", ");
  CHECK(error_of([&] { load_meta(d); }).find("not valid JSON") != std::string::npos);
  test::write_bytes(d / "meta.json", R"({"tokenizer":"char","vocab_size":3,"vocab":["a","b"]})");
  CHECK(error_of([&] { load_meta(d); }).find("vocab_size is 3 but") != std::string::npos);
  test::write_bytes(d / "meta.json", R"({"tokenizer":"char","vocab_size":2})");
  CHECK(error_of([&] { load_meta(d); }).find("\"vocab\"") != std::string::npos);
  test::write_bytes(d / "meta.json", R"({"tokenizer":"sentencepiece","vocab_size":2})");
  CHECK(error_of([&] { load_meta(d); }).find("unknown tokenizer") != std::string::npos);
  test::write_bytes(d / "meta.json", R"({"tokenizer":"gpt2","vocab_size":50257})");
  CHECK(load_meta(d).vocab_size == 50257);
  fs::remove_all(d);
}

}  // TEST_SUITE
