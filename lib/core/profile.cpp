#include "core/profile.h"

#include <nlohmann/json.hpp>

namespace gpt::prof {

bool g_enabled = false;
static std::vector<Event> g_events;

void enable(bool on) { g_enabled = on; }
void record(const char* name, double t0, double dur) { g_events.push_back({name, t0, dur}); }
const std::vector<Event>& events() { return g_events; }
void clear() { g_events.clear(); }

std::map<std::string, double> totals() {
  std::map<std::string, double> m;
  for (const auto& e : g_events) m[e.name] += e.dur;
  return m;
}

std::string chrome_trace_json() {
  nlohmann::json ev = nlohmann::json::array();
  double base = g_events.empty() ? 0.0 : g_events.front().t0;
  for (const auto& e : g_events) base = std::min(base, e.t0);
  for (const auto& e : g_events)
    ev.push_back({{"name", e.name}, {"ph", "X"}, {"pid", 1}, {"tid", 1},
                  {"ts", (e.t0 - base) * 1e6}, {"dur", e.dur * 1e6}});
  return nlohmann::json{{"traceEvents", ev}, {"displayTimeUnit", "ms"}}.dump();
}

}  // namespace gpt::prof
