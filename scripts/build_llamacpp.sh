#!/usr/bin/env bash
# Builds llama.cpp's llama-server and llama-bench for the tests, once per machine, into
# ~/.cache/benchbench/llama.cpp-<version>/ (source: the llama.cpp vendored in a pinned
# llama-cpp-python sdist from PyPI). Needs cmake and a C++ compiler; takes minutes on 2 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ -x .venv/bin/python ] && PYTHON=.venv/bin/python
exec "${PYTHON:-python3}" tests/llamacpp_build.py "$@"     # compiles at niceness 10 itself
