"""`benchbench doctor` for the LLM server backends: is each server the suite (or the default Ollama host) names
reachable, which version, which models loaded, which missing. Each backend's `doctor` classmethod calls these
with its own targets; a new server backend writes its own check beside them."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .server_http import DOCTOR_TIMEOUT_S, error_text, one_line, public_url, scrub
from .servers import gpu_fraction, same_ollama_model


class ServerStatus(dict):
    """One server's check: a dict for --json, one readable line for the text report."""

    def __str__(self) -> str:
        head = f"{self['kind']:6} {self['url']}: "
        if not self.get("reachable"):
            return head + f"unreachable ({self.get('error')})"
        parts = ["reachable"]
        if self.get("version"):
            parts.append(f"version {self['version']}")
        loaded = self.get("loaded") or []
        if self["kind"] == "ollama":
            parts.append("loaded: " + (", ".join(_loaded_text(m) for m in loaded) or "none"))
        elif self.get("models") is not None:
            parts.append(f"{len(self['models'])} model(s) served")
        for model in self.get("missing") or []:
            parts.append(f"missing {model} ({self['fix'][model]})")
        if self.get("note"):
            parts.append(self["note"])
        return head + "; ".join(parts)


def _loaded_text(m: dict[str, Any]) -> str:
    frac = m.get("gpu_fraction")
    where = "?" if frac is None else ("CPU" if frac == 0 else f"{frac:.0%} GPU")
    return f"{m['name']} ({where}, {m.get('size_bytes', 0) / 1e9:.1f} GB)"


def targets(specs: list[Any], url_of: Callable[[dict[str, Any]], str],
            default: str | None = None) -> dict[str, dict[str, Any]]:
    """url → {"models": {...}, "key_env": ...} for the servers a backend's suite entries name (its default
    server first, when it has one)."""
    out: dict[str, dict[str, Any]] = {default: {"models": set()}} if default else {}
    for spec in specs:
        entry = out.setdefault(url_of(spec.params), {"models": set()})
        entry["models"].add(spec.params.get("model"))
        entry["key_env"] = entry.get("key_env") or spec.params.get("api_key_env")
    return out


def check_servers(found: dict[str, dict[str, Any]],
                  check: Callable[[str, dict[str, Any]], ServerStatus]) -> dict[str, Any]:
    """{"servers": [...]}: every server checked in parallel (short timeouts); {} when there is none."""
    if not found:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(found))) as pool:
        checks = [pool.submit(check, url, info) for url, info in found.items()]
    return {"servers": [c.result() for c in checks]}


def check_ollama(url: str, info: dict[str, Any]) -> ServerStatus:
    import httpx

    out = ServerStatus(kind="ollama", url=url, reachable=False)
    try:
        with httpx.Client(base_url=url, timeout=DOCTOR_TIMEOUT_S) as client:
            out["version"] = client.get("/api/version").json().get("version")
            out["reachable"] = True
            out["loaded"] = [{"name": m.get("name") or m.get("model"), "size_bytes": m.get("size"),
                              "size_vram_bytes": m.get("size_vram"),
                              "gpu_fraction": gpu_fraction(m.get("size"), m.get("size_vram"))}
                             for m in client.get("/api/ps").json().get("models") or []]
            have = [m.get("name") or m.get("model") for m in client.get("/api/tags").json().get("models") or []]
    except (httpx.HTTPError, ValueError) as exc:
        if not out["reachable"]:
            out["error"] = f"{type(exc).__name__}; start it with `ollama serve` or set OLLAMA_HOST"
        else:
            out["note"] = f"partial answer: {one_line(str(exc), 100)}"
        return out
    wanted = sorted(m for m in info["models"] if m)
    out["missing"] = [m for m in wanted if not any(same_ollama_model(m, h) for h in have)]
    out["fix"] = {m: f"ollama pull {m}" for m in out["missing"]}
    return out


def check_openai(url: str, info: dict[str, Any]) -> ServerStatus:
    import httpx

    out = ServerStatus(kind="openai", url=public_url(url), reachable=False)
    key_env = info.get("key_env")
    key = os.environ.get(key_env) if key_env else None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        with httpx.Client(timeout=DOCTOR_TIMEOUT_S, headers=headers) as client:
            r = client.get(url.rstrip("/") + "/models")
    except httpx.HTTPError as exc:
        out["error"] = scrub(f"{type(exc).__name__}; start the server or check base_url", key)
        return out
    out["reachable"] = True
    if key_env and not key:
        out["note"] = f"environment variable {key_env} is not set"
    if r.status_code >= 400:
        out["note"] = scrub(f"GET /models: HTTP {r.status_code}: {error_text(r.content)}", key)
        return out
    try:
        out["models"] = [m.get("id") for m in r.json().get("data") or []]
    except ValueError:
        return out
    out["missing"] = sorted(m for m in info["models"] if m and m not in out["models"])
    out["fix"] = {m: "not served here; check `model` or load it in the server" for m in out["missing"]}
    return out
