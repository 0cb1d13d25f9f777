"""`benchbench serve-video`: a queue of LTX-2 video generation jobs over HTTP (FastAPI + uvicorn)."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import socket
import sys
from pathlib import Path
from typing import Any

from ..errors import BackendUnavailable, UserError
from ..profile import resolve_profile
from ..redact import read_env
from ..serve import job as jobs
from ..serve.config import ServeConfig
from ..serve.service import Service
from ..serve.store import Job
from ..suite import load_suite
from ..workloads import get_backend
from . import ensure_folder

# `--tiny`: part 7's tiny randomly initialized pipeline, on CPU, no downloads (tests, trying it out)
TINY = {"weights": "dummy", "architecture": "tiny"}
MIN_TOKEN_CHARS = 16


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this "
                   "machine only; any other address needs --token-env)")
    p.add_argument("--token-env", metavar="VAR", help="environment variable holding a bearer token every "
                   f"request must carry (at least {MIN_TOKEN_CHARS} characters; required beyond loopback)")
    p.add_argument("--api-docs", action="store_true", help="serve /docs and /openapi.json (off by default)")
    p.add_argument("--port", type=int, default=8585, help="TCP port (default 8585; 0 picks a free one)")
    p.add_argument("--devices", nargs="+", metavar="DEV", help="GPUs for every job (ltx2 `devices`)")
    p.add_argument("--model", help="LTX-2 model: a local path or a cached Hugging Face id")
    p.add_argument("--results", type=Path, default=Path("results"),
                   help="results folder: records, MP4s and the job database (default: results/)")
    p.add_argument("--machine", help="machine profile recorded with every job (name in machines/ or path)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="another ltx2 suite key for every job, e.g. --set precision=fp16-storage-fp32-compute "
                   "or --set 'steps=[8, 3]' (value parsed as YAML)")
    p.add_argument("--tiny", action="store_true",
                   help="tiny randomly initialized pipeline, on CPU unless --devices (tests; no downloads; "
                   "videos are noise)")
    p.add_argument("--power", action="append", metavar="SAMPLER",
                   help="power sampler(s) for each job's record (default: auto; `none` to skip)")
    p.add_argument("--max-duration", type=float, default=20.0, metavar="S",
                   help="longest clip a request may ask for, in seconds (default 20)")
    p.add_argument("--max-upload-mb", type=float, default=20.0, metavar="MB",
                   help="largest image upload in MiB (default 20)")
    p.add_argument("--max-queue", type=int, default=100, help="queued jobs before 429 (default 100)")
    p.add_argument("--job-timeout", type=float, default=3600.0, metavar="S",
                   help="a job running longer is stopped and failed (default 3600 s)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))


def config_from_args(args: argparse.Namespace) -> Any:
    """The ServeConfig the flags describe (checked for range, not yet against the pipeline)."""

    for flag, value in (("--max-duration", args.max_duration), ("--max-upload-mb", args.max_upload_mb),
                        ("--max-queue", args.max_queue), ("--job-timeout", args.job_timeout)):
        if not value > 0:  # NaN too
            raise UserError(f"must be greater than 0, found {value:g}", field=flag)
    workload: dict[str, Any] = dict(TINY) if args.tiny else {}
    workload.update(parse_sets(args.set))
    devices = [_device(d) for d in args.devices] if args.devices else (["cpu"] if args.tiny else None)
    return ServeConfig(results=args.results.resolve(), model=args.model, devices=devices, machine=args.machine,
                       power=args.power or ["auto"], workload=workload,
                       max_duration_s=args.max_duration,
                       max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
                       max_queue=args.max_queue, job_timeout_s=args.job_timeout,
                       token=read_token(args.token_env), api_docs=args.api_docs)


def read_token(var: str | None) -> str | None:
    """The bearer token from the variable `--token-env` names (a secret from now on)."""
    if not var:
        return None
    token = (read_env(var) or "").strip()
    if len(token) < MIN_TOKEN_CHARS:
        what = "is not set" if not token else f"holds a token shorter than {MIN_TOKEN_CHARS} characters"
        raise UserError(f"environment variable {var} {what}", field="--token-env",
                        hint='e.g. export VAR="$(python -c \'import secrets; print(secrets.token_urlsafe(32))\')"')
    return token


def check_exposure(sock: socket.socket, config: Any) -> None:
    """Beyond loopback, every request must carry the token: refuse to start without one."""
    host = sock.getsockname()[0]
    if config.token or ipaddress.ip_address(host.split("%")[0]).is_loopback:
        return
    sock.close()
    raise UserError(f"listening on {host} reaches beyond this machine and needs authentication",
                    field="--token-env", hint="give --token-env VAR (a variable holding a long random token), "
                    "or listen on 127.0.0.1")


def parse_sets(items: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` pairs, values parsed as YAML (so 8 is a number and [0, 1] a list)."""
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"expected KEY=VALUE, found {item!r}", field="--set", hint="e.g. --set steps=8")
        if key.strip() in ("prompt", "seconds", "seed", "image", "name", "kind", "backend"):
            raise UserError(f"`{key.strip()}` comes from each request", field="--set")
        try:
            out[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            out[key.strip()] = value
    return out


def _device(value: str) -> int | str:
    return int(value) if value.isdigit() else value


def check_config(config: Any) -> None:
    """Validate the job suite the settings produce, once, so a bad flag fails at start-up."""
    import tempfile
    import time


    probe = Job(id="probe", status="queued", prompt="probe", duration_s=min(1.0, config.max_duration_s),
                seed=0, created_at=time.time())
    with tempfile.TemporaryDirectory() as tmp:
        try:
            suite = jobs.write_suite(config, probe, Path(tmp))
        except UserError as exc:
            raise UserError(f"these settings don't make a valid ltx2 job: {exc.field + ': ' if exc.field else ''}"
                            f"{exc.message}", field="--model/--devices/--set", hint=exc.hint) from None
        if config.model:
            _check_model(suite)
    if config.machine:  # every job would fail on a profile that is not there

        resolve_profile(config.machine)


def _check_model(suite_path: Path) -> None:
    """With real weights, find the model now (from its config files) rather than fail every job."""

    spec = load_suite(suite_path).workloads[0]
    cls = get_backend(spec.kind, spec.backend)
    if cls.availability():
        raise UserError(f"the ltx2 pipeline can't run here: {cls.availability()}", field="--model")
    placement = str(cls(spec).plan().get("placement", ""))
    if placement.startswith("unknown: "):
        raise UserError(placement.removeprefix("unknown: "), field="--model")


def listen(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves, so a busy port is a one-line error."""
    if not 0 <= port <= 65535:
        raise UserError(f"must be between 0 and 65535, found {port}", field="--port", hint="0 picks a free one")
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, reuse_port=False)
    except OSError as exc:
        busy = exc.errno == errno.EADDRINUSE
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="--port" if busy else "--host",
                        hint="is another server using it? pick another --port" if busy
                        else "give an address of this machine, e.g. 127.0.0.1 or 0.0.0.0") from None


def main(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from ..serve.app import create_app
    except ImportError as exc:
        raise BackendUnavailable(f"serve-video needs {exc.name}: pip install 'benchbench[serve]'") from None
    import logging


    config = config_from_args(args)
    check_config(config)

    ensure_folder(config.results)
    service = Service(config)
    recovered = service.open()
    try:
        sock = listen(args.host, args.port)
        check_exposure(sock, config)
        host, port = sock.getsockname()[:2]
        logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(message)s")
        _announce(host, port, config, recovered)
        server = uvicorn.Server(uvicorn.Config(create_app(service), log_level=args.log_level,
                                               access_log=args.log_level == "debug"))
        server.run(sockets=[sock])
    finally:
        service.close()
    return 0


def _announce(host: str, port: int, config: Any, recovered: list[str]) -> None:
    if recovered:
        print(f"marked {len(recovered)} job(s) failed that were running when the server stopped: "
              f"{', '.join(recovered)}", file=sys.stderr, flush=True)
    shown = f"[{host}]" if ":" in host else host
    print(f"benchbench serve-video: listening on http://{shown}:{port} "
          f"(jobs in {config.home})", file=sys.stderr, flush=True)
    if config.token:
        print("every request must carry `Authorization: Bearer <token>` (the value of --token-env)",
              file=sys.stderr, flush=True)
