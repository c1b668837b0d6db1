// Reports of the compute-side subcommands: matmul, mha, model (and its --measure), roofline.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "analysis/measure.h"
#include "analysis/reports.h"
#include "core/error.h"

namespace gpt::analysis {

Target resolve_target(const std::string& hardware, const std::string& dtype) {
  Target t;
  t.defaulted = hardware.empty();
  t.hw = find_hardware(hardware.empty() ? kDefaultHardware : hardware);
  t.dtype = dtype.empty() ? t.hw.default_dtype : parse_dtype(dtype);
  t.hw.peak(t.dtype);  // fail early, naming the dtypes this hardware has
  return t;
}

Target measured_cpu_target(const std::string& hardware, const std::string& dtype) {
  Target t;
  if (!hardware.empty()) {
    t.hw = find_hardware(hardware);
  } else {
    try {
      t.hw = find_hardware("cpu-local");
    } catch (const UsageError&) {
      spdlog::info("no cpu-local.json here; measuring this machine first");
      t.hw = hardware_from_measurement(measure_machine());
    }
  }
  t.dtype = dtype.empty() ? DType::FP32 : parse_dtype(dtype);
  t.hw.peak(t.dtype);
  return t;
}

static std::string verdict_sentence(double intensity, const Roof& r) {
  return intensity >= r.ridge()
             ? fmt::format("compute-bound (intensity {} >= ridge {})", fixed(intensity, 1), fixed(r.ridge(), 1))
             : fmt::format("memory-bound (intensity {} < ridge {})", fixed(intensity, 1), fixed(r.ridge(), 1));
}

Report matmul_report(int64_t m, int64_t n, int64_t k, int64_t batch, const Target& t) {
  for (auto [v, name] : {std::pair{m, "--m"}, {n, "--n"}, {k, "--k"}, {batch, "--batch"}})
    if (v <= 0) throw UsageError(fmt::format("{} must be positive, got {}", name, v));
  const int s = dtype_bytes(t.dtype);
  Cost c = gemm(batch, m, n, k, s);
  Roof roof = roof_of(t.hw, t.dtype);
  Timing tm = roof.time(c);
  double attain = roof.attainable(c.intensity());

  Report r;
  r.data = {{"subcommand", "matmul"},
            {"m", m}, {"n", n}, {"k", k}, {"batch", batch},
            {"dtype", dtype_name(t.dtype)}, {"bytes_per_element", s},
            {"hardware", hardware_json(t.hw, t.dtype, t.defaulted)},
            {"cost", cost_json(c, roof)},
            {"attainable_flops", attain},
            {"fraction_of_peak", attain / roof.peak},
            {"time_s", tm.seconds()}};
  std::string shape = batch == 1 ? "" : fmt::format("{} x ", batch);
  r.text = fmt::format("matmul: {}C[M,N] = A[M,K] @ B[K,N], M={} N={} K={}, {} ({} bytes/element)\n",
                       shape, m, n, k, dtype_name(t.dtype), s);
  r.text += "hardware: " + hardware_line(t.hw, t.dtype, t.defaulted) + "\n\n";
  r.text += key_values({
      {"FLOPs", fmt::format("{} ({}; 2*M*N*K)", grouped(c.flops), si(double(c.flops), "FLOP"))},
      {"minimum bytes", fmt::format("{} ({}: read A {} + B {}, write C {})", grouped(c.bytes()),
                                    human_bytes(double(c.bytes())), human_bytes(double(mul(s, batch, m, k))),
                                    human_bytes(double(mul(s, batch, k, n))), human_bytes(double(c.bytes_written)))},
      {"intensity", fixed(c.intensity(), 2) + " FLOP/B"},
      {"compute-bound time", human_time(tm.compute_s)},
      {"memory-bound time", human_time(tm.memory_s)},
      {"bound", verdict_sentence(c.intensity(), roof)},
      {"attainable", fmt::format("{}/s ({} of peak)", si(attain, "FLOP"), percent(attain / roof.peak))},
  });
  r.csv.header = {"m", "n", "k", "batch", "dtype", "flops", "bytes_read", "bytes_written", "intensity",
                  "compute_s", "memory_s", "bound", "hardware", "ridge"};
  r.csv.rows.push_back({std::to_string(m), std::to_string(n), std::to_string(k), std::to_string(batch),
                        dtype_name(t.dtype), std::to_string(c.flops), std::to_string(c.bytes_read),
                        std::to_string(c.bytes_written), fmt::format("{:.6g}", c.intensity()),
                        fmt::format("{:.6g}", tm.compute_s), fmt::format("{:.6g}", tm.memory_s),
                        verdict(tm), t.hw.name, fmt::format("{:.6g}", roof.ridge())});
  return r;
}

static const char* kConventions =
    "Counting: multiply-add = 2 FLOPs; softmax = 5 FLOPs/element (max, subtract, exp, sum, divide);\n"
    "scale+mask = 2, dropout = 2; bytes are minimum traffic (each input read once, each output written once).\n";

Report mha_report(const MhaSpec& spec, const Target& t) {
  MhaSpec m = spec;
  m.dtype = t.dtype;
  AttentionShape a = attention_shape(m);
  std::vector<OpCost> ops = mha_ops(m);
  Roof roof = roof_of(t.hw, t.dtype);

  // The attention core alone (QK^T through PV) is what the course question is about.
  Cost core_fwd;
  for (auto& op : ops)
    if (op.kernel == "attention" && op.pass == Pass::Forward) core_fwd += op.cost;

  Report r;
  r.data = {{"subcommand", "mha"},
            {"batch", a.batch}, {"seq_len", m.seq_len}, {"q_len", a.q_len}, {"kv_len", a.kv_len},
            {"d_model", a.d_model}, {"heads", a.heads}, {"d_head", a.d_model / a.heads},
            {"dtype", dtype_name(t.dtype)}, {"bytes_per_element", a.bytes},
            {"attention", attention_name(a.impl)}, {"phase", phase_name(m.phase)},
            {"dropout", a.dropout},
            {"hardware", hardware_json(t.hw, t.dtype, t.defaulted)}};
  json oj = ops_json(ops, roof);
  r.data["ops"] = oj["ops"];
  r.data["totals"] = oj["totals"];
  r.data["core_forward"] = cost_json(core_fwd, roof);

  r.text = fmt::format("MHA, {} attention, phase {}: batch {}, {} query token{} x {} keys, d_model {}, {} heads "
                       "(d_head {}), {}\n",
                       attention_name(a.impl), phase_name(m.phase), a.batch, a.q_len, a.q_len == 1 ? "" : "s",
                       a.kv_len, a.d_model, a.heads, a.d_model / a.heads, dtype_name(t.dtype));
  r.text += "hardware: " + hardware_line(t.hw, t.dtype, t.defaulted) + "\n\n";
  r.text += ops_text_table(ops, roof, false).render();
  r.text += fmt::format("\nroofline time, stages back to back: {}\n", human_time(total_time(ops, roof)));
  r.text += fmt::format("attention core forward (QK^T to PV): {}, {}, intensity {} FLOP/B: {}\n",
                        si(double(core_fwd.flops), "FLOP"), human_bytes(double(core_fwd.bytes())),
                        fixed(core_fwd.intensity(), 1), verdict_sentence(core_fwd.intensity(), roof));
  r.text += std::string("\n") + kConventions;
  r.csv = ops_csv_table(ops, roof);
  return r;
}

static json params_json(const ParamCounts& p) {
  return {{"total", p.total}, {"wte", p.wte}, {"wpe", p.wpe}, {"lm_head", p.lm_head},
          {"per_layer", p.per_layer}, {"final_norm", p.final_norm}, {"bias", p.bias},
          {"with_bias", p.with_bias}, {"without_bias", p.without_bias}, {"if_untied", p.if_untied},
          {"non_embedding", p.non_embedding}, {"flop_params", p.flop_params}};
}

Report model_report(const ModelSpec& spec, const Target& t, double step_time) {
  ModelSpec m = spec;
  m.dtype = t.dtype;
  const int64_t T = validate(m);
  if (step_time < 0 || !std::isfinite(step_time))
    throw UsageError(fmt::format("--step-time must be a positive number of seconds, got {}", step_time));
  if (step_time > 0 && m.phase != Phase::Train)
    throw UsageError("--step-time converts a training step to MFU; use it with --phase train");
  const GPTConfig& c = m.cfg;
  std::vector<OpCost> ops = model_ops(m);
  Roof roof = roof_of(t.hw, t.dtype);
  ParamCounts p = count_params(c);
  MemoryEstimate mem = model_memory(m, ops);
  const bool train = m.phase == Phase::Train;
  const int64_t tokens = m.phase == Phase::Decode ? m.batch : mul(m.batch, T);
  Cost total = total_cost(ops);
  const double per_token = double(total.flops) / double(tokens);
  const double matmul_per_token = double(total.matmul_flops) / double(tokens);
  const int64_t rule = rule_flops_per_token(c, T, m.phase);
  const char* rule_name = train ? "6N + 12*L*T*d" : "2N + 4*L*T*d";
  const double roof_time = total_time(ops, roof);

  Report r;
  r.data = {{"subcommand", "model"},
            {"model", c.to_json()},
            {"batch", m.batch}, {"seq_len", T}, {"phase", phase_name(m.phase)},
            {"attention", attention_name(m.impl)}, {"dtype", dtype_name(t.dtype)},
            {"hardware", hardware_json(t.hw, t.dtype, t.defaulted)},
            {"params", params_json(p)}};
  json oj = ops_json(ops, roof);
  r.data["ops"] = oj["ops"];
  r.data["totals"] = oj["totals"];
  r.data["flops"] = {{"total", total.flops},
                     {"matmul", total.matmul_flops},
                     {"tokens", tokens},
                     {"per_token", per_token},
                     {"matmul_per_token", matmul_per_token},
                     {"rule", rule_name},
                     {"rule_per_token", rule},
                     {"per_token_over_rule", per_token / double(rule)},
                     {"matmul_per_token_over_rule", matmul_per_token / double(rule)}};
  r.data["memory"] = {{"weights", mem.weights}, {"master_weights", mem.master_weights},
                      {"grads", mem.grads}, {"optimizer", mem.optimizer},
                      {"activations", mem.activations}, {"kv_cache", mem.kv_cache},
                      {"total", mem.total()}};
  r.data["roofline_time_s"] = roof_time;

  std::string what = train ? "training step" : m.phase == Phase::Prefill ? "prefill" : "decode step";
  r.text = fmt::format("model: L={} H={} d={} V={} block={} bias={} tied={}; {} of batch {} x {} {}, "
                       "{} attention, {}\n",
                       c.n_layer, c.n_head, c.n_embd, c.vocab_size, c.block_size, c.bias ? "yes" : "no",
                       c.tie_embeddings ? "yes" : "no", what, m.batch, T,
                       m.phase == Phase::Decode ? "context (1 new token each)" : "tokens",
                       attention_name(m.impl), dtype_name(t.dtype));
  r.text += "hardware: " + hardware_line(t.hw, t.dtype, t.defaulted) + "\n\n";
  r.text += "parameters\n";
  r.text += key_values({
      {"total", fmt::format("{} ({})", grouped(p.total), si(double(p.total), ""))},
      {"with bias / without bias", fmt::format("{} / {}", grouped(p.with_bias), grouped(p.without_bias))},
      {"lm head", c.tie_embeddings ? fmt::format("tied to wte (untied would be {})", grouped(p.if_untied))
                                   : fmt::format("untied, {}", grouped(p.lm_head))},
      {"non-embedding (total - wpe)", grouped(p.non_embedding)},
      {"N in the FLOP rule", grouped(p.flop_params)},
  });
  r.text += fmt::format("\nper op (rows marked x{} run once per layer)\n", c.n_layer);
  r.text += ops_text_table(ops, roof, true).render();
  r.text += fmt::format("\nroofline time, ops back to back: {}", human_time(roof_time));
  if (tokens > 0) r.text += fmt::format(" ({} tokens/s)", si(double(tokens) / roof_time, ""));
  r.text += "\n\nFLOPs\n";
  std::vector<std::pair<std::string, std::string>> fl = {
      {"per token (counted)", fmt::format("{} ({} in matmuls)", si(per_token, "FLOP"), si(matmul_per_token, "FLOP"))},
      {std::string("per token (") + rule_name + ")", fmt::format("{}; counted/rule = {}, matmuls/rule = {}",
                                                                  si(double(rule), "FLOP"), fixed(per_token / double(rule), 4),
                                                                  fixed(matmul_per_token / double(rule), 4))},
      {std::string("per ") + what, fmt::format("{} ({})", grouped(total.flops), si(double(total.flops), "FLOP"))},
  };
  if (train) fl.push_back({"per sequence (matmuls only)", si(double(total.matmul_flops) / double(m.batch), "FLOP")});
  r.text += key_values(fl);
  r.text += "\nmemory\n";
  std::vector<std::pair<std::string, std::string>> mm = {{"weights", human_bytes(double(mem.weights))}};
  if (train) {
    if (mem.master_weights) mm.push_back({"fp32 master weights", human_bytes(double(mem.master_weights))});
    mm.push_back({"grads", human_bytes(double(mem.grads))});
    mm.push_back({"AdamW m, v (fp32)", human_bytes(double(mem.optimizer))});
    mm.push_back({"activations kept for backward", human_bytes(double(mem.activations))});
  } else {
    mm.push_back({"KV cache", human_bytes(double(mem.kv_cache))});
    mm.push_back({"activations (largest intermediate + residual)", human_bytes(double(mem.activations))});
  }
  mm.push_back({"total", human_bytes(double(mem.total()))});
  if (t.hw.memory_bytes > 0)
    mm.push_back({"fits in " + t.hw.name, mem.total() <= t.hw.memory_bytes
                                             ? fmt::format("yes ({} of {})", percent(double(mem.total()) / t.hw.memory_bytes), human_bytes(t.hw.memory_bytes))
                                             : fmt::format("no ({} > {})", human_bytes(double(mem.total())), human_bytes(t.hw.memory_bytes))});
  r.text += key_values(mm);
  if (step_time > 0) {
    double counted = double(total.flops) / step_time / roof.peak;
    double palm = double(rule) * double(tokens) / step_time / roof.peak;
    r.data["mfu"] = {{"step_time_s", step_time}, {"tokens_per_s", double(tokens) / step_time},
                     {"mfu", palm}, {"mfu_counted", counted}, {"peak_flops", roof.peak},
                     {"roofline_step_time_s", roof_time}};
    r.text += fmt::format("\nMFU for a {} step on {} ({} {} peak)\n", human_time(step_time), t.hw.name,
                          si(roof.peak, "FLOP/s"), dtype_name(t.dtype));
    r.text += key_values({
        {"tokens/s", si(double(tokens) / step_time, "")},
        {std::string("MFU (") + rule_name + ")", percent(palm)},
        {"MFU (counted FLOPs)", percent(counted)},
        {"roofline step time", fmt::format("{} (the step takes {}x that)", human_time(roof_time), fixed(step_time / roof_time, 2))},
    });
  }
  r.text += std::string("\n") + kConventions;
  r.csv = ops_csv_table(ops, roof);
  return r;
}

Report model_measure_report(const ModelSpec& spec, const Target& t) {
  ModelSpec m = spec;
  m.dtype = t.dtype;
  const int64_t T = validate(m);
  Roof roof = roof_of(t.hw, t.dtype);
  std::vector<MeasuredOp> meas = measure_model_ops(m);
  Report r;
  json rows = json::array();
  Table tab;
  tab.header = {"op", "x", "FLOPs", "bytes", "FLOP/B", "predicted", "measured", "measured/predicted", ""};
  Table csv;
  csv.header = {"op", "pass", "count", "flops", "bytes", "intensity", "predicted_s", "measured_s", "ratio"};
  double pred_total = 0, meas_total = 0;
  for (auto& op : meas) {
    double pred = roof.time(op.predicted).seconds();
    double ratio = pred > 0 ? op.seconds / pred : 0;
    pred_total += pred * double(op.count);
    meas_total += op.seconds * double(op.count);
    std::string name = op.pass == Pass::Backward ? op.name + " (bwd)" : op.name;
    tab.rows.push_back({name, std::to_string(op.count), si(double(op.predicted.flops), "", 4),
                        human_bytes(double(op.predicted.bytes())), fixed(op.predicted.intensity(), 1),
                        human_time(pred), human_time(op.seconds), fixed(ratio, 2),
                        ratio > 2 || (ratio > 0 && ratio < 0.5) ? "> 2x off" : ""});
    csv.rows.push_back({op.name, pass_name(op.pass), std::to_string(op.count), std::to_string(op.predicted.flops),
                        std::to_string(op.predicted.bytes()), fmt::format("{:.6g}", op.predicted.intensity()),
                        fmt::format("{:.6g}", pred), fmt::format("{:.6g}", op.seconds), fmt::format("{:.6g}", ratio)});
    json j = cost_json(op.predicted, roof);
    j["name"] = op.name;
    j["pass"] = pass_name(op.pass);
    j["count"] = op.count;
    j["predicted_s"] = pred;
    j["measured_s"] = op.seconds;
    j["ratio"] = ratio;
    rows.push_back(j);
  }
  tab.rules.push_back(tab.rows.size());
  tab.rows.push_back({"total (all layers)", "", "", "", "", human_time(pred_total), human_time(meas_total),
                      fixed(meas_total / pred_total, 2), ""});
  csv.rows.push_back({"total", "all", "1", "", "", "", fmt::format("{:.6g}", pred_total),
                      fmt::format("{:.6g}", meas_total), fmt::format("{:.6g}", meas_total / pred_total)});
  r.data = {{"subcommand", "model --measure"}, {"model", m.cfg.to_json()}, {"batch", m.batch},
            {"seq_len", T}, {"phase", phase_name(m.phase)},
            {"hardware", hardware_json(t.hw, t.dtype, t.defaulted)}, {"ops", rows},
            {"predicted_total_s", pred_total}, {"measured_total_s", meas_total}};
  r.text = fmt::format("measured CPU ops: L={} H={} d={} V={}, {} of batch {} x {} tokens, fp32\n", m.cfg.n_layer,
                       m.cfg.n_head, m.cfg.n_embd, m.cfg.vocab_size, phase_name(m.phase), m.batch, T);
  r.text += "predicted on: " + hardware_line(t.hw, t.dtype, t.defaulted) + "\n\n";
  r.text += tab.render();
  r.text += "\nmeasured: median of repeated runs of the library's CPU kernel (one instance; totals multiply by x).\n"
            "predicted: max(FLOPs / peak, minimum bytes / bandwidth). docs/intensity.md explains the gaps.\n";
  r.csv = csv;
  return r;
}

Report roofline_report(const Target& t) {
  const Hardware& hw = t.hw;
  Report r;
  Table tab;
  tab.header = {"dtype", "bytes", "peak", "ridge FLOP/B", "ridge (elements)"};
  json peaks = json::array();
  for (auto& [d, peak] : hw.peak_flops) {
    double ridge = peak / hw.bandwidth;
    tab.rows.push_back({dtype_name(d), std::to_string(dtype_bytes(d)), si(peak, "FLOP/s"), fixed(ridge, 1),
                        fixed(ridge * dtype_bytes(d), 1)});
    peaks.push_back({{"dtype", dtype_name(d)}, {"peak_flops", peak}, {"ridge", ridge}});
  }
  r.data = {{"subcommand", "roofline"}, {"name", hw.name}, {"description", hw.description},
            {"bandwidth", hw.bandwidth}, {"memory_bytes", hw.memory_bytes}, {"peaks", peaks},
            {"default_dtype", dtype_name(hw.default_dtype)}, {"defaulted", t.defaulted},
            {"origin", hw.origin}, {"sources", hw.sources}};
  r.text = fmt::format("{}: {}{}\n", hw.name, hw.description, t.defaulted ? " [default; choose with --hardware]" : "");
  r.text += key_values({{"memory", human_bytes(hw.memory_bytes)},
                        {"bandwidth", si(hw.bandwidth, "B/s")},
                        {"default dtype", dtype_name(hw.default_dtype)},
                        {"from", hw.origin}}) + "\n";
  r.text += tab.render();
  r.text += "\nAn op is compute-bound when its FLOP/byte is at or above the ridge, memory-bound below it.\n";
  if (hw.sources.is_object() && !hw.sources.empty()) {
    r.text += "\nsources\n";
    std::vector<std::pair<std::string, std::string>> src;
    for (auto& [k, v] : hw.sources.items()) src.push_back({k, v.is_string() ? v.get<std::string>() : v.dump()});
    r.text += key_values(src);
  } else if (hw.sources.is_string()) {
    r.text += "\nsource: " + hw.sources.get<std::string>() + "\n";
  }
  if (!hw.notes.empty()) r.text += "\nnote: " + hw.notes + "\n";
  r.csv.header = {"hardware", "dtype", "bytes", "peak_flops", "bandwidth", "ridge"};
  for (auto& [d, peak] : hw.peak_flops)
    r.csv.rows.push_back({hw.name, dtype_name(d), std::to_string(dtype_bytes(d)), fmt::format("{:.6g}", peak),
                          fmt::format("{:.6g}", hw.bandwidth), fmt::format("{:.6g}", peak / hw.bandwidth)});
  return r;
}

Report roofline_all_report() {
  Report r;
  Table tab;
  tab.header = {"name", "description", "memory", "bandwidth", "fp32", "tf32", "fp16", "bf16", "fp8", "int8",
                "ridge (default dtype)"};
  tab.left_columns = 2;
  r.csv.header = {"hardware", "dtype", "bytes", "peak_flops", "bandwidth", "ridge"};
  json all = json::array();
  for (const Hardware& hw : builtin_hardware()) {
    std::vector<std::string> row = {hw.name, hw.description, human_bytes(hw.memory_bytes), si(hw.bandwidth, "B/s")};
    for (DType d : all_dtypes()) row.push_back(hw.has(d) ? si(hw.peak(d), "") : "-");
    row.push_back(fmt::format("{} ({})", fixed(hw.ridge(hw.default_dtype), 1), dtype_name(hw.default_dtype)));
    tab.rows.push_back(row);
    for (auto& [d, peak] : hw.peak_flops)
      r.csv.rows.push_back({hw.name, dtype_name(d), std::to_string(dtype_bytes(d)), fmt::format("{:.6g}", peak),
                            fmt::format("{:.6g}", hw.bandwidth), fmt::format("{:.6g}", peak / hw.bandwidth)});
    all.push_back(hw.to_json());
  }
  r.data = {{"subcommand", "roofline --all"}, {"hardware", all}, {"default", kDefaultHardware}};
  r.text = "built-in hardware (peaks in FLOP/s, dense; files in configs/hardware/)\n\n" + tab.render();
  r.text += fmt::format("\ndefault when --hardware is not given: {}\n", kDefaultHardware);
  return r;
}

Report measure_report(const Hardware& hw, const std::string& written_to) {
  Target t{hw, DType::FP32, false};
  Report r = roofline_report(t);
  r.data["written_to"] = written_to;
  r.text = fmt::format("wrote {}; use it with --hardware cpu-local (from this directory) or --hardware {}\n\n",
                       written_to, written_to) + r.text;
  return r;
}

}  // namespace gpt::analysis
