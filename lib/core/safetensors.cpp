#include "core/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/fsutil.h"
#include "core/half.h"

namespace gpt::st {
namespace {

struct DTypeEntry {
  const char* name;
  DType dtype;
  size_t size;
};
constexpr DTypeEntry kDTypes[] = {
    {"F64", DType::F64, 8}, {"F32", DType::F32, 4}, {"F16", DType::F16, 2},
    {"BF16", DType::BF16, 2}, {"I64", DType::I64, 8}, {"I32", DType::I32, 4},
    {"I16", DType::I16, 2}, {"U16", DType::U16, 2}, {"I8", DType::I8, 1},
    {"U8", DType::U8, 1}, {"BOOL", DType::BOOL, 1},
};

DType parse_dtype(const std::string& s, const std::string& tensor) {
  for (const auto& e : kDTypes)
    if (s == e.name) return e.dtype;
  fail("safetensors: tensor '{}' has unsupported dtype '{}'", tensor, s);
}

}  // namespace

const char* dtype_name(DType d) {
  for (const auto& e : kDTypes)
    if (e.dtype == d) return e.name;
  return "?";
}

size_t dtype_size(DType d) {
  for (const auto& e : kDTypes)
    if (e.dtype == d) return e.size;
  // A size of 0 would make every byte-count check divide by zero or pass vacuously.
  fail("safetensors: unknown dtype value {}", int(d));
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

namespace {

// nlohmann keeps the last of duplicate keys silently; a file whose tensor (or field) is named
// twice is ambiguous (another reader may take the first), so it is refused. The callback sees
// each key before its value and each object's start and end, so a stack of key sets suffices.
nlohmann::json parse_unique_keys(std::string_view text, std::string& dup) {
  std::vector<std::vector<std::string>> seen;
  auto cb = [&](int, nlohmann::json::parse_event_t ev, nlohmann::json& v) {
    using E = nlohmann::json::parse_event_t;
    if (ev == E::object_start) {
      seen.emplace_back();
    } else if (ev == E::object_end) {
      if (!seen.empty()) seen.pop_back();
    } else if (ev == E::key && !seen.empty() && v.is_string()) {
      auto& keys = seen.back();
      const std::string& k = v.get_ref<const std::string&>();
      if (dup.empty() && std::find(keys.begin(), keys.end(), k) != keys.end()) dup = k;
      keys.push_back(k);
    }
    return true;
  };
  return nlohmann::json::parse(text, cb, /*allow_exceptions=*/false);
}

}  // namespace

std::vector<TensorInfo> parse_header(std::string_view text, uint64_t data_size,
                                     std::map<std::string, std::string>* metadata) {
  std::string dup;
  // nlohmann rejects bytes that are not UTF-8 inside strings, so names are valid UTF-8.
  nlohmann::json j = parse_unique_keys(text, dup);
  if (j.is_discarded() || !j.is_object())
    fail("safetensors: the header is not a JSON object (or not valid UTF-8 JSON)");
  if (!dup.empty()) fail("safetensors: the header names '{}' twice", dup);
  std::vector<TensorInfo> out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail("safetensors: __metadata__ must be an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) fail("safetensors: __metadata__['{}'] is not a string", m.key());
        if (metadata) (*metadata)[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      fail("safetensors: tensor '{}' needs dtype, shape and data_offsets", name);
    const auto& jd = v["dtype"];
    const auto& js = v["shape"];
    const auto& jo = v["data_offsets"];
    if (!jd.is_string()) fail("safetensors: tensor '{}' dtype is not a string", name);
    if (!js.is_array()) fail("safetensors: tensor '{}' shape is not an array", name);
    if (!jo.is_array() || jo.size() != 2 || !jo[0].is_number_unsigned() || !jo[1].is_number_unsigned())
      fail("safetensors: tensor '{}' data_offsets must be two non-negative integers", name);
    TensorInfo t;
    t.name = name;
    t.dtype = parse_dtype(jd.get<std::string>(), name);
    uint64_t numel = 1;
    for (const auto& d : js) {
      if (!d.is_number_unsigned()) fail("safetensors: tensor '{}' has a negative or non-integer dim", name);
      uint64_t dim = d.get<uint64_t>();
      // Bounded on its own too: after a zero dim the product no longer limits the others, and
      // a dim above INT64_MAX would turn negative in TensorInfo::shape.
      if (dim > kMaxDim || (dim != 0 && numel > kMaxDim / dim))
        fail("safetensors: tensor '{}' shape overflows", name);
      numel *= dim;
      t.shape.push_back(int64_t(dim));
    }
    t.begin = jo[0].get<uint64_t>();
    t.end = jo[1].get<uint64_t>();
    if (t.begin > t.end || t.end > data_size)
      fail("safetensors: tensor '{}' data_offsets [{}, {}] lie outside the {} data bytes "
           "(truncated or corrupt file)", name, t.begin, t.end, data_size);
    if (numel > UINT64_MAX / dtype_size(t.dtype))
      fail("safetensors: tensor '{}' shape overflows the byte count", name);
    const uint64_t need = numel * dtype_size(t.dtype);
    if (need != t.end - t.begin)
      fail("safetensors: tensor '{}' has {} bytes but dtype {} and its shape need {}", name,
           t.end - t.begin, dtype_name(t.dtype), need);
    out.push_back(std::move(t));
  }
  std::vector<const TensorInfo*> sorted;
  for (const auto& t : out) sorted.push_back(&t);
  // Gaps between tensors are accepted (they cannot make a read leave the file); overlaps are
  // not. Ties on begin sort by end so that the verdict does not depend on the header's order.
  std::sort(sorted.begin(), sorted.end(),
            [](auto a, auto b) { return a->begin != b->begin ? a->begin < b->begin : a->end < b->end; });
  for (size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i]->begin < sorted[i - 1]->end)
      fail("safetensors: tensors '{}' and '{}' overlap", sorted[i - 1]->name, sorted[i]->name);
  return out;
}

File::File(const std::filesystem::path& path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open {}: {}", path.string(), std::strerror(errno));
  struct stat sb {};
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    ::close(fd);
    fail("{} is not a regular file", path.string());
  }
  size_ = size_t(sb.st_size);
  if (size_ < 8) {
    ::close(fd);
    fail("{}: truncated safetensors file ({} bytes; at least 8 needed)", path.string(), size_);
  }
  void* m = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) fail("cannot map {}: {}", path.string(), std::strerror(errno));
  map_ = static_cast<const std::byte*>(m);
  try {
    uint64_t n = 0;
    std::memcpy(&n, map_, 8);  // little-endian hosts only (x86-64, arm64)
    if (n > kMaxHeaderBytes)
      fail("header length {} exceeds the {}-byte cap (corrupt file?)", n, kMaxHeaderBytes);
    if (n > size_ - 8)
      fail("header length {} runs past the end of the {}-byte file (truncated?)", n, size_);
    data_ = map_ + 8 + n;
    std::string_view header(reinterpret_cast<const char*>(map_ + 8), n);
    tensors_ = parse_header(header, size_ - 8 - n, &metadata_);
    for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
  } catch (const Error& e) {
    munmap(const_cast<std::byte*>(map_), size_);
    map_ = nullptr;
    fail("{}: {}", path.string(), e.what());
  }
}

