#include "core/tool.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <new>

#include "core/error.h"

namespace gpt {

void init_tool(CLI::App& app) {
  app.set_version_flag("--version", std::string("gptkit ") + GPT_VERSION);
  app.option_defaults()->always_capture_default();
  auto logger = spdlog::stderr_color_mt("gptkit");
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
  if (const char* lvl = std::getenv("GPT_LOG")) spdlog::set_level(spdlog::level::from_str(lvl));
}

int run_tool(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help/version (rc 0) or the usage error
    return rc == 0 ? 0 : 2;
  }
  // Past a file-size limit (ulimit -f, a quota-like sandbox) the kernel sends SIGXFSZ, whose
  // default action kills the tool mid-save. Ignored, the write fails with EFBIG instead, and
  // FileWriter reports it naming the file, like a full disk.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    return body();
  } catch (const UsageError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory; try a smaller batch or model\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}

}  // namespace gpt
