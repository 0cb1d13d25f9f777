"""A real llama.cpp in the tests: the built binaries, a tiny random-weight GGUF, and llama-server.

How to use (the fixtures are in tests/conftest.py, session-scoped):

    def test_something(llamacpp_bin, tiny_gguf):            # paths; skipped where no compiler/cmake
        subprocess.run([llamacpp_bin["llama-bench"], "-m", str(tiny_gguf), "-p", "32", "-n", "8",
                        "-r", "1", "-o", "jsonl"], check=True)

    def test_server(llama_server):                          # one started server, 1 slot, --metrics on
        url = llama_server.base_url                          # "http://127.0.0.1:<port>/v1"
        llama_server.model                                   # the served model id ("tiny")
        llama_server.metrics()                               # /metrics text (Prometheus)

    def test_load(llama_server_factory):                    # other settings: cached per arguments
        server = llama_server_factory(n_parallel=4, ctx_size=4096)

    with LlamaServer(llamacpp_bin["llama-server"], tiny_gguf, n_parallel=2) as server:
        server.kill()                                       # your own server, e.g. to kill it mid-stream

The binaries come from tests/llamacpp_build.py (llama.cpp vendored in a pinned llama-cpp-python sdist,
built once per machine under ~/.cache/benchbench/); `BENCHBENCH_LLAMACPP_BIN=/path/to/bin` uses
binaries you built yourself instead. The GGUF is a small Llama (about 4 M parameters by default, F16)
with random weights and a byte-level BPE tokenizer trained on the repo's suites/texts/, written with the
`gguf` package that ships in the same sdist; it is cached beside the build, keyed by its shape and text.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from llamacpp_build import LLAMA_CPP_PYTHON_VERSION, build_dir, built, cache_root, ensure_built, missing_tools

ROOT = Path(__file__).resolve().parent.parent
CORPUS_GLOBS = ("suites/texts/*.txt",)   # stable text: docs change often, and each change is a new GGUF
# a bigger model for timing checks: its per-token work (~26 M parameters) dwarfs per-token overheads
TIMING_SHAPE = {"n_embd": 512, "n_layer": 8, "n_head": 8, "n_head_kv": 4, "n_ff": 1536}
# ~100 M parameters (204 MB, ~3 s to write): a decode step of ~9 ms on one core, so the server's own
# per-token work (sampling, detokenizing, queueing: tenths of a ms) stays a small share of it
DECODE_SHAPE = {"n_embd": 1024, "n_layer": 8, "n_head": 16, "n_head_kv": 8, "n_ff": 3072}
TINY_SHAPE = {"n_embd": 256, "n_layer": 4, "n_head": 4, "n_head_kv": 2, "n_ff": 768, "vocab": 1024,
              "n_ctx_train": 8192, "seed": 0}
SPECIAL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
CHATML = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
GENERATOR_VERSION = 1


# --- binaries ----------------------------------------------------------------------------------

def binaries() -> dict[str, str]:
    """{"llama-server": path, "llama-bench": path, "src": llama.cpp tree or ""}; builds when needed.
    Raises RuntimeError with the reason when it can't (no compiler, no cmake, build failed)."""
    if os.environ.get("BENCHBENCH_SKIP_LLAMACPP"):
        raise RuntimeError("BENCHBENCH_SKIP_LLAMACPP is set")
    own = os.environ.get("BENCHBENCH_LLAMACPP_BIN")
    if own:
        found = {name: str(Path(own) / name) for name in ("llama-server", "llama-bench")}
        missing = [p for p in found.values() if not Path(p).exists()]
        if missing:
            raise RuntimeError(f"BENCHBENCH_LLAMACPP_BIN={own} lacks {', '.join(missing)}")
        return {**found, "src": str(build_dir() / "src") if (build_dir() / "src").exists() else ""}
    info = built()
    if info is None:
        reason = missing_tools()
        if reason:
            raise RuntimeError(reason)
        info = ensure_built(log=lambda m: print(m, file=sys.stderr))
    return {**info["bin"], "src": info["src"]}


