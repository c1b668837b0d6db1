// Reports of the inference-side subcommands: kv (KV-cache memory and FLOPs) and specdecode.
#include <algorithm>
#include <cmath>
#include <functional>

#include <fmt/format.h>

#include "analysis/reports.h"
#include "analysis/spec_decode.h"
#include "core/error.h"

namespace gpt::analysis {

Report kv_report(const KvSpec& spec, const Target& t) {
  ModelSpec ms;
  ms.cfg = spec.cfg;
  ms.batch = spec.batch;
  ms.seq_len = spec.seq_len;
  ms.dtype = t.dtype;
  ms.phase = Phase::Decode;
  const int64_t T = validate(ms);
  if (spec.memory_bytes < 0 || !std::isfinite(spec.memory_bytes))
    throw UsageError(fmt::format("--memory-gb must be positive, got {}", spec.memory_bytes / 1e9));
  const GPTConfig& c = spec.cfg;
  const int s = dtype_bytes(t.dtype);
  const int64_t L = c.n_layer, C = c.n_embd, B = spec.batch;
  const int64_t per_token = mul(2, L, C, s);  // K and V, every layer
  const int64_t total = mul(per_token, B, T);
  const int64_t P = count_params(c).total;
  const int64_t weights = mul(P, s);
  const double memory = spec.memory_bytes > 0 ? spec.memory_bytes : t.hw.memory_bytes;
  if (memory <= 0) throw UsageError(t.hw.name + " has no memory size; pass --memory-gb");
  const double free = memory - double(weights);
  const int64_t max_tokens = free > 0 ? int64_t(std::floor(free / double(per_token))) : 0;
  const int64_t max_batch = max_tokens / T, max_len = max_tokens / B;
  const bool fits = double(total) <= free;

  Roof roof = roof_of(t.hw, t.dtype);
  // FLOPs for one new token at context T: with the cache a 1-token forward; without it the
  // whole T-token prefix runs again (logits for the last position only, either way).
  ModelSpec one = ms;
  one.batch = 1;
  Cost cached = total_cost(model_ops(one));
  one.phase = Phase::Prefill;
  Cost recompute = total_cost(model_ops(one));
  const double flop_ratio = double(recompute.flops) / double(cached.flops);
  // Cache or recompute one cached token's K and V: two d x d projections per layer against
  // reading 2*d elements per layer.
  const int64_t kv_flops = mul(4, L, C, C);
  const double t_recompute = double(kv_flops) / roof.peak, t_read = double(per_token) / roof.bandwidth;
  // A decode step of the whole batch on this hardware.
  std::vector<OpCost> step_ops = model_ops(ms);
  Cost step = total_cost(step_ops);
  const double step_time = total_time(step_ops, roof);

  Report r;
  r.data = {{"subcommand", "kv"}, {"model", c.to_json()}, {"batch", B}, {"seq_len", T},
            {"dtype", dtype_name(t.dtype)}, {"hardware", hardware_json(t.hw, t.dtype, t.defaulted)},
            {"kv_bytes_per_token", per_token}, {"kv_bytes_total", total},
            {"weights_bytes", weights}, {"memory_bytes", memory}, {"free_bytes", free},
            {"fits", fits}, {"max_tokens", max_tokens},
            {"max_batch_at_seq_len", max_batch}, {"max_len_at_batch", max_len},
            {"flops_per_token_cached", cached.flops}, {"flops_per_token_no_cache", recompute.flops},
            {"no_cache_over_cached", flop_ratio},
            {"kv_recompute_flops_per_token", kv_flops}, {"kv_read_bytes_per_token", per_token},
            {"recompute_time_s", t_recompute}, {"read_time_s", t_read},
            {"recompute_over_read", t_recompute / t_read},
            {"decode_step", cost_json(step, roof)}, {"decode_step_time_s", step_time},
            {"decode_tokens_per_s", double(B) / step_time}};

  r.text = fmt::format("KV cache: L={} d={} H={}, batch {} x {} tokens, {}\n", L, C, c.n_head, B, T, dtype_name(t.dtype));
  r.text += "hardware: " + hardware_line(t.hw, t.dtype, t.defaulted) + "\n\n";
  std::string len_note = max_len > c.block_size ? fmt::format(" (beyond block_size {})", c.block_size) : "";
  r.text += key_values({
      {"bytes per token", fmt::format("{} (2 * L * d * {} bytes = {})", grouped(per_token), s, human_bytes(double(per_token)))},
      {"cache for batch x length", fmt::format("{} ({})", grouped(total), human_bytes(double(total)))},
      {"weights", human_bytes(double(weights))},
      {"memory", fmt::format("{}{}", human_bytes(memory), spec.memory_bytes > 0 ? " (--memory-gb)" : " (" + t.hw.name + ")")},
      {"fits beside the weights", fits ? fmt::format("yes ({} of the free {})", percent(double(total) / free), human_bytes(free))
                                       : fmt::format("no (free {})", human_bytes(std::max(free, 0.0)))},
      {"tokens that fit", grouped(max_tokens)},
      {fmt::format("max batch at length {}", T), grouped(max_batch)},
      {fmt::format("max length at batch {}", B), grouped(max_len) + len_note},
  });
  r.text += fmt::format("\nFLOPs per generated token at context {}\n", T);
  r.text += key_values({
      {"with the cache", si(double(cached.flops), "FLOP")},
      {"without (recompute the prefix)", si(double(recompute.flops), "FLOP")},
      {"ratio", fixed(flop_ratio, 1) + "x"},
  });
  r.text += "\ncache or recompute one token's K, V\n";
  r.text += key_values({
      {"recompute (4 * L * d^2 FLOPs)", fmt::format("{} in {}", si(double(kv_flops), "FLOP"), human_time(t_recompute))},
      {"read from the cache", fmt::format("{} in {}", human_bytes(double(per_token)), human_time(t_read))},
      {"recompute / read", fmt::format("{}x: {}", fixed(t_recompute / t_read, 2),
                                       t_recompute > t_read ? "reading the cache is faster" : "recomputing is faster")},
  });
  r.text += fmt::format("\ndecode step (batch {}, context {}) on {}\n", B, T, t.hw.name);
  r.text += key_values({
      {"bytes moved", human_bytes(double(step.bytes()))},
      {"intensity", fixed(step.intensity(), 2) + " FLOP/B"},
      {"roofline time", fmt::format("{} ({} tokens/s)", human_time(step_time), si(double(B) / step_time, ""))},
  });
  r.csv.header = {"model_layers", "d_model", "batch", "seq_len", "dtype", "kv_bytes_per_token", "kv_bytes_total",
                  "weights_bytes", "memory_bytes", "fits", "max_tokens", "max_batch_at_seq_len", "max_len_at_batch",
                  "flops_per_token_cached", "flops_per_token_no_cache", "recompute_over_read", "decode_step_time_s"};
  r.csv.rows.push_back({std::to_string(L), std::to_string(C), std::to_string(B), std::to_string(T), dtype_name(t.dtype),
                        std::to_string(per_token), std::to_string(total), std::to_string(weights),
                        fmt::format("{:.6g}", memory), fits ? "true" : "false", std::to_string(max_tokens),
                        std::to_string(max_batch), std::to_string(max_len), std::to_string(cached.flops),
                        std::to_string(recompute.flops), fmt::format("{:.6g}", t_recompute / t_read),
                        fmt::format("{:.6g}", step_time)});
  return r;
}

namespace {

struct Acceptance {
  double alpha;
  std::string from;
};

Acceptance resolve_alpha(const SpecInputs& in) {
  int given = int(in.alpha.has_value()) + int(in.accept_rate.has_value()) + int(in.tokens_per_call.has_value());
  if (given == 0) throw UsageError("give the acceptance: --alpha A, --accept-rate R (accepted/drafted) or --tokens-per-call E");
  if (given > 1) throw UsageError("give only one of --alpha, --accept-rate and --tokens-per-call");
  if (in.alpha) {
    validate_spec(*in.alpha, in.gamma, 0);
    return {*in.alpha, "alpha"};
  }
  if (in.accept_rate) return {alpha_from_accept_rate(*in.accept_rate, in.gamma), "accept_rate"};
  return {alpha_from_tokens_per_call(*in.tokens_per_call, in.gamma), "tokens_per_call"};
}

void check_costs(const SpecInputs& in, double c, double c_hat) {
  validate_spec(0.5, in.gamma, c);
  if (!(c_hat >= 0) || !std::isfinite(c_hat)) throw UsageError(fmt::format("--c-hat must be >= 0, got {}", c_hat));
  double v = in.verify_cost.value_or(1.0);
  if (!(v > 0) || !std::isfinite(v)) throw UsageError(fmt::format("--verify-cost must be positive, got {}", v));
  if (in.max_gamma < 1 || in.max_gamma > 1024)
    throw UsageError(fmt::format("--max-gamma must be in [1, 1024], got {}", in.max_gamma));
}

}  // namespace

namespace {

// c, c_hat and the verify cost v(gamma) from two model shapes on one machine: each model's
// decode step at batch 1 and the same context, timed by the roofline.
struct DerivedCosts {
  double c = 0, c_hat = 0;
  std::function<double(int64_t)> verify;
  json data;
};

DerivedCosts derive_costs(const SpecInputs& in, const Target& t) {
  const GPTConfig& tg = *in.target_model;
  const GPTConfig& dr = *in.draft_model;
  if (tg.vocab_size != dr.vocab_size)
    throw UsageError(fmt::format("target and draft must share a vocabulary (vocab_size {} vs {})", tg.vocab_size,
                                 dr.vocab_size));
  ModelSpec ts;
  ts.cfg = tg;
  ts.phase = Phase::Decode;
  ts.dtype = t.dtype;
  ts.seq_len = in.context ? in.context : std::min(tg.block_size, dr.block_size);
  ModelSpec ds = ts;
  ds.cfg = dr;
  validate(ts);
  validate(ds);
  Roof roof = roof_of(t.hw, t.dtype);
  auto step = [&](ModelSpec m, int64_t new_tokens) {
    m.new_tokens = new_tokens;
    std::vector<OpCost> ops = model_ops(m);
    return std::pair{total_time(ops, roof), total_cost(ops).flops};
  };
  auto [tt, tf] = step(ts, 1);
  auto [dt, df] = step(ds, 1);
  DerivedCosts d;
  d.c = dt / tt;
  d.c_hat = double(df) / double(tf);
  d.verify = [ts, roof, tt](int64_t g) {
    ModelSpec m = ts;
    m.new_tokens = std::min<int64_t>(g + 1, m.seq_len);
    return total_time(model_ops(m), roof) / tt;
  };
  d.data = {{"hardware", hardware_json(t.hw, t.dtype, t.defaulted)}, {"context", ts.seq_len},
            {"target_step_s", tt}, {"draft_step_s", dt}, {"target_flops_per_token", tf},
            {"draft_flops_per_token", df}, {"target", tg.to_json()}, {"draft", dr.to_json()}};
  return d;
}

}  // namespace

Report specdecode_report(const SpecInputs& in, const Target* hw) {
  Acceptance acc = resolve_alpha(in);
  const bool models = in.target_model && in.draft_model;
  if (bool(in.target_model) != bool(in.draft_model)) throw UsageError("give both --target and --draft, or neither");
  if (models && !hw) throw Error("specdecode_report: model shapes need a hardware target");
  DerivedCosts d;
  if (models) d = derive_costs(in, *hw);
  if (!in.c && !models)
    throw UsageError("--c is required: the draft's step time over the target's (e.g. --c 0.05), or give --target and --draft");
  const double a = acc.alpha, c = in.c ? *in.c : d.c;
  const double c_hat = in.c_hat ? *in.c_hat : models ? d.c_hat : c;
  const int64_t g = in.gamma;
  std::function<double(int64_t)> vf = [&](int64_t) { return in.verify_cost.value_or(1.0); };
  if (models && !in.verify_cost) vf = d.verify;
  SpecInputs chk = in;
  chk.verify_cost = in.verify_cost.value_or(1.0);
  check_costs(chk, c, c_hat);
  auto speed = [&](int64_t k) { return spec_speedup(a, k, c, vf(k)); };
  const double v = vf(g);
  const double E = expected_tokens(a, g), sp = speed(g), infl = op_inflation(a, g, c_hat);
  int64_t best = 1;
  for (int64_t k = 2; k <= in.max_gamma; ++k)
    if (speed(k) > speed(best) * (1 + 1e-12)) best = k;
  const double best_sp = speed(best);

  Report r;
  json sweep = json::array();
  for (int64_t k = 1; k <= in.max_gamma; ++k)
    sweep.push_back({{"gamma", k}, {"tokens_per_call", expected_tokens(a, k)},
                     {"accepted", expected_accepted(a, k)}, {"accept_rate", accept_rate(a, k)},
                     {"verify_cost", vf(k)}, {"speedup", speed(k)}, {"op_inflation", op_inflation(a, k, c_hat)}});
  r.data = {{"subcommand", "specdecode"}, {"alpha", a}, {"alpha_from", acc.from}, {"gamma", g},
            {"c", c}, {"c_hat", c_hat}, {"verify_cost", v},
            {"expected_tokens_per_call", E}, {"expected_accepted", E - 1},
            {"accept_rate", accept_rate(a, g)}, {"efficiency", efficiency(a, g)},
            {"mean_acceptance_length", E}, {"speedup", sp}, {"op_inflation", infl},
            {"best_gamma", best}, {"best_speedup", best_sp}, {"max_gamma", in.max_gamma},
            {"sweep", sweep}};
  if (a > c) r.data["speedup_guarantee"] = (1 + a) / (1 + c);
  if (models) r.data["derived"] = d.data;

  std::string from = acc.from == "alpha" ? "given" : acc.from == "accept_rate" ? "from --accept-rate" : "from --tokens-per-call";
  r.text = fmt::format("speculative decoding: alpha {} ({}), gamma {}, c {}{}{}\n", fixed(a, 4), from, g,
                       fmt::format("{:.4g}", c), c_hat != c ? fmt::format(", c_hat {:.4g}", c_hat) : "",
                       v != 1 ? fmt::format(", verify cost {:.4g}", v) : "");
  if (models) {
    r.text += fmt::format("costs from the roofline on {} ({}), batch 1, context {}: target step {}, draft step {}\n",
                          hw->hw.name, dtype_name(hw->dtype), d.data["context"].get<int64_t>(),
                          human_time(d.data["target_step_s"].get<double>()),
                          human_time(d.data["draft_step_s"].get<double>()));
    if (hw->defaulted) r.text += "hardware: " + hardware_line(hw->hw, hw->dtype, true) + "\n";
  }
  r.text += "\n";
  r.text += key_values({
      {"tokens per target call", fmt::format("{}  (1 - a^(g+1)) / (1 - a), with the bonus token", fixed(E, 4))},
      {"accepted draft tokens", fmt::format("{}  per call", fixed(E - 1, 4))},
      {"walltime speedup", fmt::format("{}x  tokens / (g*c + v)", fixed(sp, 4))},
      {"arithmetic-op inflation", fmt::format("{}x  (g*c_hat + g + 1) / tokens", fixed(infl, 4))},
      {"best gamma in 1.." + std::to_string(in.max_gamma), fmt::format("{} ({}x)", best, fixed(best_sp, 4))},
      {"guarantee", a > c ? fmt::format("alpha > c, so some gamma gives at least (1+a)/(1+c) = {}x", fixed((1 + a) / (1 + c), 4))
                          : std::string("alpha <= c: speculation may not pay off at any gamma")},
  });
  r.text += "\nthe same acceptance in other tools' terms\n";
  r.text += key_values({
      {"alpha (per-token acceptance)", fixed(a, 4)},
      {"llama.cpp accept (accepted/drafted)", fixed(accept_rate(a, g), 4)},
      {"vLLM mean acceptance length", fixed(E, 4)},
      {"vLLM V0 system efficiency", fixed(efficiency(a, g), 4)},
  });
  Table tab;
  tab.header = {"gamma", "tokens/call", "accepted", "accept rate", "speedup", "op inflation"};
  int64_t shown = std::min<int64_t>(in.max_gamma, 8);
  for (int64_t k = 1; k <= in.max_gamma; ++k) {
    if (k > shown && k != best && k != g) continue;
    if (k > shown && tab.rules.empty()) tab.rules.push_back(tab.rows.size());
    tab.rows.push_back({std::to_string(k) + (k == best ? " *" : ""), fixed(expected_tokens(a, k), 4),
                        fixed(expected_accepted(a, k), 4), fixed(accept_rate(a, k), 4),
                        fixed(speed(k), 4) + "x", fixed(op_inflation(a, k, c_hat), 4) + "x"});
  }
  r.text += "\n";
  r.text += tab.render();
  r.text += fmt::format("(* best gamma; --json or --csv list all of 1..{})\n", in.max_gamma);
  r.text += "\nAssumes i.i.d. acceptance; real acceptance falls with draft position, and fixed per-call\n"
            "overheads are not modelled. v is the verify pass's cost in target steps (1 unless\n"
            "--verify-cost or --target/--draft say otherwise).\n";
  r.csv.header = {"gamma", "alpha", "c", "verify_cost", "tokens_per_call", "accepted", "accept_rate", "speedup", "op_inflation"};
  for (int64_t k = 1; k <= in.max_gamma; ++k)
    r.csv.rows.push_back({std::to_string(k), fmt::format("{:.6g}", a), fmt::format("{:.6g}", c), fmt::format("{:.6g}", vf(k)),
                          fmt::format("{:.6g}", expected_tokens(a, k)), fmt::format("{:.6g}", expected_accepted(a, k)),
                          fmt::format("{:.6g}", accept_rate(a, k)), fmt::format("{:.6g}", speed(k)),
                          fmt::format("{:.6g}", op_inflation(a, k, c_hat))});
  return r;
}

Report specdecode_stats_report(const std::string& path, const SpecInputs& in, bool gamma_given) {
  json j = parse_json_file(path);
  check(j.is_object(), "{}: expected the JSON object that gpt-specdecode --json prints", path);
  // gpt-specdecode may nest its counters under "stats"; look there as well as at the top.
  auto field = [&](const char* k) -> std::optional<double> {
    const json* v = nullptr;
    if (j.contains(k)) v = &j[k];
    else if (j.contains("stats") && j["stats"].is_object() && j["stats"].contains(k)) v = &j["stats"][k];
    if (!v || v->is_null()) return std::nullopt;
    check(v->is_number(), "{}: \"{}\" must be a number, not {}", path, k, v->dump());
    return v->get<double>();
  };
  int64_t g = in.gamma;
  if (!gamma_given) {
    auto fg = field("gamma");
    if (!fg) throw UsageError(path + " has no \"gamma\"; pass --gamma");
    check(*fg >= 1 && *fg == std::floor(*fg), "{}: gamma must be a positive integer, got {}", path, *fg);
    g = int64_t(*fg);
  }
  auto alpha_hat = field("alpha_hat"), tpc = field("tokens_per_target_call"), acc = field("acceptance");
  auto c_meas = field("c_measured"), sp_meas = field("measured_speedup"), sp_pred_file = field("predicted_speedup");
  if (!acc) {
    auto drafted = field("drafted"), accepted = field("accepted");
    if (drafted && accepted && *drafted > 0) acc = *accepted / *drafted;
  }
  std::optional<double> alpha_tpc;
  if (tpc) {
    check(*tpc >= 1 && *tpc <= double(g + 1), "{}: tokens_per_target_call {} is outside [1, {}] for gamma {}", path,
          *tpc, g + 1, g);
    alpha_tpc = alpha_from_tokens_per_call(*tpc, g);
  }
  std::string alpha_src = alpha_hat ? "alpha_hat" : alpha_tpc ? "tokens_per_target_call" : "";
  if (alpha_src.empty())
    throw Error(path + " has neither alpha_hat nor tokens_per_target_call; nothing to compare");
  const double a = alpha_hat ? *alpha_hat : *alpha_tpc;
  check(a >= 0 && a <= 1, "{}: alpha_hat {} is outside [0, 1]", path, a);
  std::optional<double> c = in.c ? in.c : c_meas;
  if (c) validate_spec(a, g, *c);

  Report r;
  r.data = {{"subcommand", "specdecode --from-stats"}, {"file", path}, {"gamma", g}, {"alpha", a},
            {"alpha_from", alpha_src}};
  Table tab;
  tab.header = {"quantity", "measured", "predicted", "measured/predicted"};
  auto row = [&](const std::string& name, const char* key, std::optional<double> meas, std::optional<double> pred) {
    auto f = [](std::optional<double> v) { return v ? fixed(*v, 4) : std::string("-"); };
    std::string ratio = meas && pred && *pred != 0 ? fixed(*meas / *pred, 3) : "-";
    tab.rows.push_back({name, f(meas), f(pred), ratio});
    r.data[key] = {{"measured", meas ? json(*meas) : json(nullptr)}, {"predicted", pred ? json(*pred) : json(nullptr)}};
  };
  row("tokens per target call", "tokens_per_target_call", tpc, expected_tokens(a, g));
  row("acceptance (accepted/drafted)", "acceptance", acc, accept_rate(a, g));
  row("alpha", "alpha_check", alpha_tpc, alpha_hat);
  std::optional<double> sp_pred;
  if (c) sp_pred = spec_speedup(a, g, *c, in.verify_cost.value_or(1.0));
  row("speedup", "speedup", sp_meas, sp_pred);
  if (c) {
    r.data["c"] = *c;
    int64_t best = best_gamma(a, *c, in.verify_cost.value_or(1.0), in.max_gamma);
    r.data["best_gamma"] = best;
    r.data["best_speedup"] = spec_speedup(a, best, *c, in.verify_cost.value_or(1.0));
  }
  if (sp_pred_file) r.data["file_predicted_speedup"] = *sp_pred_file;

  r.text = fmt::format("{}: gamma {}, alpha {} (from {}){}\n\n", path, g, fixed(a, 4), alpha_src,
                       c ? fmt::format(", c {} ({})", fixed(*c, 4), in.c ? "--c" : "c_measured") : "");
  r.text += tab.render();
  r.text += "\npredicted: the i.i.d. model with the alpha above. The alpha row compares alpha_hat (predicted\n"
            "column) with the alpha that the measured tokens per call imply; a gap means acceptance is\n"
            "not i.i.d. across draft positions.\n";
  if (c) {
    int64_t best = r.data["best_gamma"];
    r.text += fmt::format("best gamma for this alpha and c: {} ({}x)\n", best, fixed(r.data["best_speedup"].get<double>(), 3));
  } else {
    r.text += "no c: pass --c or a file with c_measured to predict the speedup\n";
  }
  r.csv = tab;
  return r;
}

}  // namespace gpt::analysis
