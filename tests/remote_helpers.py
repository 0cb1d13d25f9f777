"""A real OpenSSH server on 127.0.0.1 for the remote tests, with throwaway keys and a temporary
ssh config and known_hosts: nothing under ~/.ssh is read or written, nothing but loopback is used.

The ssh config has these aliases (all 127.0.0.1):
  alpha, beta  the server, host key in known_hosts
  stranger     the server, but checked against an empty known_hosts (unknown host key)
  nowhere      a loopback port nothing listens on (unreachable)
The remote side runs this checkout's benchbench with this Python (BENCHBENCH_REMOTE_CMD).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
REPO = Path(__file__).resolve().parents[1]
PRIVSEP_DIR = Path("/run/sshd")


def why_no_sshd() -> str | None:
    """None when a test sshd can run here, else the reason to skip."""
    if not Path(SSHD).exists():
        return "OpenSSH server not installed (apt-get install openssh-server)"
    if os.geteuid() != 0:
        return "the test sshd runs as root (it must switch to the login user); run the tests as root"
    try:
        import asyncssh  # noqa: F401
    except ImportError:
        return "asyncssh not installed (pip install 'benchbench[remote]')"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keys(folder: Path) -> tuple[Path, Path, str]:
    import asyncssh

    host = asyncssh.generate_private_key("ssh-ed25519")
    client = asyncssh.generate_private_key("ssh-ed25519")
    host_key, client_key = folder / "host_key", folder / "client_key"
    host.write_private_key(str(host_key))
    client.write_private_key(str(client_key))
    host_key.chmod(0o600)
    client_key.chmod(0o600)
    (folder / "authorized_keys").write_bytes(client.export_public_key())
    return host_key, client_key, host.export_public_key().decode().strip()


class SshServer:
    """Start with `start()`, stop with `stop()`; `env()` is what a client process needs."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.dead_port = free_port()
        self.remote_dir = folder / "remote home 'q' $HOME `id`"   # quoting is exercised everywhere
        self.proc: subprocess.Popen | None = None

    def start(self) -> SshServer:
        f = self.folder
        f.mkdir(parents=True, exist_ok=True)
        host_key, client_key, host_pub = _keys(f)
        (f / "sshd_config").write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {f / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {f / 'authorized_keys'}\nStrictModes no\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin prohibit-password\n"
            "PermitUserRC no\nPermitUserEnvironment no\nAllowTcpForwarding no\nX11Forwarding no\n"
            "Subsystem sftp internal-sftp\nLogLevel VERBOSE\n")
        (f / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {host_pub}\n")
        (f / "empty_known_hosts").write_text("")
        common = (f"  HostName 127.0.0.1\n  User {os_user()}\n  IdentityFile {client_key}\n"
                  "  IdentitiesOnly yes\n  ConnectTimeout 5\n")
        (f / "ssh_config").write_text(
            f"Host alpha beta\n  Port {self.port}\n  UserKnownHostsFile {f / 'known_hosts'}\n{common}"
            f"Host stranger\n  Port {self.port}\n  UserKnownHostsFile {f / 'empty_known_hosts'}\n{common}"
            f"Host nowhere\n  Port {self.dead_port}\n  UserKnownHostsFile {f / 'known_hosts'}\n{common}")
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)  # sshd's compiled-in privilege separation folder
        self.log = open(f / "sshd.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(f / "sshd_config")],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_listening()
        self.remote_dir.mkdir(exist_ok=True)
        return self

    def _wait_listening(self, timeout_s: float = 10) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited: {(self.folder / 'sshd.log').read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not start listening")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def env(self, home: Path) -> dict[str, str]:
        """Environment for a client: temp ssh config, no agent, a temp HOME, this checkout remotely."""
        env = {k: v for k, v in os.environ.items() if k not in ("SSH_AUTH_SOCK", "BENCHBENCH_KNOWN_HOSTS")}
        env.update(HOME=str(home), BENCHBENCH_SSH_CONFIG=str(self.folder / "ssh_config"),
                   BENCHBENCH_REMOTE_DIR=str(self.remote_dir), BENCHBENCH_REMOTE_CMD=remote_cmd(),
                   BENCHBENCH_SSH_TIMEOUT_S="10", NO_COLOR="1")
        return env


def os_user() -> str:
    import pwd

    return pwd.getpwuid(os.geteuid()).pw_name


def remote_cmd() -> str:
    """This interpreter and this checkout, also on the 'remote' side (quoted for shlex.split)."""
    import shlex

    return shlex.join(["env", f"PYTHONPATH={REPO}", "OMP_NUM_THREADS=1", sys.executable, "-m", "benchbench"])


TINY_SUITE = """\
name: {name}
warmups: 0
repetitions: {repetitions}
power: {{samplers: [auto], interval_ms: 500}}
workloads:
  - name: {workload}
    kind: llm
    backend: transformers
    architecture: tiny-llama
    weights: dummy
    device: {device}
    prompt_file: prompts/hello.txt
    max_tokens: {max_tokens}
"""


def write_suite(folder: Path, name: str = "tiny", workload: str = "tiny-llama", repetitions: int = 2,
                max_tokens: int = 4, device: str = "cpu", extra: str = "") -> Path:
    """A quickstart-sized suite (seconds on a CPU) that references a prompt file to upload."""
    (folder / "prompts").mkdir(parents=True, exist_ok=True)
    (folder / "prompts" / "hello.txt").write_text("Say hello to the home lab.\n")
    path = folder / f"{name}.yaml"
    path.write_text(TINY_SUITE.format(name=name, workload=workload, repetitions=repetitions,
                                      max_tokens=max_tokens, device=device) + extra)
    return path


def write_profile(folder: Path, name: str, price: float = 0.2) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(f"name: {name}\nelectricity_per_kwh: {price}\ncurrency: USD\nidle_w: 30\n")
    return path
