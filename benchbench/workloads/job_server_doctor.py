"""`benchbench doctor` for the `ltx-jobs` backend: can the video job servers a suite names be reached?
(`LTXJobs.doctor` calls `doctor_of`; a job server is the backend's own concern, not the serve package's.)"""

from __future__ import annotations

from typing import Any

from ..errors import UserError
from ..redact import read_env

TIMEOUT_S = 3.0


def doctor_of(specs: list[Any]) -> dict[str, Any]:
    """{"job_servers": [{url, workloads, reachable, ...}]} for the ltx-jobs entries; {} when there is none."""
    urls: dict[str, list[str]] = {}
    tokens: dict[str, str | None] = {}
    for spec in specs:
        url = str(spec.params["url"]).rstrip("/")
        urls.setdefault(url, []).append(spec.name)
        tokens[url] = tokens.get(url) or spec.params.get("token_env")
    if not urls:
        return {}
    return {"job_servers": [JobServerStatus(url=url, workloads=names, **check(url, token_env=tokens[url]))
                            for url, names in urls.items()]}


def auth_headers(token_env: str | None) -> dict[str, str]:
    """`Authorization: Bearer ...` from the variable `token_env` names; {} without one."""
    if not token_env:
        return {}
    token = read_env(token_env)
    if not token:
        raise UserError(f"environment variable {token_env} is not set", field="token_env",
                        hint="export it with the token the server was started with")
    return {"Authorization": f"Bearer {token.strip()}"}


class JobServerStatus(dict):
    """One job server's check: a dict for --json, one readable line for the text report."""

    def __str__(self) -> str:
        head = f"{self['url']} ({', '.join(self['workloads'])}): "
        if not self.get("reachable"):
            return head + f"unreachable ({self.get('why') or self.get('status_code')})"
        if self.get("version") is None:
            return head + f"reachable, {self.get('server')}"
        running = f"running job {self['running']}" if self.get("running") else "idle"
        worker = "" if self.get("worker_alive", True) else "; its worker thread is dead: restart it"
        return head + f"reachable, {self['server']} {self['version']}, {self['queued']} queued, {running}{worker}"


def check(url: str, timeout_s: float = TIMEOUT_S, token_env: str | None = None) -> dict[str, Any]:
    """Reachability of one job server: GET /health, or GET /jobs on servers without it."""
    import requests

    base = url.rstrip("/")
    try:
        headers = auth_headers(token_env)
    except UserError as exc:
        return {"reachable": False, "why": exc.message}
    try:
        resp = requests.get(f"{base}/health", timeout=timeout_s, headers=headers)
        if resp.status_code == 401:
            return {"reachable": False, "status_code": 401,
                    "why": "401: the server wants a bearer token (set the workload's token_env)"}
        if resp.status_code == 404:
            resp = requests.get(f"{base}/jobs", timeout=timeout_s, headers=headers)
            return {"reachable": resp.ok, "status_code": resp.status_code,
                    "server": "unknown (no /health)"}
        if not resp.ok:
            return {"reachable": False, "status_code": resp.status_code, "why": resp.text[:200]}
        health = resp.json()
    except requests.Timeout:
        return {"reachable": False, "why": f"Timeout: no answer within {timeout_s:g} s"}
    except requests.ConnectionError:
        return {"reachable": False, "why": "ConnectionError: nothing answers there (is the server running? "
                                           "started with --host 0.0.0.0 to be reachable from elsewhere?)"}
    except requests.RequestException as exc:
        return {"reachable": False, "why": f"{type(exc).__name__}: {exc}".splitlines()[0][:300]}
    except ValueError:
        return {"reachable": False, "why": "answered, but not with JSON: not a job server?"}
    return {"reachable": True, "server": health.get("server"), "version": health.get("version"),
            "queued": health.get("queued"), "running": health.get("running"),
            "worker_alive": health.get("worker_alive")}
