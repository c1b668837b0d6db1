#pragma once
// Per-op wall-clock profiling for `gpt-train --profile` (Chrome trace / Perfetto) and for the
// benchmarks' breakdowns. Disabled, a scope costs one predictable branch.
#include <map>
#include <string>
#include <vector>

#include "core/timer.h"

namespace gpt::prof {

struct Event {
  const char* name;
  double t0, dur;  // seconds
};

extern bool g_enabled;
inline bool enabled() { return g_enabled; }
void enable(bool on);
void record(const char* name, double t0, double dur);
const std::vector<Event>& events();
void clear();
// Total seconds per op name over the recorded events.
std::map<std::string, double> totals();
// Chrome trace event format (open in chrome://tracing or ui.perfetto.dev).
std::string chrome_trace_json();

class Scope {
 public:
  explicit Scope(const char* name) : name_(name), t0_(g_enabled ? now_s() : 0.0) {}
  ~Scope() {
    if (g_enabled) record(name_, t0_, now_s() - t0_);
  }

 private:
  const char* name_;
  double t0_;
};

}  // namespace gpt::prof

#define GPT_PROF_CAT2(a, b) a##b
#define GPT_PROF_CAT(a, b) GPT_PROF_CAT2(a, b)
#define GPT_PROF(name) ::gpt::prof::Scope GPT_PROF_CAT(gpt_prof_scope_, __LINE__)(name)