# --- the tiny GGUF -----------------------------------------------------------------------------

def corpus_files() -> list[Path]:
    return sorted(p for pattern in CORPUS_GLOBS for p in ROOT.glob(pattern))


def tiny_gguf_path(shape: dict[str, Any] | None = None) -> Path:
    """Where the GGUF of this shape and corpus is cached."""
    shape = {**TINY_SHAPE, **(shape or {})}
    h = hashlib.sha256(json.dumps([GENERATOR_VERSION, shape], sort_keys=True).encode())
    for path in corpus_files():
        h.update(path.read_bytes())
    return cache_root() / "gguf" / f"tiny-llama-{h.hexdigest()[:12]}.gguf"


def make_tiny_gguf(src: str | Path | None = None, shape: dict[str, Any] | None = None) -> Path:
    """The cached tiny GGUF, written when missing (seconds). `src` is the llama.cpp tree whose
    gguf-py is used (default: the cached build's)."""
    shape = {**TINY_SHAPE, **(shape or {})}
    path = tiny_gguf_path(shape)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    _write_gguf(tmp, shape, Path(src or build_dir(LLAMA_CPP_PYTHON_VERSION) / "src"))
    tmp.replace(path)
    return path


def train_tokenizer(vocab: int) -> Any:
    """A byte-level BPE tokenizer (GPT-2 style) trained on the repo's text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=list(SPECIAL), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train([str(p) for p in corpus_files()], trainer)
    return tok


def partial_utf8_token_ids(vocab: int = TINY_SHAPE["vocab"]) -> list[int]:
    """Ids of the tokens whose bytes are not whole UTF-8 on their own (lone bytes 0x80–0xFF, split
    characters). llama-server holds such a token back and streams it with a later one, so one chunk then
    carries several tokens; a test that times chunks biases these away."""
    tok = train_tokenizer(vocab)
    return [i for i in range(tok.get_vocab_size())
            if "\ufffd" in tok.decode([i], skip_special_tokens=False)]


def one_chunk_per_token_bias(vocab: int = TINY_SHAPE["vocab"]) -> list[list[Any]]:
    """llama-server `logit_bias` entries that keep a random-weight model off the tokens it does not stream
    one by one: the special tokens (not streamed) and the partial UTF-8 ones (sent with a later token)."""
    return [[token, False] for token in (*SPECIAL, *partial_utf8_token_ids(vocab))]


def _write_gguf(path: Path, shape: dict[str, Any], src: Path) -> None:
    import numpy as np

    sys.path.insert(0, str(src / "gguf-py"))
    try:
        import gguf
    finally:
        sys.path.pop(0)
    tok = train_tokenizer(shape["vocab"])
    state = json.loads(tok.to_str())
    vocab = state["model"]["vocab"]
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    merges = [m if isinstance(m, str) else " ".join(m) for m in state["model"]["merges"]]
    types = [gguf.TokenType.CONTROL if t in SPECIAL else gguf.TokenType.NORMAL for t in tokens]
    n_vocab, d, n_ff = len(tokens), shape["n_embd"], shape["n_ff"]
    head_dim = d // shape["n_head"]
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("benchbench tiny llama (random weights)")
    w.add_context_length(shape["n_ctx_train"])
    w.add_embedding_length(d)
    w.add_block_count(shape["n_layer"])
    w.add_feed_forward_length(n_ff)
    w.add_head_count(shape["n_head"])
    w.add_head_count_kv(shape["n_head_kv"])
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(n_vocab)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    w.add_bos_token_id(vocab["<|endoftext|>"])
    w.add_eos_token_id(vocab["<|im_end|>"])
    w.add_add_bos_token(False)
    w.add_chat_template(CHATML)
    rng = np.random.default_rng(shape["seed"])
    mat = lambda rows, cols: (rng.standard_normal((rows, cols)) * 0.02).astype(np.float16)
    ones = lambda n: np.ones(n, dtype=np.float32)
    kv = shape["n_head_kv"] * head_dim
    w.add_tensor("token_embd.weight", mat(n_vocab, d))
    for i in range(shape["n_layer"]):
        for name, tensor in (("attn_norm", ones(d)), ("attn_q", mat(d, d)), ("attn_k", mat(kv, d)),
                             ("attn_v", mat(kv, d)), ("attn_output", mat(d, d)), ("ffn_norm", ones(d)),
                             ("ffn_gate", mat(n_ff, d)), ("ffn_up", mat(n_ff, d)), ("ffn_down", mat(d, n_ff))):
            w.add_tensor(f"blk.{i}.{name}.weight", tensor)
    w.add_tensor("output_norm.weight", ones(d))
    w.add_tensor("output.weight", mat(n_vocab, d))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# --- llama-server ------------------------------------------------------------------------------

def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM when the test process dies, so no server is orphaned."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """A llama-server on a free loopback port with --metrics; stop() (or the with-block) ends it.

    One thread by default: on a shared, loaded machine llama.cpp's threads spin-wait for each other
    and two threads ran 15x slower than one (tg 70 vs 1,077 tok/s on the tiny model, measured here)."""

    def __init__(self, binary: str | Path, model: str | Path, n_parallel: int = 1, ctx_size: int = 4096,
                 threads: int | None = 1, alias: str = "tiny", extra: tuple[str, ...] = (),
                 log_dir: str | Path | None = None) -> None:
        self.binary, self.model_path = str(binary), str(model)
        self.n_parallel, self.ctx_size, self.threads = n_parallel, ctx_size, threads
        self.model, self.extra = alias, tuple(extra)
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.log_path = Path(log_dir or cache_root() / "logs") / f"llama-server-{os.getpid()}-{id(self)}.log"

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root}/v1"

    def args(self) -> list[str]:
        out = [self.binary, "-m", self.model_path, "--host", "127.0.0.1", "--port", str(self.port),
               "-np", str(self.n_parallel), "-c", str(self.ctx_size), "--alias", self.model, "--metrics"]
        if self.threads:
            out += ["-t", str(self.threads)]
        return out + list(self.extra)

    def start(self, timeout_s: float = 120.0) -> LlamaServer:
        import httpx

        self.port = free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.args(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"llama-server exited ({self.proc.returncode}): {self.log_tail()}")
            try:
                if httpx.get(f"{self.root}/health", timeout=2.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"llama-server not healthy within {timeout_s:g} s: {self.log_tail()}")

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def metrics(self) -> str:
        import httpx

        return httpx.get(f"{self.root}/metrics", timeout=10.0).text

    def kill(self) -> None:
        """SIGKILL: the server dies at once, mid-stream if a request is running."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> LlamaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def suite_text(server: LlamaServer, name: str = "llamacpp", **keys: Any) -> str:
    """A suite YAML with one openai workload against `server` (keys override the defaults)."""
    import yaml

    workload = {"name": name, "kind": "llm", "backend": "openai", "base_url": server.base_url,
                "model": server.model, "prompt_tokens": 64, "max_tokens": 32, **keys}
    return yaml.safe_dump({"name": "real-llamacpp", "warmups": 0, "repetitions": 2,
                           "power": {"samplers": ["none"]}, "workloads": [workload]}, sort_keys=False)


__all__ = ["DECODE_SHAPE", "SPECIAL", "TIMING_SHAPE", "TINY_SHAPE", "LlamaServer", "binaries", "make_tiny_gguf",
           "missing_tools", "one_chunk_per_token_bias", "partial_utf8_token_ids", "suite_text", "tiny_gguf_path",
           "train_tokenizer"]
