#include "analysis/roofline.h"

#include <algorithm>

#include <fmt/format.h>

namespace gpt::analysis {

const char* pass_name(Pass p) {
  switch (p) {
    case Pass::Forward: return "forward";
    case Pass::Backward: return "backward";
    case Pass::Optimizer: return "optimizer";
  }
  return "?";
}

double Roof::attainable(double intensity) const { return std::min(peak, intensity * bandwidth); }

Roof roof_of(const Hardware& hw, DType t) { return {hw.peak(t), hw.bandwidth}; }

const char* verdict(const Timing& t) { return t.compute_bound() ? "compute" : "memory"; }

Cost total_cost(const std::vector<OpCost>& ops, std::optional<Pass> pass) {
  Cost c;
  for (auto& op : ops)
    if (!pass || op.pass == *pass) c += op.cost.times(op.count);
  return c;
}

double total_time(const std::vector<OpCost>& ops, const Roof& roof, std::optional<Pass> pass) {
  double t = 0;
  for (auto& op : ops)
    if (!pass || op.pass == *pass) t += roof.time(op.cost).seconds() * double(op.count);
  return t;
}

static std::vector<Pass> passes_present(const std::vector<OpCost>& ops) {
  std::vector<Pass> ps;
  for (auto& op : ops)
    if (std::find(ps.begin(), ps.end(), op.pass) == ps.end()) ps.push_back(op.pass);
  return ps;
}

static std::string display_name(const OpCost& op) {
  return op.pass == Pass::Backward ? op.name + " (bwd)" : op.name;
}

Table ops_text_table(const std::vector<OpCost>& ops, const Roof& roof, bool show_count) {
  Table t;
  t.header = {"op"};
  if (show_count) t.header.push_back("x");
  for (const char* h : {"FLOPs", "read", "written", "FLOP/B", "compute", "memory", "bound", "share"})
    t.header.push_back(h);
  const double total = total_time(ops, roof);
  auto row = [&](const std::string& name, const std::string& count, const Cost& c, const Timing& tm,
                 double share) {
    std::vector<std::string> r = {name};
    if (show_count) r.push_back(count);
    r.insert(r.end(), {si(double(c.flops), "", 4), human_bytes(double(c.bytes_read)),
                       human_bytes(double(c.bytes_written)), fixed(c.intensity(), 1),
                       human_time(tm.compute_s), human_time(tm.memory_s), verdict(tm),
                       percent(share)});
    t.rows.push_back(r);
  };
  for (auto& op : ops) {
    Timing tm = roof.time(op.cost);
    row(display_name(op), std::to_string(op.count), op.cost, tm,
        total > 0 ? tm.seconds() * double(op.count) / total : 0);
  }
  auto passes = passes_present(ops);
  bool first = true;
  if (passes.size() > 1) {
    for (Pass p : passes) {
      Cost c = total_cost(ops, p);
      if (first) t.rules.push_back(t.rows.size());
      first = false;
      row(std::string(pass_name(p)) + " total", "", c, roof.time(c),
          total > 0 ? total_time(ops, roof, p) / total : 0);
    }
  }
  if (first) t.rules.push_back(t.rows.size());
  Cost c = total_cost(ops);
  row("total", "", c, roof.time(c), 1.0);
  return t;
}

Table ops_csv_table(const std::vector<OpCost>& ops, const Roof& roof) {
  Table t;
  t.header = {"op", "pass", "count", "flops", "matmul_flops", "bytes_read", "bytes_written",
              "intensity", "compute_s", "memory_s", "time_s", "bound", "share"};
  const double total = total_time(ops, roof);
  auto row = [&](const std::string& name, const std::string& pass, int64_t count, const Cost& c,
                 const Timing& tm, double time, double share) {
    t.rows.push_back({name, pass, std::to_string(count), std::to_string(c.flops),
                      std::to_string(c.matmul_flops), std::to_string(c.bytes_read),
                      std::to_string(c.bytes_written), fmt::format("{:.6g}", c.intensity()),
                      fmt::format("{:.6g}", tm.compute_s), fmt::format("{:.6g}", tm.memory_s),
                      fmt::format("{:.6g}", time), verdict(tm), fmt::format("{:.6g}", share)});
  };
  for (auto& op : ops) {
    Timing tm = roof.time(op.cost);
    row(op.name, pass_name(op.pass), op.count, op.cost, tm, tm.seconds(),
        total > 0 ? tm.seconds() * double(op.count) / total : 0);
  }
  Cost c = total_cost(ops);
  Timing tm = roof.time(c);
  row("total", "all", 1, c, tm, total, 1.0);
  return t;
}

json cost_json(const Cost& c, const Roof& roof) {
  Timing tm = roof.time(c);
  return {{"flops", c.flops},
          {"matmul_flops", c.matmul_flops},
          {"bytes_read", c.bytes_read},
          {"bytes_written", c.bytes_written},
          {"bytes", c.bytes()},
          {"intensity", c.intensity()},
          {"compute_s", tm.compute_s},
          {"memory_s", tm.memory_s},
          {"bound", verdict(tm)}};
}

json ops_json(const std::vector<OpCost>& ops, const Roof& roof) {
  const double total = total_time(ops, roof);
  json rows = json::array();
  for (auto& op : ops) {
    json r = cost_json(op.cost, roof);
    Timing tm = roof.time(op.cost);
    r["name"] = op.name;
    r["pass"] = pass_name(op.pass);
    r["count"] = op.count;
    r["time_s"] = tm.seconds();
    r["share"] = total > 0 ? tm.seconds() * double(op.count) / total : 0;
    rows.push_back(r);
  }
  json totals = json::object();
  for (Pass p : passes_present(ops)) {
    json tj = cost_json(total_cost(ops, p), roof);
    tj["time_s"] = total_time(ops, roof, p);
    totals[pass_name(p)] = tj;
  }
  json all = cost_json(total_cost(ops), roof);
  all["time_s"] = total;
  totals["all"] = all;
  return {{"ops", rows}, {"totals", totals}};
}

std::string hardware_line(const Hardware& hw, DType t, bool defaulted) {
  Roof r = roof_of(hw, t);
  std::string s = fmt::format("{} ({}): {} {}, {}/s, ridge {} FLOP/B", hw.name, hw.description,
                              si(r.peak, "FLOP/s"), dtype_name(t), si(r.bandwidth, "B"),
                              fixed(r.ridge(), 1));
  if (defaulted) s += " [default; choose with --hardware]";
  return s;
}

json hardware_json(const Hardware& hw, DType t, bool defaulted) {
  Roof r = roof_of(hw, t);
  return {{"name", hw.name},
          {"description", hw.description},
          {"dtype", dtype_name(t)},
          {"peak_flops", r.peak},
          {"bandwidth", r.bandwidth},
          {"memory_bytes", hw.memory_bytes},
          {"ridge", r.ridge()},
          {"defaulted", defaulted},
          {"origin", hw.origin}};
}

}  // namespace gpt::analysis
