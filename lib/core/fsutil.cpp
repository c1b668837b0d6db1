#include "core/fsutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "core/error.h"

namespace fs = std::filesystem;

namespace gpt {

FileWriter::FileWriter(const fs::path& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("cannot create {}: {}", path.string(), std::strerror(errno));
}

FileWriter::~FileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {
// What the user can do depends on why the write failed; space problems are the common ones.
// A full disk may surface only at fsync or close (delayed allocation, NFS), hence the verb.
[[noreturn]] void fail_write(const std::filesystem::path& path, const char* verb = "write") {
  const int e = errno;
  const bool space = e == ENOSPC || e == EFBIG || e == EDQUOT;
  fail("cannot {} {}: {}{}", verb, path.string(), std::strerror(e),
       space ? " (the disk is full or a file-size limit was reached; free space and run again)" : "");
}
}  // namespace

void FileWriter::write(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  if (buf_.size() + n < (1u << 20)) {
    buf_.append(p, n);
    return;
  }
  flush();
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail_write(path_);
    }
    p += w;
    n -= size_t(w);
  }
}

void FileWriter::flush() {
  const char* p = buf_.data();
  size_t n = buf_.size();
  while (n > 0) {
    ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail_write(path_);
    }
    p += w;
    n -= size_t(w);
  }
  buf_.clear();
}

void FileWriter::close() {
  if (fd_ < 0) return;
  flush();
  if (::fsync(fd_) != 0) fail_write(path_, "sync");
  int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail_write(path_, "close");
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot read {}: {}", path.string(), std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

static std::string unique_suffix() {
  std::random_device rd;
  return std::to_string(::getpid()) + "-" + std::to_string(rd() % 1000000);
}

void write_file_atomic(const fs::path& path, const std::string& content) {
  fs::path tmp = path;
  tmp += ".tmp-" + unique_suffix();
  try {
    FileWriter w(tmp);
    w.write(content);
    w.close();
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::error_code ec;
    fs::remove(tmp, ec);
    fail("cannot rename {} to {}: {}", tmp.string(), path.string(), std::strerror(errno));
  }
  fsync_dir(path.parent_path());
}

void write_dir_atomic(const fs::path& dir, const std::function<void(const fs::path&)>& fill) {
  fs::path parent = dir.parent_path().empty() ? fs::path(".") : dir.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  std::string stem = dir.filename().string();
  // Leftovers of a save that was killed are incomplete by construction: remove them.
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    std::string n = e.path().filename().string();
    if (n.rfind(stem + ".tmp-", 0) == 0 || n.rfind(stem + ".old-", 0) == 0) fs::remove_all(e.path(), ec);
  }
  fs::path tmp = parent / (stem + ".tmp-" + unique_suffix());
  if (!fs::create_directory(tmp, ec) || ec)
    fail("cannot create directory {}: {} (is the output directory writable?)", tmp.string(),
         ec ? ec.message() : "exists");
  try {
    fill(tmp);
    fsync_dir(tmp);
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  if (fs::exists(dir)) {
    // One atomic exchange: readers see the old or the new directory, never neither.
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) != 0) {
      int err = errno;
      fs::remove_all(tmp, ec);
      fail("cannot replace {}: {}", dir.string(), std::strerror(err));
    }
    fsync_dir(parent);
    fs::remove_all(tmp, ec);  // tmp now holds the previous version
  } else {
    if (::rename(tmp.c_str(), dir.c_str()) != 0) {
      int err = errno;
      fs::remove_all(tmp, ec);
      fail("cannot rename {} to {}: {}", tmp.string(), dir.string(), std::strerror(err));
    }
  }
  fsync_dir(parent);
}

void ensure_writable_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("cannot create output directory {}: {}; choose a writable --out", dir.string(), ec.message());
  if (::access(dir.c_str(), W_OK | X_OK) != 0)
    fail("output directory {} is not writable: {}; choose a writable --out", dir.string(),
         std::strerror(errno));
}

}  // namespace gpt
