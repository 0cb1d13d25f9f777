#!/usr/bin/env bash
# Sets up benchbench in ./.venv (sourced by quickstart.sh and test.sh; safe to re-run).
# Usage: source scripts/setup.sh [pip extras, e.g. torch,test] [apt packages...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

extras="${1:-torch}"
shift || true
apt_packages=("$@")

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
[ -n "${NO_COLOR:-}" ] && say() { printf '==> %s\n' "$*" >&2; }

install_apt() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || { say "not a Debian system: install ${missing[*]} yourself"; return 0; }
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  say "installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

[ ${#apt_packages[@]} -gt 0 ] && install_apt "${apt_packages[@]}"

python=${PYTHON:-python3}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { say "benchbench needs Python 3.11 or newer"; exit 2; }
if [ -z "${VIRTUAL_ENV:-}" ]; then
  # Debian and Ubuntu split venv/ensurepip out of the interpreter package.
  "$python" -c 'import ensurepip, venv' 2>/dev/null || install_apt python3-venv
  [ -x .venv/bin/python ] || { say "creating .venv"; "$python" -m venv .venv; }
  # shellcheck disable=SC1091
  source .venv/bin/activate
fi
say "installing benchbench[$extras] (PyTorch pinned to the 2.13.0 CPU-capable build)"
# pip's noise about unusable index locations is hidden; real errors still show and still fail.
pip_install() {
  python -m pip install -q --disable-pip-version-check "$@" 2>&1 \
    | { grep -v -e "is ignored: it is neither a file nor a directory" -e "Running pip as the 'root' user" || true; }
}
# Pin torch first: an unpinned torch would pull several GB of CUDA packages.
pip_install "torch==2.13.0"
pip_install -e ".[$extras]"
