#!/usr/bin/env bash
# Sets everything up, runs the embedded default suite (suites/quickstart.yaml) and writes a report.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/setup.sh torch espeak-ng
benchbench run suites/quickstart.yaml
benchbench report results -o report.html
echo "report: $(pwd)/report.html"
