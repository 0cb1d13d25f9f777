"""The server's own tokenizer, where it exposes one: llama.cpp's `/tokenize` + `/detokenize`
({"content"} → {"tokens"}; {"tokens"} → {"content"}) and vLLM's ({"model", "prompt"} → {"tokens",
"count"}; {"model", "tokens"} → {"prompt"}), both at the server root (not under /v1)."""

from __future__ import annotations

from typing import Any

from .prompts import Tokenizer

TIMEOUT_S = 30.0


def server_tokenizer(root_url: str, model: str, headers: dict[str, str] | None = None) -> Tokenizer | None:
    """A Tokenizer over the server's endpoints, or None when it has none (hosted APIs, Ollama)."""
    import httpx

    client = httpx.Client(base_url=root_url.rstrip("/"), timeout=TIMEOUT_S, headers=headers or {})
    shapes = (("llamacpp", {"content": "hello world", "add_special": False}),
              ("vllm", {"model": model, "prompt": "hello world", "add_special_tokens": False}))
    for flavor, body in shapes:
        try:
            r = client.post("/tokenize", json=body)
            tokens = r.json().get("tokens") if r.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError):
            tokens = None
        if isinstance(tokens, list) and tokens:
            return _tokenizer(client, flavor, model)
    client.close()
    return None


def _tokenizer(client: Any, flavor: str, model: str) -> Tokenizer:
    def encode(text: str) -> list[int]:
        body = {"content": text, "add_special": False} if flavor == "llamacpp" else \
            {"model": model, "prompt": text, "add_special_tokens": False}
        r = client.post("/tokenize", json=body)
        r.raise_for_status()
        return [t if isinstance(t, int) else t.get("id") for t in r.json()["tokens"]]

    def decode(ids: list[int]) -> str:
        body = {"tokens": ids} if flavor == "llamacpp" else {"model": model, "tokens": ids}
        r = client.post("/detokenize", json=body)
        r.raise_for_status()
        data = r.json()
        return str(data.get("content") if flavor == "llamacpp" else data.get("prompt"))

    tok = Tokenizer(encode, decode)
    tok.flavor = flavor   # type: ignore[attr-defined]
    return tok
