#include "data/token_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <random>
#include <utility>

#include "core/error.h"
#include "core/fsutil.h"

namespace fs = std::filesystem;

namespace gpt {

static_assert(std::endian::native == std::endian::little, "token files are little-endian");

namespace {
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

TokenFile::TokenFile(const fs::path& path) : path_(path) {
  const std::string p = path.string();
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    if (errno == ENOENT) fail("token file {} does not exist; run gpt-prepare to create it", p);
    fail("cannot open token file {}: {}", p, std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) fail("cannot stat token file {}: {}", p, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) fail("token file {} is a directory, not a .bin file", p);
  const int64_t bytes = st.st_size;
  if (bytes == 0) fail("token file {} is empty", p);
  if (bytes % 2 != 0)
    fail("token file {} has an odd size ({} bytes): uint16 token files have an even size; the file is truncated "
         "or not a token file",
         p, bytes);

  int32_t head[3] = {0, 0, 0};
  const ssize_t got = ::pread(f.fd, head, sizeof head, 0);
  if (got < 0) fail("cannot read token file {}: {}", p, std::strerror(errno));
  has_header_ = got >= 4 && head[0] == kShardMagic;
  int64_t offset = 0;
  if (has_header_) {
    if (bytes < kShardHeaderBytes)
      fail("token file {} is truncated: it starts with the llm.c shard magic but is only {} bytes, shorter than "
           "the {}-byte header",
           p, bytes, kShardHeaderBytes);
    if (head[1] != kShardVersion)
      fail("token file {} has shard version {}; gptkit reads version {} (uint16 tokens)", p, head[1], kShardVersion);
    const int64_t count = head[2];
    if (count <= 0) fail("token file {} holds no tokens (header count {})", p, count);
    const int64_t expect = kShardHeaderBytes + 2 * count;
    if (bytes != expect)
      fail("token file {} is corrupt: its header says {} tokens ({} bytes with the header) but the file has {} "
           "bytes{}",
           p, count, expect, bytes, bytes < expect ? " (truncated?)" : "");
    offset = kShardHeaderBytes;
    size_ = count;
  } else {
    size_ = bytes / 2;
  }

  map_bytes_ = size_t(bytes);
  map_ = ::mmap(nullptr, map_bytes_, PROT_READ, MAP_PRIVATE, f.fd, 0);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    fail("cannot memory-map token file {}: {}", p, std::strerror(errno));
  }
  // Batches jump to random offsets; readahead of neighbours would mostly be wasted.
  ::madvise(map_, map_bytes_, MADV_RANDOM);
  tokens_ = reinterpret_cast<const uint16_t*>(static_cast<const char*>(map_) + offset);
}

TokenFile::TokenFile(TokenFile&& o) noexcept
    : path_(std::move(o.path_)),
      map_(std::exchange(o.map_, nullptr)),
      map_bytes_(std::exchange(o.map_bytes_, 0)),
      tokens_(std::exchange(o.tokens_, nullptr)),
      size_(std::exchange(o.size_, 0)),
      has_header_(o.has_header_),
      max_token_(o.max_token_.load()) {}

TokenFile::~TokenFile() {
  if (map_) ::munmap(map_, map_bytes_);
}

int TokenFile::max_token() const {
  int m = max_token_.load(std::memory_order_relaxed);
  if (m >= 0) return m;
  // Concurrent first calls may both scan; they store the same value.
  uint16_t best = 0;
  for (int64_t i = 0; i < size_; ++i) best = std::max(best, tokens_[i]);
  max_token_.store(best, std::memory_order_relaxed);
  return best;
}

// ---------------------------------------------------------------------------------------

ShardWriter::ShardWriter(const fs::path& path, int64_t count) : path_(path), count_(count) {
  check(count > 0, "cannot write {}: a token shard needs at least one token", path.string());
  check(count <= INT32_MAX,
        "cannot write {}: {} tokens do not fit one llm.c shard (at most {} tokens)", path.string(), count, INT32_MAX);
  std::random_device rd;
  tmp_ = path;
  tmp_ += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
  out_ = std::make_unique<FileWriter>(tmp_);
  int32_t header[256] = {};
  header[0] = kShardMagic;
  header[1] = kShardVersion;
  header[2] = int32_t(count);
  try {
    out_->write(header, sizeof header);
  } catch (...) {
    out_.reset();
    std::error_code ec;
    fs::remove(tmp_, ec);
    throw;
  }
}

ShardWriter::~ShardWriter() {
  out_.reset();
  if (!done_) {
    std::error_code ec;
    fs::remove(tmp_, ec);
  }
}

void ShardWriter::append(std::span<const uint16_t> tokens) {
  check(!done_, "internal error: append to committed shard {}", path_.string());
  check(written_ + int64_t(tokens.size()) <= count_, "cannot write {}: more tokens than the {} announced",
        path_.string(), count_);
  out_->write(tokens.data(), tokens.size_bytes());
  written_ += int64_t(tokens.size());
}

void ShardWriter::commit() {
  check(!done_, "internal error: shard {} committed twice", path_.string());
  check(written_ == count_, "cannot write {}: {} tokens written but {} announced (did the input change while it was "
        "being read?)", path_.string(), written_, count_);
  out_->close();
  if (::rename(tmp_.c_str(), path_.c_str()) != 0)
    fail("cannot rename {} to {}: {}", tmp_.string(), path_.string(), std::strerror(errno));
  done_ = true;
  fsync_dir(path_.parent_path());
}

void write_token_shard(const fs::path& path, std::span<const uint16_t> tokens) {
  ShardWriter w(path, int64_t(tokens.size()));
  w.append(tokens);
  w.commit();
}

}  // namespace gpt
