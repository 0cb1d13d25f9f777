#!/usr/bin/env bash
# Sets everything up (system packages, .venv, all test extras) and runs the test suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh torch,nvidia,video,serve,remote,ledger,test \
  espeak-ng sox ffmpeg chromium openssh-server openssh-client
ruff check benchbench tests benchmarks
python -m pytest -q "$@"
