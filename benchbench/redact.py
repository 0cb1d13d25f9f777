"""One redaction layer: every string that leaves the process (records, samples, reports, logs,
terminal, errors) passes through here, so no secret is written or shown.

What is hidden (replaced by `MASK`):
- credentials in URLs (`scheme://user:pass@host` → `scheme://[redacted]@host`, and `user:pass@host`);
- query-string and `name=value` / `name: value` pairs whose name marks a secret (`?api_key=...`,
  `password=...`, `"token": "..."`), and `Bearer ...`;
- known token formats (`sk-...`, `hf_...`, `ghp_...`, `github_pat_...`, `xox?-...`, `AKIA...`, JWTs...);
- in structures, the values of keys whose names mark a secret (`authorization`, `api_key`, ...);
- anywhere, the literal values of environment variables whose names mark a secret, and of every
  variable read through a `*_env` key (`read_env`), also URL-encoded.

The module imports only textsafe from the project: anything may call it.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO
from urllib.parse import quote, quote_plus, unquote

from .textsafe import stream_safe

MASK = "[redacted]"
MIN_SECRET_CHARS = 6          # shorter values are not replaced literally (too much else would go)

# a name marks a secret when one of its words is strong, or its last word is `token`, or it ends in
# `key` after a qualifier (api_key, access_key, x-api-key; not KEY, params_key or num_key_value_heads)
STRONG_WORDS = frozenset({"password", "passwd", "pwd", "passphrase", "secret", "secrets", "apikey",
                          "credential", "credentials", "cookie", "authorization", "auth", "bearer",
                          "privatekey", "accesskey", "secretkey", "sessionid"})
KEY_QUALIFIERS = frozenset({"api", "access", "secret", "private", "client", "auth", "master", "service",
                            "signing", "encryption", "license", "subscription", "ssh", "x", "admin"})
# environment variables whose names look secret but hold paths every process has
NOT_SECRET = frozenset({"PWD", "OLDPWD", "SSH_AUTH_SOCK", "XAUTHORITY"})
_WORDS = re.compile(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")
_NUMBER_OR_LITERAL = re.compile(r"[-+]?(\d[\d_]*\.?\d*([eE][-+]?\d+)?|\.\d+)|null|true|false|none|nan|inf",
                                re.IGNORECASE)

TOKEN_FORMATS = (
    r"sk-(?:proj-|ant-|or-v1-|svcacct-)?[A-Za-z0-9_-]{20,}",     # OpenAI, Anthropic, OpenRouter
    r"hf_[A-Za-z0-9]{20,}",                                       # Hugging Face (not hf_transformers)
    r"gh[pousr]_[A-Za-z0-9]{20,}", r"github_pat_[A-Za-z0-9_]{20,}",  # GitHub
    r"glpat-[A-Za-z0-9_-]{20,}",                                  # GitLab
    r"xox[abposr]-[A-Za-z0-9-]{10,}",                             # Slack
    r"(?:AKIA|ASIA)[0-9A-Z]{16}",                                 # AWS access key ids
    r"AIza[0-9A-Za-z_-]{30,}",                                    # Google API keys
    r"(?:gsk|r8|pplx|xai|nvapi|fw|csk|tgp_v1)[_-][A-Za-z0-9_-]{20,}",  # Groq, Replicate, Perplexity, ...
    r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",  # JWTs
)
_URL_USERINFO = r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s/?#@'\"<>\[\]]+)@"
_BARE_USERINFO = r"(?<![\w/.@:%+~-])(?P<bare>[\w.~%+-]+:[^\s/@'\"<>\[\]]+)@(?=[\w\[])"
_BEARER = r"(?P<bearer>\b[Bb]earer\s+)(?!\[redacted\])[A-Za-z0-9._~+/=-]{4,}"
_PAIR = (r"(?P<name>[A-Za-z_][\w.-]*)(?P<q>[\"']?)(?P<sep>\s*[:=]\s*)(?P<vq>[\"']?)"
         r"(?P<scheme2>(?:[Bb]earer|[Bb]asic|[Tt]oken)\s+)?(?P<value>(?!\[redacted\])[^\s\"'&,;{}\[\]<>]+)")
_SPANS = re.compile("|".join([_URL_USERINFO, _BARE_USERINFO, _BEARER,
                              r"(?P<known>(?<![A-Za-z0-9])(?:" + "|".join(TOKEN_FORMATS) + r"))"]))
_PAIRS = re.compile(_PAIR)
# a cheap first look: text with none of these cannot hold a secret the patterns find
_MAYBE = re.compile(r"://|@|%|[Bb]earer|pass|pwd|secret|key|token|auth|cred|cookie|session|"
                    r"sk-|hf_|gh[pousr]_|github_pat|glpat-|xox|AKIA|ASIA|AIza|gsk|r8_|pplx|xai|nvapi|fw_|csk|tgp_|eyJ",
                    re.IGNORECASE)
CACHED_CHARS = 4096

_secrets: set[str] = set()
_literal: re.Pattern[str] | None = None
_lock = threading.Lock()


# --- names ------------------------------------------------------------------------------------
def words(name: str) -> list[str]:
    """`X-Api-Key` → [x, api, key]; `hfToken` → [hf, token]."""
    return [w.lower() for w in _WORDS.split(str(name)) if w]


def secret_name(name: Any) -> bool:
    """Does this key or variable name mark its value as a secret? (`*_env` names a variable: no)"""
    return _secret_name(name if isinstance(name, str) else str(name))


@functools.lru_cache(maxsize=16384)
def _secret_name(name: str) -> bool:
    if name in NOT_SECRET:
        return False
    parts = words(name)
    if not parts or parts[-1] == "env":
        return False
    if any(w in STRONG_WORDS for w in parts):
        return True
    if parts[-1] == "token":
        return True
    return parts[-1] == "key" and len(parts) > 1 and parts[-2] in KEY_QUALIFIERS


@functools.lru_cache(maxsize=16384)
def _strong(name: Any) -> bool:
    return any(w in STRONG_WORDS for w in words(str(name)))


def _plain_literal(value: str) -> bool:
    """A measurement or a JSON literal (0.5, 128, null), not a digits-only secret (a 12+ digit PIN)."""
    text = value.strip()
    if not _NUMBER_OR_LITERAL.fullmatch(text):
        return False
    return not (text.isdigit() and len(text) >= 12)


# --- known secret values ----------------------------------------------------------------------
def add_secret(value: Any) -> None:
    """Hide this value (and its URL-encoded forms) wherever it appears from now on."""
    text = "" if value is None else str(value)
    if len(text.strip()) < MIN_SECRET_CHARS:
        return
    global _literal
    with _lock:
        before = len(_secrets)
        _secrets.update({text, quote(text, safe=""), quote_plus(text, safe="")})
        if len(_secrets) != before:
            ordered = sorted(_secrets, key=len, reverse=True)
            _literal = re.compile("|".join(re.escape(s) for s in ordered))
            _redact_cached.cache_clear()


def clear_secrets() -> None:
    """Forget every secret value learnt so far (tests)."""
    global _literal
    with _lock:
        _secrets.clear()
        _literal = None
        _redact_cached.cache_clear()


def read_env(name: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of a variable named by a `*_env` key; the value is a secret from now on."""
    if not name:
        return None
    value = (os.environ if environ is None else environ).get(str(name))
    add_secret(value)
    return value


