// gpt-conv-bench: check every depthwise conv1d implementation against the reference, then time
// it next to a copy of the same bytes. Shape flags take comma lists; every combination runs.
#include <omp.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/tool.h"
#include "ops/conv1d.h"

using namespace gpt;
using namespace gpt::conv1d;

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  if (out.empty()) throw UsageError("empty list '" + s + "'");
  return out;
}

std::vector<int64_t> ints(const std::string& flag, const std::string& s) {
  std::vector<int64_t> v;
  for (auto& t : split(s)) {
    try {
      size_t used = 0;
      long long x = std::stoll(t, &used);
      if (used != t.size()) throw std::invalid_argument(t);
      v.push_back(x);
    } catch (const std::exception&) {
      throw UsageError(flag + ": '" + t + "' is not an integer");
    }
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Depthwise conv1d implementations: check against the reference, time, bandwidth"};
  init_tool(app);
  std::string batch = "8", channels = "1024", seqlen = "2048", width = "4";
  std::string layout = "bcl", padding = "causal", dtype = "fp32", impl = "all", pass = "fwd";
  bool bias = false, silu = false, json = false, cold = false, no_check = false, det = false;
  int iters = 20, warmup = 3, threads = 0;
  double max_seconds = 2.0;
  uint64_t seed = 1;
  std::string sweep;
  app.add_option("--batch,-B", batch, "batch sizes (comma list)");
  app.add_option("--channels,-C", channels, "channel counts (comma list)");
  app.add_option("--seqlen,-L", seqlen, "sequence lengths (comma list)");
  app.add_option("--width,-K", width, "kernel widths 1..64 (comma list)");
  app.add_option("--layout", layout, "bcl (x[B][C][L]) and/or blc (x[B][L][C])");
  app.add_option("--padding", padding, "causal and/or same (same needs odd K)");
  app.add_option("--dtype", dtype, "storage dtypes: fp32, bf16, fp16 (sums are always fp32)");
  app.add_flag("--bias", bias, "add a per-channel bias");
  app.add_flag("--silu", silu, "fuse SiLU after the convolution");
  app.add_option("--impl", impl, "cpu-ref, cpu, cuda-naive, cuda-tiled, cuda-vec, or all");
  app.add_option("--pass", pass, "fwd, bwd or both");
  app.add_option("--iters", iters, "timed runs per impl (median reported)")->check(CLI::Range(1, 100000));
  app.add_option("--warmup", warmup, "untimed runs first")->check(CLI::Range(0, 1000));
  app.add_option("--max-seconds", max_seconds, "stop timing an impl after this long")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_flag("--cold", cold, "GPU: flush the L2 before every timed run");
  app.add_flag("--deterministic", det, "GPU backward: fixed-order dw reduction instead of atomics");
  app.add_option("--threads", threads, "OpenMP threads for CPU impls (0: OMP_NUM_THREADS)")
      ->check(CLI::Range(0, 4096));
  app.add_option("--seed", seed, "seed for the random inputs");
  app.add_flag("--no-check", no_check, "time only; skip the reference and the comparison");
  app.add_flag("--json", json, "print one JSON object on stdout");
  app.add_option("--sweep", sweep,
                 "write one CSV row per (shape, impl, pass) to this file; without explicit shape "
                 "flags a default grid from ~2 MB to ~1 GB moved is used");

  return run_tool(app, argc, argv, [&] {
    if (threads > 0) omp_set_num_threads(threads);
    auto has = [&](const char* f) { return app.count(f) > 0; };
    bool default_grid = !sweep.empty() && !has("--batch") && !has("--channels") &&
                        !has("--seqlen") && !has("--width");
    if (default_grid) {
      batch = "1,8";
      channels = "256,1024,4096";
      seqlen = "1024,4096";
      width = "3,4";
    }
    std::vector<Impl> impls;
    for (auto& s : split(impl)) {
      if (s == "all") {
        for (Impl i : all_impls()) impls.push_back(i);
        continue;
      }
      Impl i = parse_impl(s);
      std::string why;
      if (!available(i, &why)) fail("{} was asked for by name but cannot run: {}", s, why);
      impls.push_back(i);
    }
    std::vector<Pass> passes;
    for (auto& s : split(pass)) {
      if (s == "both") {
        passes = {Pass::Forward, Pass::Backward};
      } else {
        passes.push_back(parse_pass(s));
      }
    }
    std::vector<Desc> descs;
    for (auto B : ints("--batch", batch))
      for (auto C : ints("--channels", channels))
        for (auto L : ints("--seqlen", seqlen))
          for (auto K : ints("--width", width))
            for (auto& lay : split(layout))
              for (auto& pad : split(padding))
                for (auto& dt : split(dtype)) {
                  Desc d;
                  d.B = B; d.C = C; d.L = L; d.K = int(K);
                  d.layout = parse_layout(lay);
                  d.padding = parse_padding(pad);
                  d.dtype = parse_dtype(dt);
                  d.bias = bias;
                  d.silu = silu;
                  validate(d);
                  descs.push_back(d);
                }

    BenchOptions opt;
    opt.warmup = warmup;
    opt.iters = iters;
    opt.max_seconds = max_seconds;
    opt.cold = cold;
    opt.check = !no_check;
    opt.seed = seed;
    opt.bwd.deterministic = det;

    std::ofstream csv;
    if (!sweep.empty()) {
      csv.open(sweep);
      if (!csv) fail("cannot write the sweep CSV '{}'; check the directory exists", sweep);
      csv << csv_header() << "\n";
    }
    std::string cuda_info = cuda_device_summary();
    bool wants_cuda = false;
    for (Impl i : impls) wants_cuda = wants_cuda || is_cuda(i);
    if (wants_cuda) std::fprintf(json ? stderr : stdout, "CUDA: %s\n", cuda_info.c_str());

    nlohmann::json all = nlohmann::json::array();
    int failed = 0;
    for (const Desc& d : descs)
      for (Pass p : passes) {
        auto rs = bench(d, p, impls, opt);
        for (auto& r : rs) {
          if (r.ran && r.checked && !r.ok) ++failed;
          if (csv.is_open()) csv << csv_row(r) << "\n" << std::flush;
          if (json) all.push_back(to_json(r));
        }
        std::string table = format_table(rs);
        std::fputs(table.c_str(), json ? stderr : stdout);
        std::fflush(json ? stderr : stdout);
      }
    if (json) {
      nlohmann::json out = {{"tool", "gpt-conv-bench"},
                            {"version", GPT_VERSION},
                            {"threads", omp_get_max_threads()},
                            {"cuda", cuda_info},
                            {"cold", cold},
                            {"deterministic", det},
                            {"results", all}};
      std::cout << out.dump() << std::endl;
    }
    if (!sweep.empty()) std::fprintf(stderr, "wrote %s\n", sweep.c_str());
    if (failed) fail("{} result(s) failed the correctness check (see the table)", failed);
    return 0;
  });
}
