"""`kind: video, backend: ltx-jobs`: measure a video job server over HTTP.

Follows the published job API (`benchbench serve-video` implements it): `POST /jobs` (multipart
`prompt`, `duration`, `seed`, optional `image`) → `{"id", "status"}`; `GET /jobs/{id}` until the
status is final; `GET /jobs/{id}/video` → the MP4. Times: `queue_s` and `gen_s` come from the
server's `created_at`/`started_at`/`finished_at` when it reports them (`timing_source: server`),
else from the status changes this client saw while polling (`observed`, ± one poll interval);
`e2e_s` is always observed here: from sending the request to having the whole MP4.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Interrupted, ServerError, WorkloadError
from ..schema import Field, positive
from .base import IterationContext, IterationResult, Workload
from .job_server_doctor import auth_headers, doctor_of

if TYPE_CHECKING:
    from ..suite import WorkloadSpec

DONE = {"done", "completed", "complete", "finished", "succeeded", "success"}
RUNNING = {"running", "processing", "generating", "started", "in_progress"}
FAILED = {"failed", "error", "errored", "cancelled", "canceled"}
CLIP_KEYS = ("frames", "fps", "video_s", "width", "height")


def _url_ok(value: Any) -> str | None:
    return None if str(value).startswith(("http://", "https://")) else \
        f"must start with http:// or https://, found {value!r}"


class LTXJobs(Workload):
    """Submit one clip per iteration to a job server, wait for it, download the MP4."""

    kind = "video"
    backend = "ltx-jobs"
    requires = ("requests",)
    primary_metrics = ("gen_s", "e2e_s")
    summary_metrics = ("queue_s", "gen_s", "e2e_s")
    emits = ("e2e_s", "download_s", "poll_s", "queue_s", "gen_s", "timing_source", "pipeline_gen_s", "mp4_bytes",
             "seconds_requested", "seed", *CLIP_KEYS)
    keys = {
        "url": Field((str,), required=True, check=_url_ok, doc="the job server, e.g. http://10.1.1.24:8585"),
        "prompt": Field((str,), required=True, doc="what the video shows"),
        "seconds": Field((float,), default=4.0, check=positive, doc="clip length (form field `duration`)"),
        "image": Field((str,), path=True, doc="first frame for image-to-video"),
        "poll_s": Field((float,), default=2.0, check=positive, doc="seconds between status requests"),
        "request_timeout_s": Field((float,), default=30.0, check=positive),
        "token_env": Field((str,), doc="environment variable holding the server's bearer token "
                           "(serve-video --token-env)"),
    }

    @classmethod
    def doctor(cls, specs: list[WorkloadSpec] | None) -> dict[str, Any]:
        """Every job server the suite's ltx-jobs entries name: reachable, version, queue, worker alive."""
        return doctor_of(specs or [])

    def plan(self) -> dict[str, Any]:
        p = self.params
        return {"server": p["url"], "clip": f"{p['seconds']:g} s, seed {p.get('seed')}"
                + (", image-to-video" if p.get("image") else ""), "poll_s": p["poll_s"],
                "job_timeout_s": self._job_timeout()}

    def setup(self) -> dict[str, Any]:
        self.base = self.params["url"].rstrip("/")
        import requests

        self.http = requests.Session()
        self.http.headers.update(auth_headers(self.params.get("token_env")))
        health = self._get_json("/health", missing_ok=True)
        if health is None:
            self._get_json("/jobs")   # a server without /health: reachable is all we learn
            return {"server_url": self.base, "server": "unknown (no /health)"}
        return {"server_url": self.base, "server": health.get("server"),
                "server_version": health.get("version"), "server_config": health.get("config")}

    def _job_timeout(self) -> float:
        return float(self.params.get("timeout_s") or 3600.0)

    # --- one iteration -------------------------------------------------------------------------
    def run_once(self, ctx: IterationContext) -> IterationResult:
        t_submit = time.monotonic()
        job = self._submit()
        job_id = str(job.get("id") or "")
        if not job_id:
            raise ServerError(f"{self.base}/jobs answered without a job id: {json.dumps(job)[:200]}")
        try:
            final, seen = self._wait(job_id, job, t_submit)
        except (Interrupted, KeyboardInterrupt):
            self._cancel(job_id)
            raise
        status = str(final.get("status", "")).lower()
        if status not in DONE:
            why = final.get("error") or final.get("detail") or "no reason given"
            raise WorkloadError(f"job {job_id} {status}: {why}")
        path = ctx.artifact_path(".mp4")
        t_dl = time.monotonic()
        size = self._download(job_id, path)
        t_end = time.monotonic()
        metrics = self._metrics(final, seen, t_submit, t_dl, t_end)
        metrics["mp4_bytes"] = size
        metrics.update(self._clip(final, path))
        raw = {"job_id": job_id, "server_status": final}
        return IterationResult(metrics, raw=raw, artifacts=[path.name])

    def _submit(self) -> dict[str, Any]:
        p = self.params
        data = {"prompt": p["prompt"], "duration": f"{p['seconds']:g}", "seed": str(p.get("seed", 42))}
        files = None
        if p.get("image"):
            image = Path(p["image"])
            files = {"image": (image.name, image.read_bytes(), "application/octet-stream")}
        resp = self._request("POST", "/jobs", data=data, files=files)
        if resp.status_code >= 400:
            raise WorkloadError(f"{self.base} refused the job ({resp.status_code}): {_detail(resp)}")
        return _json(resp, "/jobs")

    def _wait(self, job_id: str, job: dict[str, Any], t_submit: float) -> tuple[dict[str, Any], dict]:
        """Poll until the job is final; `seen` holds when this client first saw each status."""
        seen: dict[str, float] = {}
        deadline = t_submit + self._job_timeout()
        while True:
            status = str(job.get("status", "")).lower()
            seen.setdefault(status, time.monotonic())
            if status in DONE or status in FAILED:
                return job, seen
            if time.monotonic() > deadline:
                self._cancel(job_id)
                raise WorkloadError(f"job {job_id} still {status} after {self._job_timeout():g} s "
                                    "(raise `timeout_s`)")
            time.sleep(self.params["poll_s"])
            job = self._get_json(f"/jobs/{job_id}")

    def _download(self, job_id: str, path: Path) -> int:
        resp = self._request("GET", f"/jobs/{job_id}/video", stream=True)
        if resp.status_code >= 400:
            raise WorkloadError(f"video of job {job_id}: {resp.status_code} {_detail(resp)}")
        size = 0
        path.parent.mkdir(parents=True, exist_ok=True)   # the record's folder may not exist yet
        with open(path, "wb") as fh:
            for chunk in resp.iter_content(1 << 20):
                fh.write(chunk)
                size += len(chunk)
        if size == 0:
            raise WorkloadError(f"the video of job {job_id} is empty")
        return size

    def _cancel(self, job_id: str) -> None:
        try:
            self.http.delete(f"{self.base}/jobs/{job_id}", timeout=5)
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass

    # --- measurements --------------------------------------------------------------------------
    def _metrics(self, job: dict[str, Any], seen: dict[str, float], t_submit: float,
                 t_dl: float, t_end: float) -> dict[str, Any]:
        created, started, finished = (_ts(job.get(k)) for k in ("created_at", "started_at", "finished_at"))
        out: dict[str, Any] = {"e2e_s": t_end - t_submit, "download_s": t_end - t_dl,
                               "poll_s": self.params["poll_s"]}
        if None not in (created, started, finished):
            out.update(queue_s=started - created, gen_s=finished - started, timing_source="server")
        else:
            out["timing_source"] = "observed"
            t_fin = min(v for k, v in seen.items() if k in DONE)
            t_run = min((v for k, v in seen.items() if k in RUNNING), default=None)
            if t_run is not None:   # else it started and finished between two polls: not separable
                out.update(queue_s=t_run - t_submit, gen_s=t_fin - t_run)
        server_metrics = job.get("metrics") or {}
        if isinstance(server_metrics.get("gen_s"), (int, float)):
            out["pipeline_gen_s"] = server_metrics["gen_s"]   # the pipeline alone, as the server measured it
        return out

    def _clip(self, job: dict[str, Any], path: Path) -> dict[str, Any]:
        """Clip parameters: asked for, reported by the server, or probed from the MP4 (ffprobe)."""
        out: dict[str, Any] = {"seconds_requested": float(self.params["seconds"]),
                               "seed": job.get("seed", self.params.get("seed"))}
        reported = job.get("metrics") or {}
        clip = {k: reported[k] for k in CLIP_KEYS if isinstance(reported.get(k), (int, float))}
        out.update(clip or probe_mp4(path))
        return out

    # --- HTTP ----------------------------------------------------------------------------------
    def _request(self, method: str, route: str, **kw: Any) -> Any:
        import requests

        try:
            return self.http.request(method, f"{self.base}{route}",
                                     timeout=self.params["request_timeout_s"], **kw)
        except requests.RequestException as exc:
            raise ServerError(f"{self.base}{route}: {type(exc).__name__}: {exc}".splitlines()[0]) from None

    def _get_json(self, route: str, missing_ok: bool = False) -> Any:
        resp = self._request("GET", route)
        if missing_ok and resp.status_code == 404:
            return None
        if resp.status_code >= 400:
            raise ServerError(f"{self.base}{route}: {resp.status_code} {_detail(resp)}")
        return _json(resp, route)

    def teardown(self) -> None:
        http = getattr(self, "http", None)
        if http is not None:
            http.close()


