#pragma once
// Token files on disk. Two layouts are read, both of little-endian uint16 tokens:
//  - llm.c shards: a 1024-byte header of 256 int32 (magic 20240520, version 1, token count,
//    the rest zero), then the tokens;
//  - nanoGPT's headerless train.bin / val.bin (np.uint16 array written with tofile).
// A file is taken as an llm.c shard when its first int32 is the magic. A headerless file
// starting with tokens 0xD3F8, 0x0134 would be misread, which needs a vocabulary above 54264.
// Files are memory-mapped, so a multi-GB shard costs no load time and no private memory.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

namespace gpt {

class FileWriter;

constexpr int32_t kShardMagic = 20240520;
constexpr int32_t kShardVersion = 1;
constexpr int64_t kShardHeaderBytes = 256 * 4;

class TokenFile {
 public:
  // Errors: missing or unreadable file, empty file, odd size, bad version, a header count
  // that does not match the file size, a shard with no tokens.
  explicit TokenFile(const std::filesystem::path& path);
  ~TokenFile();
  TokenFile(TokenFile&& o) noexcept;
  TokenFile& operator=(TokenFile&&) = delete;
  TokenFile(const TokenFile&) = delete;
  TokenFile& operator=(const TokenFile&) = delete;

  int64_t size() const { return size_; }
  uint16_t operator[](int64_t i) const { return tokens_[i]; }
  const uint16_t* data() const { return tokens_; }
  std::span<const uint16_t> tokens() const { return {tokens_, size_t(size_)}; }
  // Largest token id in the file, so a trainer can reject a model vocabulary that is too
  // small before training. Scans the file once, on first use.
  int max_token() const;
  bool has_header() const { return has_header_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  void* map_ = nullptr;
  size_t map_bytes_ = 0;
  const uint16_t* tokens_ = nullptr;
  int64_t size_ = 0;
  bool has_header_ = false;
  mutable std::atomic<int> max_token_{-1};
};

// Writes tokens as an llm.c shard, atomically: a temporary file that is fsynced and then
// renamed over path, so a crash never leaves a half-written shard under the real name.
void write_token_shard(const std::filesystem::path& path, std::span<const uint16_t> tokens);

// Streams a shard whose token count is known up front (the header comes first), with the
// same atomicity as write_token_shard. An empty shard is refused: readers reject it.
// Nothing appears at `path` until commit(); a writer
// destroyed without commit() removes its temporary file.
class ShardWriter {
 public:
  ShardWriter(const std::filesystem::path& path, int64_t count);
  ~ShardWriter();
  ShardWriter(const ShardWriter&) = delete;
  ShardWriter& operator=(const ShardWriter&) = delete;
  void append(std::span<const uint16_t> tokens);
  // Fails if fewer or more tokens were appended than announced.
  void commit();
  int64_t written() const { return written_; }

 private:
  std::unique_ptr<FileWriter> out_;
  std::filesystem::path path_, tmp_;
  int64_t count_, written_ = 0;
  bool done_ = false;
};

}  // namespace gpt
