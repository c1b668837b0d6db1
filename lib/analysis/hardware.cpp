#include "analysis/hardware.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "core/error.h"

namespace gpt::analysis {

double Hardware::peak(DType t) const {
  auto it = peak_flops.find(t);
  if (it == peak_flops.end())
    throw UsageError(fmt::format("{} has no {} peak; it lists {}. Pick one with --dtype", name,
                                 dtype_name(t), dtype_list()));
  return it->second;
}

std::string Hardware::dtype_list() const {
  std::string s;
  for (auto& [t, v] : peak_flops) s += (s.empty() ? "" : ", ") + std::string(dtype_name(t));
  return s;
}

// The value times unit (1e9 or 1e12), kept within [1, 1e30] after scaling: a finite 1e300
// TFLOP/s would become an infinite peak, and a tiny bandwidth an infinite ridge point, and
// every roofline number would turn to inf or 0.
static double positive_number(const json& v, const std::string& what, double unit) {
  const double x = v.is_number() ? v.get<double>() * unit : 0.0;
  if (!(x >= 1.0 && x <= 1e30))
    fail("{} must be a positive number between {:g} and {:g}, not {}", what, 1.0 / unit, 1e30 / unit, v.dump());
  return v.get<double>() * unit;
}

Hardware Hardware::from_json(const json& j, const std::string& where) {
  Hardware h;
  JsonReader r(j, where);
  double mem_gb = 0, bw_gb_s = 0;
  std::string dflt;
  r.get("name", h.name);
  r.get("description", h.description);
  r.get("memory_gb", mem_gb);
  r.get("memory_bandwidth_gb_s", bw_gb_s);
  r.get("default_dtype", dflt);
  r.get("notes", h.notes);
  r.ignore("peak_tflops");
  r.ignore("sources");
  r.finish();
  check(!h.name.empty(), "{}: \"name\" is required", where);
  check(j.contains("memory_bandwidth_gb_s"), "{}: \"memory_bandwidth_gb_s\" is required", where);
  h.bandwidth = positive_number(j["memory_bandwidth_gb_s"], where + ".memory_bandwidth_gb_s", 1e9);
  if (j.contains("memory_gb")) h.memory_bytes = positive_number(j["memory_gb"], where + ".memory_gb", 1e9);
  check(j.contains("peak_tflops") && j["peak_tflops"].is_object() && !j["peak_tflops"].empty(),
        "{}: \"peak_tflops\" must be an object like {{\"bf16\": 312}}", where);
  for (auto& [k, v] : j["peak_tflops"].items()) {
    DType t;
    try {
      t = parse_dtype(k);
    } catch (const UsageError& e) {
      fail("{}.peak_tflops: {}", where, e.what());
    }
    h.peak_flops[t] = positive_number(v, where + ".peak_tflops." + k, 1e12);
  }
  if (j.contains("sources")) {
    check(j["sources"].is_object() || j["sources"].is_string(), "{}.sources must be an object or a string", where);
    h.sources = j["sources"];
  }
  if (dflt.empty()) {
    // A file without a default picks the narrowest float it has a peak for.
    for (DType t : {DType::BF16, DType::FP16, DType::FP32, DType::TF32})
      if (h.has(t)) { h.default_dtype = t; break; }
    if (h.peak_flops.size() && !h.has(h.default_dtype)) h.default_dtype = h.peak_flops.begin()->first;
  } else {
    try {
      h.default_dtype = parse_dtype(dflt);
    } catch (const UsageError& e) {
      fail("{}.default_dtype: {}", where, e.what());
    }
    check(h.has(h.default_dtype), "{}.default_dtype '{}' has no entry in peak_tflops", where, dflt);
  }
  return h;
}

json Hardware::to_json() const {
  json peaks = json::object();
  for (auto& [t, v] : peak_flops) peaks[dtype_name(t)] = v / 1e12;
  json j = {{"name", name},
            {"description", description},
            {"memory_gb", memory_bytes / 1e9},
            {"memory_bandwidth_gb_s", bandwidth / 1e9},
            {"peak_tflops", peaks},
            {"default_dtype", dtype_name(default_dtype)},
            {"sources", sources}};
  if (!notes.empty()) j["notes"] = notes;
  return j;
}

const std::vector<Hardware>& builtin_hardware() {
  static const std::vector<Hardware> v = [] {
    std::vector<Hardware> out;
    for (auto& [name, text] : builtin_hardware_json()) {
      Hardware h = Hardware::from_json(json::parse(text), "built-in hardware " + name);
      h.origin = "built-in";
      out.push_back(std::move(h));
    }
    return out;
  }();
  return v;
}

Hardware find_hardware(const std::string& arg) {
  namespace fs = std::filesystem;
  check(!arg.empty(), "--hardware needs a name or a JSON file");
  auto load = [](const fs::path& p) {
    Hardware h = Hardware::from_json(parse_json_file(p.string()), p.string());
    h.origin = p.string();
    return h;
  };
  std::error_code ec;
  if (arg.find('/') != std::string::npos || arg.ends_with(".json")) {
    if (!fs::is_regular_file(arg, ec))
      throw UsageError(fmt::format("hardware file '{}' {}", arg,
                                   fs::exists(arg, ec) ? "is not a regular file" : "does not exist"));
    return load(arg);
  }
  for (const Hardware& h : builtin_hardware())
    if (h.name == arg) return h;
  std::vector<fs::path> dirs;
  if (const char* d = std::getenv("GPT_HARDWARE_DIR")) dirs.emplace_back(d);
  dirs.emplace_back("configs/hardware");
  dirs.emplace_back(".");
  for (const auto& d : dirs) {
    fs::path p = d / (arg + ".json");
    if (fs::is_regular_file(p, ec)) return load(p);
  }
  std::vector<std::string> names;
  std::string list;
  for (const Hardware& h : builtin_hardware()) {
    names.push_back(h.name);
    list += (list.empty() ? "" : ", ") + h.name;
  }
  names.push_back("cpu-local");
  std::string hint = arg == "cpu-local" ? " (run `gpt-intensity roofline --measure` to create cpu-local.json)" : "";
  // "a100" or "h100" name a family: offer its members rather than the nearest spelling.
  std::string family;
  for (const Hardware& h : builtin_hardware())
    if (h.name.starts_with(arg)) family += (family.empty() ? "" : ", ") + h.name;
  std::string suggestion = family.empty() ? did_you_mean(arg, names) : " (did you mean one of " + family + "?)";
  throw UsageError(fmt::format("unknown hardware '{}'{}{}; known: {}, or a path to a JSON file", arg,
                               suggestion, hint, list));
}

}  // namespace gpt::analysis