def _json(resp: Any, route: str) -> Any:
    try:
        return resp.json()
    except ValueError:
        raise ServerError(f"{route}: not JSON: {resp.text[:200]!r}") from None


def _detail(resp: Any) -> str:
    try:
        body = resp.json()
        return str(body.get("detail", body)) if isinstance(body, dict) else str(body)
    except ValueError:
        return resp.text[:200].strip() or resp.reason


def _ts(value: Any) -> float | None:
    """ISO 8601 (a trailing Z allowed) or epoch seconds → epoch seconds; None when absent."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str) or not value:
        return None
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.UTC)
    return stamp.timestamp()


def probe_mp4(path: Path) -> dict[str, Any]:
    """frames, fps, video_s, width, height of the first video stream, by ffprobe; {} without it."""
    exe = shutil.which("ffprobe")
    if not exe:
        return {}
    try:
        out = subprocess.run([exe, "-v", "error", "-select_streams", "v:0", "-count_packets",
                              "-show_entries", "stream=width,height,r_frame_rate,nb_read_packets,duration",
                              "-of", "json", str(path)], capture_output=True, text=True, timeout=30)
        stream = json.loads(out.stdout)["streams"][0]
    except (OSError, subprocess.SubprocessError, ValueError, KeyError, IndexError):
        return {}
    num, _, den = str(stream.get("r_frame_rate", "0/1")).partition("/")
    fps = float(num) / float(den or 1) if float(den or 1) else None
    frames = int(stream["nb_read_packets"]) if str(stream.get("nb_read_packets", "")).isdigit() else None
    result = {"width": stream.get("width"), "height": stream.get("height"), "fps": fps, "frames": frames,
              "video_s": frames / fps if frames and fps else None}
    return {k: v for k, v in result.items() if v is not None}
