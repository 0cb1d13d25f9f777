#!/usr/bin/env bash
# Sets everything up (system packages, .venv, all test extras) and runs the test suite.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh torch,nvidia,video,serve,remote,test \
  espeak-ng sox ffmpeg chromium openssh-server openssh-client cmake g++
ruff check benchbench tests benchmarks
# A real llama.cpp (llama-server, llama-bench) for tests/test_llamacpp_*.py: built once per machine into
# ~/.cache/benchbench/ (about 8 min on an idle 2-core machine, then cached); BENCHBENCH_SKIP_LLAMACPP=1 skips those tests.
if [ -z "${BENCHBENCH_SKIP_LLAMACPP:-}" ]; then
  echo "==> llama.cpp for the tests (built once per machine, then cached)" >&2
  python tests/llamacpp_build.py >/dev/null || echo "llama.cpp build failed: its tests will skip" >&2
fi
python -m pytest -q "$@"