def scan_environment(environ: Mapping[str, str] | None = None) -> None:
    """Treat the values of variables whose names mark secrets (OPENAI_API_KEY, HF_TOKEN...) as secrets."""
    for name, value in (os.environ if environ is None else environ).items():
        if secret_name(name):
            add_secret(value)


def register_env_keys(data: Any, environ: Mapping[str, str] | None = None) -> None:
    """Every `*_env` key in a loaded suite or option mapping: its variable's value is a secret."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(value, str) and words(str(key))[-1:] == ["env"]:
                read_env(value, environ)
            else:
                register_env_keys(value, environ)
    elif isinstance(data, (list, tuple)):
        for item in data:
            register_env_keys(item, environ)


# --- redaction --------------------------------------------------------------------------------
def _replace_span(match: re.Match[str]) -> str:
    if match.group("scheme"):
        return f"{match.group('scheme')}{MASK}@"
    if match.group("bare"):
        return f"{MASK}@"
    if match.group("bearer"):
        return f"{match.group('bearer')}{MASK}"
    return MASK


def _replace_pair(match: re.Match[str]) -> str:
    name, value = match.group("name"), match.group("value")
    head = match.group(0)[: match.start("value") - match.start(0)]
    if value.lower() in ("bearer", "basic", "token"):   # its credential is masked already
        return match.group(0)
    if secret_name(name) and (_strong(name) or not _plain_literal(value)):
        return head + MASK
    return head + _pairs(value)   # `note: password=x`: the value may hold a pair of its own


def _pairs(text: str) -> str:
    return _PAIRS.sub(_replace_pair, text)


def _spans_and_pairs(text: str) -> str:
    return _pairs(_SPANS.sub(_replace_span, text))


_DATA_URI = re.compile(r"(data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+)")


def redact_text(text: str) -> str:
    """The text with every secret it holds replaced by MASK (base64 data URIs, e.g. a report's
    charts, are left whole: their letters could only match a token format by chance)."""
    if not text:
        return text
    if "base64," in text:
        parts = _DATA_URI.split(text)
        return "".join(part if i % 2 else _redact_plain(part) for i, part in enumerate(parts))
    if len(text) <= CACHED_CHARS:   # records repeat the same short strings (hostnames, models, codes)
        return _redact_cached(text)
    return _redact_plain(text)


@functools.lru_cache(maxsize=65536)
def _redact_cached(text: str) -> str:
    return _redact_plain(text)


def _redact_plain(text: str) -> str:
    if not text or not (_literal is not None or _MAYBE.search(text)):
        return text
    literal = _literal
    if literal is not None:
        text = literal.sub(MASK, text)
    text = _spans_and_pairs(text)
    if "%" in text:  # credentials URL-encoded into another URL (`?next=http%3A%2F%2Fu%3Ap%40h`)
        decoded = unquote(text)
        if decoded != text:
            cleaned = _spans_and_pairs(decoded)
            if cleaned != decoded:
                text = cleaned
    return text


def redact(value: Any) -> Any:
    """A copy of a JSON-like structure with secrets hidden: values under secret names, and
    secrets inside every string (keys included)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict | Mapping):
        return {(redact_text(k) if isinstance(k, str) else k): _under(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [v if isinstance(v, int | float) else redact(v) for v in value]
    return value


def _under(key: Any, value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool) and not (
            isinstance(key, str) and _secret_name(key)):
        return value   # the common case (metrics), without a call
    if not secret_name(key) or value is None or isinstance(value, bool):
        return redact(value)
    if isinstance(value, (Mapping, list, tuple)):
        if isinstance(value, Mapping):
            return redact(value)
        return [MASK if isinstance(v, (str, int, float)) and not isinstance(v, bool) else redact(v) for v in value]
    if isinstance(value, str) and value and (_strong(key) or not _plain_literal(value)):
        return MASK
    if isinstance(value, (int, float)) and (_strong(key) or (isinstance(value, int) and abs(value) >= 10**11)):
        return MASK
    return redact(value)


# --- streams ----------------------------------------------------------------------------------
class RedactingStream:
    """A text stream that redacts what is written to it and escapes control characters other than
    newlines, tabs and carriage returns (ANSI/OSC sequences from names); the rest is the wrapped
    stream's. Text is passed on a line at a time (or at flush()), so a `"name": value` pair that
    json.dump writes in pieces is redacted whole."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        cut = max(self._pending.rfind("\n"), self._pending.rfind("\r"))
        if cut >= 0:
            done, self._pending = self._pending[:cut + 1], self._pending[cut + 1:]
            self._stream.write(stream_safe(redact_text(done)))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._pending:
            done, self._pending = self._pending, ""
            self._stream.write(stream_safe(redact_text(done)))
        self._stream.flush()

    @property
    def wrapped(self) -> TextIO:
        return self._stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def redacted_streams() -> Iterator[None]:
    """sys.stdout and sys.stderr redact while inside; the environment's secrets are learnt first."""
    scan_environment()
    saved = sys.stdout, sys.stderr
    sys.stdout = _wrap(sys.stdout)
    sys.stderr = _wrap(sys.stderr)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, RedactingStream):
                try:
                    stream.flush()
                except (OSError, ValueError):   # a closed pipe: nothing more can be shown
                    pass
        sys.stdout, sys.stderr = saved


def _wrap(stream: Any) -> Any:
    return stream if stream is None or isinstance(stream, RedactingStream) else RedactingStream(stream)
