#pragma once
// safetensors read/write (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON {name: {dtype, shape, data_offsets}}, then the data.
// Reading maps the file and validates every offset, length and shape against the file size
// before any tensor byte is touched, so a truncated or hostile file is an error, not a crash.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace gpt::st {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, U16, I8, U8, BOOL };

const char* dtype_name(DType d);
size_t dtype_size(DType d);

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte offsets relative to the start of the data section
  int64_t numel() const;
};

// A read-only, memory-mapped safetensors file.
class File {
 public:
  explicit File(const std::filesystem::path& path);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find(const std::string& name) const;
  const TensorInfo& get(const std::string& name) const;  // throws naming the tensor
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::span<const std::byte> bytes(const TensorInfo& t) const;
  // Converts any float dtype (F64/F32/F16/BF16) to fp32 into dst[numel].
  void read_f32(const TensorInfo& t, float* dst) const;
  std::vector<float> f32(const std::string& name) const;
  std::vector<double> f64(const std::string& name) const;
  std::vector<int32_t> i32(const std::string& name) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  const std::byte* map_ = nullptr;
  size_t size_ = 0;
  const std::byte* data_ = nullptr;  // start of the data section
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

struct WriteTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data;  // numel * dtype_size bytes
};

// Writes (and fsyncs) a safetensors file; tensors are written in the given order.
void write(const std::filesystem::path& path, const std::vector<WriteTensor>& tensors,
           const std::map<std::string, std::string>& metadata = {});

// Parses a header (without the leading 8 bytes); exposed for tests and fuzzing.
std::vector<TensorInfo> parse_header(std::string_view json, uint64_t data_size,
                                     std::map<std::string, std::string>* metadata);

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // HF's limit too
constexpr uint64_t kMaxDim = uint64_t(1) << 62;     // bound on each dim and on numel

}  // namespace gpt::st
