#!/usr/bin/env bash
# Installs the Debian build dependencies (when missing) and builds gptkit into build/.
#   scripts/setup.sh [--no-install] [--cuda ON|OFF|AUTO] [--build-dir DIR] [--sanitize]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
install=1
cuda=AUTO
build=$here/build
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-install) install=0 ;;
    --cuda) cuda=$2; shift ;;
    --build-dir) build=$2; shift ;;
    # Without MPI: the unit tests never start it, and its libraries' allocations are noise to LeakSanitizer.
    --sanitize) extra+=(-DGPT_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGPT_MPI=OFF) ;;
    -h|--help) sed -n '2,3p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

pkgs=(cmake ninja-build g++ pkg-config libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
      doctest-dev libopenblas-openmp-dev libpcre2-dev python3 libopenmpi-dev openmpi-bin)
if [ $install = 1 ]; then
  missing=()
  for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi
cmake -S "$here" -B "$build" -G Ninja -DGPT_CUDA="$cuda" "${extra[@]}" >&2
cmake --build "$build" -j "$(nproc)" >&2
echo "setup: built into $build" >&2