File::~File() {
  if (map_) munmap(const_cast<std::byte*>(map_), size_);
}

const TensorInfo* File::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& File::get(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (!t) fail("{}: tensor '{}' is missing", path_.string(), name);
  return *t;
}

std::span<const std::byte> File::bytes(const TensorInfo& t) const {
  return {data_ + t.begin, size_t(t.end - t.begin)};
}

void File::read_f32(const TensorInfo& t, float* dst) const {
  const int64_t n = t.numel();
  const size_t esize = t.dtype == DType::F32 ? 4 : t.dtype == DType::F64 ? 8 : 2;
  if (t.dtype != DType::F32 && t.dtype != DType::F64 && t.dtype != DType::BF16 && t.dtype != DType::F16)
    fail("{}: tensor '{}' has dtype {}, expected a float type", path_.string(), t.name, dtype_name(t.dtype));
  // The copy is what callers keep, so each chunk's mapped pages are dropped once converted
  // (they refault from the file if read again): a model load then peaks at one resident copy
  // of the weights plus one chunk, instead of two copies.
  const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  constexpr int64_t kChunk = int64_t(1) << 21;  // elements
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) {
    const int64_t i1 = std::min(n, i0 + kChunk);
    const std::byte* p = data_ + t.begin + size_t(i0) * esize;
    float* d = dst + i0;
    const int64_t m = i1 - i0;
    switch (t.dtype) {
      case DType::F32: std::memcpy(d, p, size_t(m) * 4); break;
      case DType::F64:
        for (int64_t i = 0; i < m; ++i) { double v; std::memcpy(&v, p + 8 * i, 8); d[i] = float(v); }
        break;
      case DType::BF16:
        for (int64_t i = 0; i < m; ++i) { uint16_t v; std::memcpy(&v, p + 2 * i, 2); d[i] = bf16_to_f32(v); }
        break;
      default:
        for (int64_t i = 0; i < m; ++i) { uint16_t v; std::memcpy(&v, p + 2 * i, 2); d[i] = f16_to_f32(v); }
        break;
    }
    const uintptr_t lo = (uintptr_t(p) + page - 1) / page * page;
    const uintptr_t hi = uintptr_t(p + size_t(m) * esize) / page * page;
    if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
  }
}

