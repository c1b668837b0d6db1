// JSON, CSV and text-table forms of conv1d bench results (gpt-conv-bench and scripts read these).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "ops/conv1d.h"

namespace gpt::conv1d {

std::string describe(const Desc& d) {
  return fmt::format("B={} C={} L={} K={} {} {} {}{}{}", d.B, d.C, d.L, d.K, name(d.layout),
                     name(d.padding), name(d.dtype), d.bias ? " +bias" : "", d.silu ? " +silu" : "");
}

nlohmann::json to_json(const BenchResult& r) {
  const Desc& d = r.desc;
  nlohmann::json j = {
      {"pass", name(r.pass)}, {"impl", name(r.impl)}, {"kernel", r.kernel}, {"ran", r.ran},
      {"shape", {{"B", d.B}, {"C", d.C}, {"L", d.L}, {"K", d.K}, {"layout", name(d.layout)},
                 {"padding", name(d.padding)}, {"dtype", name(d.dtype)}, {"bias", d.bias},
                 {"silu", d.silu}}},
      {"threads", r.threads}};
  if (!r.ran) {
    j["note"] = r.note;
    return j;
  }
  j["checked"] = r.checked;
  j["ok"] = r.ok;
  nlohmann::json errs = nlohmann::json::array();
  for (auto& e : r.errors)
    errs.push_back({{"tensor", e.tensor}, {"max_abs", e.max_abs}, {"max_rel", e.max_rel},
                    {"tol", e.tol}, {"nonfinite", e.bad}, {"ok", e.ok}});
  j["errors"] = errs;
  j["runs"] = r.runs;
  j["ms"] = r.ms;
  j["ms_p10"] = r.ms_p10;
  j["ms_p90"] = r.ms_p90;
  j["bytes"] = r.bytes;
  j["flops"] = r.flops;
  j["gbps"] = r.gbps;
  j["gflops"] = r.gflops;
  j["copy_gbps"] = r.copy_gbps;
  j["pct_copy"] = r.pct_copy;
  j["ref_ms"] = r.ref_ms;
  j["speedup_vs_ref"] = r.speedup_vs_ref;
  return j;
}

std::string csv_header() {
  return "pass,impl,kernel,layout,padding,dtype,bias,silu,B,C,L,K,threads,bytes,ms,ms_p10,ms_p90,"
         "gbps,copy_gbps,pct_copy,gflops,speedup_vs_ref,max_rel_err,ok,note";
}

static std::string csv_quote(const std::string& s) {
  std::string o = "\"";
  for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
  return o + "\"";
}

std::string csv_row(const BenchResult& r) {
  const Desc& d = r.desc;
  double max_rel = 0;
  for (auto& e : r.errors) max_rel = std::max(max_rel, e.max_rel);
  return fmt::format("{},{},{},{},{},{},{},{},{},{},{},{},{},{:.0f},{:.6g},{:.6g},{:.6g},{:.6g},"
                     "{:.6g},{:.4g},{:.6g},{:.4g},{:.3g},{},{}",
                     name(r.pass), name(r.impl), csv_quote(r.kernel), name(d.layout),
                     name(d.padding), name(d.dtype), int(d.bias), int(d.silu), d.B, d.C, d.L, d.K,
                     r.threads, r.bytes, r.ms, r.ms_p10, r.ms_p90, r.gbps, r.copy_gbps,
                     r.pct_copy, r.gflops, r.speedup_vs_ref, max_rel,
                     r.ran ? (r.checked ? (r.ok ? "ok" : "FAIL") : "unchecked") : "unavailable",
                     csv_quote(r.note));
}

std::string format_table(const std::vector<BenchResult>& rs) {
  if (rs.empty()) return "";
  const BenchResult& f = rs.front();
  std::string o = fmt::format("{} {}  ({:.1f} MB moved, {} thread{})\n", name(f.pass),
                              describe(f.desc), f.bytes / 1e6, f.threads, f.threads == 1 ? "" : "s");
  o += fmt::format("  {:<11} {:>9} {:>9} {:>7} {:>9} {:>8} {:>9} {:>6}  {}\n", "impl", "ms",
                   "GB/s", "%copy", "GFLOP/s", "x ref", "max_rel", "check", "kernel");
  for (auto& r : rs) {
    if (!r.ran) {
      o += fmt::format("  {:<11} unavailable: {}\n", name(r.impl), r.note);
      continue;
    }
    double max_rel = 0;
    for (auto& e : r.errors) max_rel = std::max(max_rel, e.max_rel);
    o += fmt::format("  {:<11} {:>9.4f} {:>9.1f} {:>6.1f}% {:>9.1f} {:>8.1f} {:>9.2e} {:>6}  {}\n",
                     name(r.impl), r.ms, r.gbps, r.pct_copy, r.gflops, r.speedup_vs_ref, max_rel,
                     r.checked ? (r.ok ? "ok" : "FAIL") : "-", r.kernel);
  }
  return o;
}

}  // namespace gpt::conv1d
