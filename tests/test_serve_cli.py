"""`benchbench serve-video` start-up errors (one line, exit 2) and upload checks, without starting a server."""

from __future__ import annotations

import io
import socket
import subprocess
import sys

import pytest
from conftest import ROOT
from serve_helpers import png_bytes

from benchbench.serve.config import ServeConfig
from benchbench.serve.service import BadRequest, Service, read_limited, save_image

TINY = ["--tiny", "--power", "none"]


@pytest.mark.parametrize("args, message", [
    (["--set", "steps"], "--set: expected KEY=VALUE, found 'steps'"),
    (["--set", "prompt=x"], "--set: `prompt` comes from each request"),
    (["--max-duration", "0"], "--max-duration: must be greater than 0"),
    (["--set", "stepz=3"], "unknown key `stepz`"),
    (["--set", "steps=[9, 9]"], "stage1 1..8"),
])
def test_bad_settings_fail_at_start_up(cli, tmp_path, args, message):
    code, out, err = cli("serve-video", "--results", tmp_path / "r", *TINY, *args)
    assert code == 2 and message in err and err.startswith("error: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_busy_port_is_one_line(cli, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = cli("serve-video", "--results", tmp_path / "r", "--port", port, *TINY)
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err


def test_one_server_per_results_folder(cli, tmp_path):
    first = Service(ServeConfig(results=tmp_path / "r"))
    first.open()
    try:
        code, _, err = cli("serve-video", "--results", tmp_path / "r", "--port", "0", *TINY)
    finally:
        first.close()
    assert code == 2 and "another serve-video (pid" in err and "give this server its own --results" in err


def test_help_stays_light():
    code = ("import sys, benchbench.cli as c; c.build_parser(); "
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'PIL', 'torch', 'starlette') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_uploads_are_checked_with_pillow(tmp_path):
    name = save_image(io.BytesIO(png_bytes()), tmp_path / "job", 1 << 20)
    assert name == "input.png" and (tmp_path / "job" / name).read_bytes() == png_bytes()
    with pytest.raises(BadRequest) as exc:
        save_image(io.BytesIO(b"%PDF-1.4 not an image"), tmp_path / "x", 1 << 20)
    assert exc.value.status == 415
    with pytest.raises(BadRequest) as exc:
        save_image(io.BytesIO(png_bytes()[:40]), tmp_path / "x", 1 << 20)   # truncated PNG
    assert exc.value.status == 415
    with pytest.raises(BadRequest) as exc:
        save_image(io.BytesIO(b""), tmp_path / "x", 1 << 20)
    assert exc.value.status == 422 and "empty" in exc.value.message
    with pytest.raises(BadRequest) as exc:           # no Content-Length (chunked): counted while reading
        read_limited(io.BytesIO(b"x" * 3_000_000), 2_000_000)
    assert exc.value.status == 413 and "2000000 bytes" in exc.value.message
    assert not (tmp_path / "x").exists()