std::vector<float> File::f32(const std::string& name) const {
  const auto& t = get(name);
  std::vector<float> v(size_t(t.numel()));
  read_f32(t, v.data());
  return v;
}

std::vector<double> File::f64(const std::string& name) const {
  const auto& t = get(name);
  std::vector<double> v(size_t(t.numel()));
  if (v.empty()) return v;  // a zero-size tensor: memcpy from/to nullptr is undefined even for 0 bytes
  if (t.dtype == DType::F64) {
    std::memcpy(v.data(), data_ + t.begin, v.size() * 8);
  } else {
    std::vector<float> f(v.size());
    read_f32(t, f.data());
    std::copy(f.begin(), f.end(), v.begin());
  }
  return v;
}

std::vector<int32_t> File::i32(const std::string& name) const {
  const auto& t = get(name);
  const std::byte* p = data_ + t.begin;
  std::vector<int32_t> v(size_t(t.numel()));
  if (v.empty() && (t.dtype == DType::I32 || t.dtype == DType::I64)) return v;  // as in f64()
  if (t.dtype == DType::I32) {
    std::memcpy(v.data(), p, v.size() * 4);
  } else if (t.dtype == DType::I64) {
    for (size_t i = 0; i < v.size(); ++i) {
      int64_t x;
      std::memcpy(&x, p + 8 * i, 8);
      if (x < INT32_MIN || x > INT32_MAX)
        fail("{}: tensor '{}' holds {} at index {}, outside the int32 range", path_.string(), name, x, i);
      v[i] = int32_t(x);
    }
  } else {
    fail("{}: tensor '{}' has dtype {}, expected I32 or I64", path_.string(), name, dtype_name(t.dtype));
  }
  return v;
}

void write(const std::filesystem::path& path, const std::vector<WriteTensor>& tensors,
           const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json h = nlohmann::ordered_json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  uint64_t off = 0;
  for (const auto& t : tensors) {
    uint64_t n = 1;
    for (auto s : t.shape) n *= uint64_t(s);
    uint64_t nb = n * dtype_size(t.dtype);
    h[t.name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {off, off + nb}}};
    off += nb;
  }
  std::string header = h.dump();
  while (header.size() % 8) header.push_back(' ');
  FileWriter w(path);
  uint64_t n = header.size();
  w.write(&n, 8);
  w.write(header.data(), header.size());
  for (const auto& t : tensors) {
    uint64_t cnt = 1;
    for (auto s : t.shape) cnt *= uint64_t(s);
    w.write(t.data, cnt * dtype_size(t.dtype));
  }
  w.close();
}

}  // namespace gpt::st
