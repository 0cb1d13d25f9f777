"""The server's state, without HTTP: the store, the worker, a lock on the job folder, submission."""

from __future__ import annotations

import io
import logging
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from .. import __version__
from ..errors import UserError
from ..redact import redact
from . import job as jobs
from .config import ServeConfig
from .store import QUEUED, RUNNING, Job, JobStore, iso, new_job_id
from .worker import Worker, stop_orphan

log = logging.getLogger("benchbench.serve")

DEFAULT_DURATION_S = 4.0          # when a request has no `duration`
MAX_PROMPT_CHARS = 10_000
MAX_SEED = 2**63 - 1
READ_CHUNK = 1024 * 1024
# strict numbers: ASCII digits only (no exponent, no `_`, no other scripts' digits, no inf/nan)
DECIMAL = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?", re.ASCII)
WHOLE = re.compile(r"[0-9]{1,19}", re.ASCII)


@dataclass
class BadRequest(Exception):
    """A request the server refuses: HTTP status and a one-line message."""

    status: int
    message: str

    def __str__(self) -> str:
        return self.message


class Service:
    """Everything the HTTP endpoints call; usable (and tested) without a web server."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.store: JobStore | None = None
        self.worker: Worker | None = None
        self._lock_file: Any = None
        self.recovered: list[str] = []

    # --- life cycle ----------------------------------------------------------------------------
    def open(self) -> list[str]:
        """Lock the job folder, open the store, fail jobs a dead server left running."""
        self.config.home.mkdir(parents=True, exist_ok=True)
        self._lock()
        self.store = JobStore(self.config.db_path)
        reason = f"the server stopped while the job was running (found at restart, {iso(time.time())})"
        left = self.store.recover(reason)
        for job in left:
            if job.pid and stop_orphan(job.pid):
                log.info("job %s: stopped its process %d, left over from the previous server", job.id, job.pid)
        self.recovered = [job.id for job in left]
        self._remove_orphans()
        self.worker = Worker(self.store, self.config)
        return self.recovered

    def _remove_orphans(self) -> None:
        """Folders a killed server left without a row: prepared jobs never queued."""
        assert self.store is not None
        shutil.rmtree(self.config.staging, ignore_errors=True)
        jobs_dir = self.config.job_dir("x").parent
        if not jobs_dir.is_dir():
            return
        known = self.store.ids()
        for folder in jobs_dir.iterdir():
            if folder.is_dir() and folder.name not in known:
                log.info("removing %s: a job folder with no job (the server stopped while queueing it)", folder)
                shutil.rmtree(folder, ignore_errors=True)

    def start(self) -> None:
        assert self.worker is not None, "open() first"
        self.worker.start()

    def close(self) -> None:
        """Stop the worker (failing a running job), close the store, release the lock. Idempotent."""
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        if self.store is not None:
            self.store.close()
            self.store = None
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _lock(self) -> None:
        path = self.config.home / "server.lock"
        fh = open(path, "a+")  # noqa: SIM115 - held for the server's lifetime
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock, one server per folder is up to the user
            self._lock_file = fh
            return
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            other = fh.read().strip() or "unknown pid"
            fh.close()
            raise UserError(f"another serve-video ({other}) is using {self.config.home}",
                            field="--results", hint="stop it, or give this server its own --results") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}\n")
        fh.flush()
        self._lock_file = fh

    # --- requests ------------------------------------------------------------------------------
    def submit(self, prompt: str | None, duration: str | None, seed: str | None,
               image: BinaryIO | None = None) -> Job:
        """Validate a request, prepare the job's folder aside, then queue it: the row and the
        folder appear together (one transaction) or not at all."""
        assert self.store is not None and self.worker is not None
        prompt = (prompt or "").strip()
        if not prompt:
            raise BadRequest(422, "missing `prompt`: describe the video to generate")
        if len(prompt) > MAX_PROMPT_CHARS:
            raise BadRequest(422, f"`prompt` is {len(prompt)} characters; at most {MAX_PROMPT_CHARS}")
        job = Job(id=new_job_id(), status=QUEUED, prompt=prompt,
                  duration_s=self._duration(duration), seed=_seed(seed), created_at=time.time())
        if self.store.count(QUEUED) >= self.config.max_queue:   # cheap early answer; admit() decides
            raise self._full()
        staging, final = self.config.staging_dir(job.id), self.config.job_dir(job.id)
        try:
            if image is not None:
                job.image = save_image(image, staging, self.config.max_upload_bytes)
            jobs.write_suite(self.config, job, staging)
            final.parent.mkdir(parents=True, exist_ok=True)
            if not self.store.admit(job, self.config.max_queue, lambda: staging.rename(final)):
                raise self._full()
        except UserError as exc:
            raise BadRequest(422, f"the pipeline refuses this job: {exc.message}"
                             + (f" ({exc.hint})" if exc.hint else "")) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            if final.exists() and self.store.get(job.id) is None:
                shutil.rmtree(final, ignore_errors=True)
        self.worker.wake()
        log.info("job %s: queued (%s s, seed %d%s)", job.id, f"{job.duration_s:g}", job.seed,
                 ", with image" if job.image else "")
        return job

    def _full(self) -> BadRequest:
        return BadRequest(429, f"the queue is full ({self.config.max_queue} jobs waiting); try later")

    def _duration(self, value: str | None) -> float:
        limit = self.config.max_duration_s
        if value is None or not str(value).strip():
            return DEFAULT_DURATION_S if DEFAULT_DURATION_S <= limit else limit
        text = str(value).strip()
        if not DECIMAL.fullmatch(text):
            raise BadRequest(422, f"`duration` must be a number of seconds, got {text[:40]!r} "
                             "(plain digits such as 4 or 2.5)")
        seconds = float(text)
        if not 0 < seconds <= limit:
            raise BadRequest(422, f"`duration` must be more than 0 and at most {limit:g} seconds, got {text}")
        return seconds

    def get(self, job_id: str) -> Job:
        assert self.store is not None
        job = self.store.get(job_id)
        if job is None:
            raise BadRequest(404, f"no job {job_id!r}")
        return job

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        assert self.store is not None
        if not self.store.cancel(job_id):
            job = self.get(job_id)
            what = "is running" if job.status == RUNNING else f"already {job.status}"
            raise BadRequest(409, f"job {job_id} {what}; only queued jobs can be cancelled")
        log.info("job %s: cancelled", job_id)
        return self.get(job_id)

    def video(self, job_id: str) -> Path:
        job = self.get(job_id)
        if job.status != "done" or not job.video:
            more = f": {job.error}" if job.error else "; the video is ready when status is `done`"
            raise BadRequest(409, f"job {job_id} is {job.status}{more}")
        path = Path(self.config.results) / job.video
        if not path.is_file():
            raise BadRequest(410, f"the video of job {job_id} is gone from {path}")
        return path

    def view(self, job: Job) -> dict[str, Any]:
        """A job as the API shows it."""
        assert self.store is not None
        out: dict[str, Any] = {
            "id": job.id, "status": job.status, "prompt": job.prompt, "duration": job.duration_s,
            "seed": job.seed, "image": bool(job.image), "created_at": iso(job.created_at),
            "started_at": iso(job.started_at), "finished_at": iso(job.finished_at),
            "queue_s": job.queue_s, "run_s": job.run_s, "error": job.error}
        if job.status == QUEUED:
            out["position"] = self.store.position(job)
        if job.status == "done":
            out["video"] = f"/jobs/{job.id}/video"
        if job.record:
            out["record"] = job.record
        if job.metrics:
            out["metrics"] = job.metrics
        if job.exit_code is not None:
            out["exit_code"] = job.exit_code
        return redact(out)

    def health(self) -> dict[str, Any]:

        assert self.store is not None and self.worker is not None
        return {"status": "ok", "server": "benchbench serve-video", "version": __version__,
                "queued": self.store.count(QUEUED), "running": self.worker.current,
                "worker_alive": self.worker.alive, "config": self.config.describe()}



def _seed(value: str | None) -> int:
    if value is None or not str(value).strip():
        return secrets.randbelow(2**31)
    text = str(value).strip()
    if not WHOLE.fullmatch(text):
        raise BadRequest(422, f"`seed` must be a whole number written with the digits 0-9, got {text[:40]!r}")
    seed = int(text)
    if not 0 <= seed <= MAX_SEED:
        raise BadRequest(422, f"`seed` must be between 0 and {MAX_SEED}, got {seed}")
    return seed


def save_image(stream: BinaryIO, job_dir: Path, max_bytes: int) -> str:
    """Check an upload is an image (Pillow) no larger than max_bytes; save it; return its file name."""
    from PIL import Image, UnidentifiedImageError

    data = read_limited(stream, max_bytes)
    if not data:
        raise BadRequest(422, "`image` is empty")
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = (img.format or "png").lower()
            img.verify()
    except Image.DecompressionBombError as exc:
        raise BadRequest(413, f"`image` has too many pixels: {exc}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise BadRequest(415, f"`image` is not an image Pillow can read ({exc.__class__.__name__}); "
                         "send a PNG, JPEG or WebP file") from None
    job_dir.mkdir(parents=True, exist_ok=True)
    name = f"input.{'jpg' if fmt == 'jpeg' else fmt}"
    (job_dir / name).write_bytes(data)
    return name


def read_limited(stream: BinaryIO, max_bytes: int) -> bytes:
    """Read an upload, refusing more than max_bytes (413)."""
    chunks, size = [], 0
    while True:
        chunk = stream.read(READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise BadRequest(413, f"`image` is larger than the limit of {max_bytes} bytes "
                             "(serve-video --max-upload-mb)")
        chunks.append(chunk)
