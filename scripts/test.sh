#!/usr/bin/env bash
# Builds gptkit (installing Debian dependencies if needed) and runs every test with ctest.
#   scripts/test.sh [extra ctest args]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh" --build-dir "${GPT_BUILD_DIR:-$here/build}"
cd "${GPT_BUILD_DIR:-$here/build}"
ctest --output-on-failure "$@"
