"""Build llama.cpp's `llama-server` and `llama-bench` for the tests, once per machine.

The source is the llama.cpp tree vendored in a pinned `llama-cpp-python` source distribution, fetched
by name from PyPI with pip (`pip download --no-binary :all: --no-deps`); nothing else is built and no
llama.cpp code or binary is ever committed. CPU only, Release, no web UI, no OpenSSL, no CURL,
statically linked, built `nice` with `-j2`; the result lives in
`~/.cache/benchbench/llama.cpp-<version>/` (or `$BENCHBENCH_CACHE/llama.cpp-<version>/`):

    bin/llama-server, bin/llama-bench     the binaries
    src/                                  the vendored llama.cpp tree (convert_hf_to_gguf.py, gguf-py, ...)
    build-info.json                       version, commit, cmake flags, seconds taken per step

A file lock makes concurrent builders (several pytest sessions, several engineers) wait for one build.

    python tests/llamacpp_build.py            # build (or print what is cached)
    BENCHBENCH_REBUILD=1 python tests/llamacpp_build.py   # try again after a failed build
    scripts/build_llamacpp.sh                 # the same
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

LLAMA_CPP_PYTHON_VERSION = "0.3.36"
NICE = 10
TARGETS = ("llama-server", "llama-bench")
CMAKE_FLAGS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=OFF",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_UI=OFF",            # no npm build of the web UI
    "-DLLAMA_USE_PREBUILT_UI=OFF",     # no download of a prebuilt web UI either
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_CURL=OFF",                # deprecated in recent trees (ignored), honoured by older ones
    "-DGGML_CUDA=OFF",
    "-DGGML_METAL=OFF",
    "-DGGML_VULKAN=OFF",
)


def cache_root() -> Path:
    """Where builds are cached: $BENCHBENCH_CACHE or ~/.cache/benchbench."""
    return Path(os.environ.get("BENCHBENCH_CACHE") or Path.home() / ".cache" / "benchbench")


def build_dir(version: str = LLAMA_CPP_PYTHON_VERSION) -> Path:
    return cache_root() / f"llama.cpp-{version}"


def missing_tools() -> str | None:
    """None when cmake and a C++ compiler are on PATH, else what is missing (the skip reason)."""
    missing = [name for name in ("cmake",) if not shutil.which(name)]
    if not any(shutil.which(cxx) for cxx in ("c++", "g++", "clang++")):
        missing.append("C++ compiler (g++ or clang++)")
    if not missing:
        return None
    return "no " + " and no ".join(missing) + " on PATH (apt-get install cmake g++; scripts/test.sh does)"


def built(version: str = LLAMA_CPP_PYTHON_VERSION) -> dict | None:
    """build-info.json of a finished build, or None."""
    info = build_dir(version) / "build-info.json"
    if not info.exists():
        return None
    data = json.loads(info.read_text())
    bins = {t: build_dir(version) / "bin" / t for t in TARGETS}
    if not all(path.exists() for path in bins.values()):
        return None
    return {**data, "bin": {t: str(p) for t, p in bins.items()}, "src": str(build_dir(version) / "src")}


def ensure_built(version: str = LLAMA_CPP_PYTHON_VERSION, jobs: int = 2, log=print) -> dict:
    """Build once (under a lock) and return build-info: {"bin": {target: path}, "src": path, ...}."""
    root = build_dir(version)
    root.parent.mkdir(parents=True, exist_ok=True)
    failed = root.with_name(root.name + ".failed")
    with open(root.parent / f"llama.cpp-{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        info = built(version)
        if info is not None:
            return info
        if failed.exists() and not os.environ.get("BENCHBENCH_REBUILD"):
            raise RuntimeError(f"an earlier build failed (BENCHBENCH_REBUILD=1 tries again): "
                               f"{failed.read_text()[-600:]}")
        try:
            return _build(version, root, jobs, log)
        except RuntimeError as exc:
            failed.write_text(str(exc))
            raise


def _build(version: str, root: Path, jobs: int, log) -> dict:
    reason = missing_tools()
    if reason:
        raise RuntimeError(reason)
    seconds: dict[str, float] = {}
    work = root.with_name(root.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    t0 = time.monotonic()
    sdist = _download(version, work / "sdist", log)
    seconds["download_s"] = time.monotonic() - t0
    t0 = time.monotonic()
    src = _extract_vendored(sdist, work / "src")
    seconds["extract_s"] = time.monotonic() - t0
    commit = _vendored_commit(sdist)
    t0 = time.monotonic()
    bump = NICE - os.nice(0)        # `nice` adds: reach niceness 10 once, not 10 on top of a caller's nice
    nice = ["nice", "-n", str(bump)] if bump > 0 and shutil.which("nice") else []
    flags = [*CMAKE_FLAGS] + ([f"-DLLAMA_BUILD_COMMIT={commit[:8]}"] if commit != "unknown" else [])
    _run([*nice, "cmake", "-S", str(src), "-B", str(work / "build"), *flags], log)
    seconds["configure_s"] = time.monotonic() - t0
    t0 = time.monotonic()
    _run([*nice, "cmake", "--build", str(work / "build"), "--config", "Release", "-j", str(jobs),
          "--target", *TARGETS], log)
    seconds["build_s"] = time.monotonic() - t0
    (work / "bin").mkdir()
    for target in TARGETS:
        shutil.copy2(work / "build" / "bin" / target, work / "bin" / target)
    shutil.rmtree(work / "build")
    shutil.rmtree(work / "sdist")
    info = {"llama_cpp_python": version, "llama_cpp_commit": commit, "cmake_flags": flags,
            "jobs": jobs, "seconds": {k: round(v, 1) for k, v in seconds.items()},
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (work / "build-info.json").write_text(json.dumps(info, indent=2) + "\n")
    shutil.rmtree(root, ignore_errors=True)
    work.rename(root)
    root.with_name(root.name + ".failed").unlink(missing_ok=True)
    log(f"llama.cpp {commit[:10]} (llama-cpp-python {version}) built in {root}: {info['seconds']}")
    return built(version)  # type: ignore[return-value]


def _download(version: str, dest: Path, log) -> Path:
    log(f"downloading the llama-cpp-python {version} source distribution from PyPI")
    _run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-binary", ":all:",
          "--no-deps", f"llama-cpp-python=={version}", "-d", str(dest)], log)
    found = sorted(dest.glob("llama_cpp_python-*.tar.gz"))
    if not found:
        raise RuntimeError(f"pip left no llama_cpp_python sdist in {dest}")
    return found[0]


def _extract_vendored(sdist: Path, dest: Path) -> Path:
    """Extract only vendor/llama.cpp/ (without git metadata) from the sdist into dest."""
    with tarfile.open(sdist) as tar:
        top = tar.getmembers()[0].name.split("/")[0]
        prefix = f"{top}/vendor/llama.cpp/"
        members = []
        for member in tar.getmembers():
            if not member.name.startswith(prefix) or "/.git" in member.name[len(prefix) - 1:]:
                continue
            member.name = member.name[len(prefix):]
            members.append(member)
        dest.mkdir(parents=True)
        tar.extractall(dest, members=members, filter="data")
    if not (dest / "CMakeLists.txt").exists():
        raise RuntimeError(f"{sdist.name} carries no vendor/llama.cpp/CMakeLists.txt")
    return dest


def _vendored_commit(sdist: Path) -> str:
    """The llama.cpp commit the sdist vendors (its git submodule HEAD), or 'unknown'."""
    with tarfile.open(sdist) as tar:
        for member in tar.getmembers():
            if member.name.endswith(".git/modules/vendor/llama.cpp/HEAD"):
                return tar.extractfile(member).read().decode().strip()  # type: ignore[union-attr]
    return "unknown"


def _run(cmd: list[str], log) -> None:
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            out.seek(0)
            tail = out.read()[-4000:]
            raise RuntimeError(f"`{' '.join(cmd[:4])} ...` failed (exit {proc.returncode}):\n{tail}")


if __name__ == "__main__":
    print(json.dumps(ensure_built(log=lambda m: print(m, file=sys.stderr)), indent=2))
