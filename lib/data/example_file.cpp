#include "data/example_file.h"

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "core/fsutil.h"

namespace fs = std::filesystem;

namespace gpt {

int64_t ExampleSet::scored() const {
  int64_t c = 0;
  for (int32_t t : y) c += t >= 0;
  return c;
}

void write_examples(const fs::path& path, const ExampleSet& ex) {
  check(ex.vocab_size >= 1 && ex.vocab_size <= 65535, "example file: vocab_size {} is outside 1..65535", ex.vocab_size);
  check(ex.seq_len >= 1 && ex.n >= 0, "example file: bad shape ({} examples of length {})", ex.n, ex.seq_len);
  const size_t cells = size_t(ex.n) * size_t(ex.seq_len);
  check(ex.x.size() == cells && ex.y.size() == cells, "example file: x/y hold {}/{} values, expected {}", ex.x.size(),
        ex.y.size(), cells);
  std::string buf(256 * sizeof(int32_t) + 2 * cells * sizeof(uint16_t), '\0');
  int32_t h[256] = {};
  h[0] = kExampleMagic;
  h[1] = 1;
  h[2] = int32_t(ex.n);
  h[3] = ex.seq_len;
  h[4] = ex.vocab_size;
  std::memcpy(buf.data(), h, sizeof(h));
  auto* body = reinterpret_cast<uint16_t*>(buf.data() + sizeof(h));
  for (int64_t i = 0; i < ex.n; ++i) {
    uint16_t* row = body + size_t(i) * 2 * ex.seq_len;
    for (int t = 0; t < ex.seq_len; ++t) {
      const int32_t a = ex.xs(i)[t], b = ex.ys(i)[t];
      check(a >= 0 && a < ex.vocab_size, "example {} position {}: token {} is outside the vocabulary 0..{}", i, t, a,
            ex.vocab_size - 1);
      check(b >= -1 && b < ex.vocab_size, "example {} position {}: target {} is outside the vocabulary 0..{}", i, t, b,
            ex.vocab_size - 1);
      row[t] = uint16_t(a);
      row[ex.seq_len + t] = b < 0 ? kNoTarget16 : uint16_t(b);
    }
  }
  write_file_atomic(path, buf);
}

bool is_example_file(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  int32_t m = 0;
  return f.read(reinterpret_cast<char*>(&m), sizeof(m)) && m == kExampleMagic;
}

ExampleSet read_examples(const fs::path& path) {
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  check(bool(f), "cannot open {}: does it exist? (make example files with gpt-assoc-recall data)", path.string());
  const auto size = int64_t(f.tellg());
  f.seekg(0);
  int32_t h[256] = {};
  check(size >= int64_t(sizeof(h)) && f.read(reinterpret_cast<char*>(h), sizeof(h)) && h[0] == kExampleMagic,
        "{} is not an example file (no magic {} header); make one with gpt-assoc-recall data", path.string(),
        kExampleMagic);
  check(h[1] == 1, "{}: example-file version {} is not supported (this gptkit reads version 1)", path.string(), h[1]);
  ExampleSet ex;
  ex.n = h[2];
  ex.seq_len = h[3];
  ex.vocab_size = h[4];
  check(ex.n >= 1 && ex.seq_len >= 1 && ex.vocab_size >= 1,
        "{}: header says {} examples of length {} with vocab_size {}; the file is damaged or empty", path.string(),
        ex.n, ex.seq_len, ex.vocab_size);
  // n and seq_len are each below 2^31, so cells fits int64 but 4 * cells may not: compare
  // against the body's size by division, before anything is allocated.
  const int64_t cells = ex.n * ex.seq_len;
  check(size >= int64_t(sizeof(h)) && (size - int64_t(sizeof(h))) % 4 == 0 &&
            (size - int64_t(sizeof(h))) / 4 == cells,
        "{}: {} bytes, but the header's {} examples of length {} need {}; the file is truncated or damaged",
        path.string(), size, ex.n, ex.seq_len, double(sizeof(h)) + 4.0 * double(cells));
  std::vector<uint16_t> body(size_t(2 * cells));
  f.read(reinterpret_cast<char*>(body.data()), std::streamsize(body.size() * 2));
  check(bool(f), "{}: read failed", path.string());
  ex.x.resize(size_t(cells));
  ex.y.resize(size_t(cells));
  for (int64_t i = 0; i < ex.n; ++i) {
    const uint16_t* row = body.data() + i * 2 * ex.seq_len;
    for (int t = 0; t < ex.seq_len; ++t) {
      const uint16_t a = row[t], b = row[ex.seq_len + t];
      check(a < ex.vocab_size && (b < ex.vocab_size || b == kNoTarget16),
            "{}: example {} position {} holds token {} / target {} outside the vocabulary 0..{}", path.string(), i, t,
            a, b, ex.vocab_size - 1);
      ex.x[size_t(i * ex.seq_len + t)] = a;
      ex.y[size_t(i * ex.seq_len + t)] = b == kNoTarget16 ? -1 : int32_t(b);
    }
  }
  return ex;
}

}  // namespace gpt
