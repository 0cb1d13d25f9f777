"""The HTTP API: POST /jobs, GET /jobs, GET /jobs/{id}, GET /jobs/{id}/video, DELETE /jobs/{id},
GET /health. Errors are JSON `{"detail": "<one line>"}` with a 4xx status. Imports FastAPI at module
level: only `serve-video` (at run time) imports this module."""

from __future__ import annotations

import hmac
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from .. import __version__
from .service import BadRequest, Service
from .store import STATUSES

FORM_OVERHEAD_BYTES = 64 * 1024   # room for the text fields and multipart framing


def create_app(service: Service, run_worker: bool = True) -> FastAPI:
    """A FastAPI app over an opened Service; the worker runs while the app does."""
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if run_worker:
            service.start()
        try:
            yield
        finally:
            service.close()

    docs = service.config.api_docs   # /docs, /redoc and /openapi.json only when asked for
    app = FastAPI(title="benchbench serve-video", version=__version__, lifespan=lifespan,
                  docs_url="/docs" if docs else None, redoc_url="/redoc" if docs else None,
                  openapi_url="/openapi.json" if docs else None)

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.middleware("http")
    async def refuse_oversized(request: Request, call_next: Any) -> Any:
        limit = service.config.max_upload_bytes + FORM_OVERHEAD_BYTES
        length = request.headers.get("content-length", "")
        if request.method == "POST" and length.isdigit() and int(length) > limit:
            return JSONResponse({"detail": f"request of {length} bytes is larger than the limit of "
                                           f"{limit} bytes (serve-video --max-upload-mb)"},
                                status_code=413)
        return await call_next(request)

    @app.middleware("http")   # added last, so it runs first: nothing is read before the token is checked
    async def require_token(request: Request, call_next: Any) -> Any:
        if service.config.token and not token_ok(request.headers.get("authorization", ""), service.config.token):
            return JSONResponse({"detail": "missing or wrong bearer token (Authorization: Bearer <token>)"},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return await call_next(request)

    @app.post("/jobs", status_code=201)
    def submit(prompt: Annotated[str | None, Form()] = None,
               duration: Annotated[str | None, Form()] = None,
               seed: Annotated[str | None, Form()] = None,
               image: Annotated[UploadFile | None, File()] = None) -> JSONResponse:
        upload = image.file if image is not None and (image.filename or image.size) else None
        job = service.submit(prompt, duration, seed, upload)
        return JSONResponse(service.view(job), status_code=201,
                            headers={"Location": f"/jobs/{job.id}"})

    @app.get("/jobs")
    def list_jobs(status: str | None = None, limit: int = 100) -> dict[str, Any]:
        assert service.store is not None
        if status is not None and status not in STATUSES:
            raise BadRequest(422, f"unknown status {status!r}; one of: {', '.join(STATUSES)}")
        return {"jobs": [service.view(j) for j in service.store.list(status, max(1, min(limit, 1000)))]}

    @app.get("/jobs/{job_id}")
    def get_job(job_id: str) -> dict[str, Any]:
        return service.view(service.get(job_id))

    @app.get("/jobs/{job_id}/video")
    def get_video(job_id: str) -> FileResponse:
        return FileResponse(service.video(job_id), media_type="video/mp4", filename=f"{job_id}.mp4")

    @app.delete("/jobs/{job_id}")
    def cancel(job_id: str) -> dict[str, Any]:
        return service.view(service.cancel(job_id))

    @app.get("/health")
    def health() -> dict[str, Any]:
        return service.health()

    return app


def token_ok(header: str, token: str) -> bool:
    """`Bearer <token>`, compared in constant time."""
    scheme, _, given = header.strip().partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
