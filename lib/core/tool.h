#pragma once
// The tool contract shared by every executable: --help and --version from CLI11, usage
// errors exit 2, runtime errors print "error: <message>" and exit 1, logs go to stderr.
#include <CLI/CLI.hpp>
#include <functional>

namespace gpt {

// Sets up --version and stderr logging on app; call before adding options.
void init_tool(CLI::App& app);
// Parses argv and runs `body`, mapping exceptions to the exit codes above.
int run_tool(CLI::App& app, int argc, char** argv, const std::function<int()>& body);

}  // namespace gpt
