#pragma once
// Files that never end half-written: writes go to a temporary name, are fsynced, and are
// renamed into place; a directory (a checkpoint) is swapped in with one atomic exchange.
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>

namespace gpt {

// Buffered writer that reports every failure (disk full, permissions) as gpt::Error
// naming the path. close() flushes and fsyncs; the destructor closes without syncing.
class FileWriter {
 public:
  explicit FileWriter(const std::filesystem::path& path);
  ~FileWriter();
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;
  void write(const void* data, size_t n);
  void write(const std::string& s) { write(s.data(), s.size()); }
  void close();

 private:
  void flush();
  std::filesystem::path path_;
  int fd_ = -1;
  std::string buf_;
};

std::string read_file(const std::filesystem::path& path);
// Writes content to path atomically (temporary file, fsync, rename).
void write_file_atomic(const std::filesystem::path& path, const std::string& content);
void fsync_dir(const std::filesystem::path& dir);

// Creates `dir` atomically: `fill` writes into a fresh temporary directory beside it, which is
// fsynced and then exchanged with any existing `dir` in one rename, so a reader sees either the
// old complete directory or the new complete one, never a mixture, even after SIGKILL.
void write_dir_atomic(const std::filesystem::path& dir,
                      const std::function<void(const std::filesystem::path&)>& fill);

// Checks that `dir` (created if missing) accepts files; throws a clear error if not.
void ensure_writable_dir(const std::filesystem::path& dir);

}  // namespace gpt
