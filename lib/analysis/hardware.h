#pragma once
// Peak compute per dtype and memory bandwidth of a machine: the two numbers a roofline needs.
// Built-in entries are the configs/hardware/*.json files compiled in, so the tool works from
// any directory; a test keeps the two identical.
#include <map>
#include <string>
#include <vector>

#include "analysis/dtype.h"
#include "core/json_util.h"

namespace gpt::analysis {

struct Hardware {
  std::string name;
  std::string description;
  std::map<DType, double> peak_flops;  // FLOP/s (dense, no sparsity)
  double bandwidth = 0;                // bytes/s of main (HBM/DRAM) memory
  double memory_bytes = 0;             // capacity, decimal GB as the vendor states it
  DType default_dtype = DType::FP32;
  json sources = json::object();       // where each number came from, as written in the file
  std::string notes;
  std::string origin;                  // "built-in" or the file it was read from

  bool has(DType t) const { return peak_flops.count(t) != 0; }
  // Throws gpt::UsageError listing the dtypes this hardware has a peak for.
  double peak(DType t) const;
  double ridge(DType t) const { return peak(t) / bandwidth; }  // FLOP/byte
  std::string dtype_list() const;

  // The configs/hardware/*.json format: name, description, memory_gb, memory_bandwidth_gb_s,
  // peak_tflops {dtype: TFLOP/s}, default_dtype, sources {..}, notes.
  static Hardware from_json(const json& j, const std::string& where);
  json to_json() const;
};

const std::vector<Hardware>& builtin_hardware();
// Raw text of each built-in entry, keyed by name (what configs/hardware/<name>.json holds).
const std::map<std::string, std::string>& builtin_hardware_json();

// The GPU used when --hardware is not given.
constexpr const char* kDefaultHardware = "a100-80gb";

// Resolves --hardware: an existing file path, then a built-in name, then <name>.json in
// $GPT_HARDWARE_DIR, ./configs/hardware and the current directory (where `roofline --measure`
// writes cpu-local.json). Unknown names are a gpt::UsageError listing the built-in ones.
Hardware find_hardware(const std::string& name_or_path);

}  // namespace gpt::analysis
