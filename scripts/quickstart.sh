#!/usr/bin/env bash
# The main job: build gptkit, get tinyshakespeare, prepare it, train the CPU "baby GPT"
# (configs/shakespeare_char_cpu.json: 4 layers, 4 heads, 128 wide, 2000 steps) and print a sample.
#   scripts/quickstart.sh [path/to/tinyshakespeare.txt] [extra gpt-train flags...]
# The corpus comes from the first argument, else $GPT_CORPUS, else data/tinyshakespeare.txt if
# already fetched, else https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
url=https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt
corpus=${GPT_CORPUS:-}
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then corpus=$1; shift; fi

scripts/setup.sh
mkdir -p data
if [ -z "$corpus" ]; then
  corpus=data/tinyshakespeare.txt
  if [ ! -s "$corpus" ]; then
    echo "quickstart: downloading tinyshakespeare from $url" >&2
    if ! { command -v curl >/dev/null && curl -fsSL --max-time 60 -o "$corpus.part" "$url"; } &&
       ! { command -v wget >/dev/null && wget -q -T 60 -O "$corpus.part" "$url"; }; then
      rm -f "$corpus.part"
      cat >&2 <<MSG
error: could not download the corpus (offline?) and no local copy was given.
Provide tinyshakespeare.txt (1,115,394 bytes) in one of these ways:
  scripts/quickstart.sh /path/to/tinyshakespeare.txt
  GPT_CORPUS=/path/to/tinyshakespeare.txt scripts/quickstart.sh
  or place it at $here/data/tinyshakespeare.txt
MSG
      exit 1
    fi
    mv "$corpus.part" "$corpus"
  fi
fi
[ -s "$corpus" ] || { echo "error: corpus $corpus not found or empty" >&2; exit 1; }

build/gpt-prepare --input "$corpus" --out data/shakespeare_char
build/gpt-train --config configs/shakespeare_char_cpu.json "$@"
echo "---- sample ----" >&2
build/gpt-generate --ckpt runs/shakespeare_char_cpu/ckpt --prompt $'\n' --max-new-tokens 500 --seed 1337
