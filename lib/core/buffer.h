#pragma once
// A 64-byte-aligned, zero-initialised float buffer: the one allocation behind all parameters,
// all gradients, all optimizer state or all activations (views are offsets into it).
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

namespace gpt {

class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t n) { resize(n); }
  ~Buffer() { std::free(p_); }
  Buffer(Buffer&& o) noexcept : p_(o.p_), n_(o.n_) { o.p_ = nullptr; o.n_ = 0; }
  Buffer& operator=(Buffer&& o) noexcept {
    if (this != &o) { std::free(p_); p_ = o.p_; n_ = o.n_; o.p_ = nullptr; o.n_ = 0; }
    return *this;
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void resize(size_t n) {  // discards contents
    std::free(p_);
    p_ = nullptr;
    n_ = 0;
    if (n == 0) return;
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    p_ = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (!p_) throw std::bad_alloc();
    std::memset(p_, 0, bytes);
    n_ = n;
  }
  void zero() { if (p_) std::memset(p_, 0, n_ * sizeof(float)); }
  float* data() { return p_; }
  const float* data() const { return p_; }
  size_t size() const { return n_; }
  float& operator[](size_t i) { return p_[i]; }
  float operator[](size_t i) const { return p_[i]; }

 private:
  float* p_ = nullptr;
  size_t n_ = 0;
};

}  // namespace gpt
