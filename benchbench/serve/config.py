"""What one `serve-video` server is configured with, and where it keeps its jobs."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JOB_ENTRY_ENV = "BENCHBENCH_SERVE_JOB_ENTRY"   # "module:function" run inside each job subprocess
STORE_DIR = "serve-video"                      # under the results folder


@dataclass
class ServeConfig:
    """Server settings; `workload` holds extra `ltx2` suite keys applied to every job."""

    results: Path = Path("results")
    model: str | None = None
    devices: list[Any] | None = None
    machine: str | None = None            # a machine profile name or path, recorded with each job
    power: list[str] = field(default_factory=lambda: ["auto"])
    workload: dict[str, Any] = field(default_factory=dict)
    max_duration_s: float = 20.0
    max_upload_bytes: int = 20 * 1024 * 1024
    max_queue: int = 100
    job_timeout_s: float = 3600.0
    python: str = sys.executable
    token: str | None = field(default=None, repr=False)   # bearer token every request must carry
    api_docs: bool = False                                 # serve /docs and /openapi.json

    @property
    def home(self) -> Path:
        """results/serve-video: the job database and one folder per job."""
        return Path(self.results) / STORE_DIR

    @property
    def db_path(self) -> Path:
        return self.home / "jobs.sqlite3"

    def job_dir(self, job_id: str) -> Path:
        return self.home / "jobs" / job_id

    @property
    def staging(self) -> Path:
        """Where a job's folder is prepared before it is queued (emptied at every start)."""
        return self.home / "staging"

    def staging_dir(self, job_id: str) -> Path:
        return self.staging / job_id

    def describe(self) -> dict[str, Any]:
        """What GET /health reports about the configuration."""
        return {"model": self.model, "devices": self.devices, "machine": self.machine,
                "max_duration_s": self.max_duration_s, "max_upload_bytes": self.max_upload_bytes,
                "max_queue": self.max_queue, "job_timeout_s": self.job_timeout_s,
                "workload": self.workload, "token_required": bool(self.token)}
