"""The job API: ``POST /v1/jobs``, ``GET /v1/jobs/{id}``, ``GET /v1/jobs``,
``DELETE /v1/jobs/{id}`` (plus ``/result`` and ``/attempts``).

A job is accepted (202) only once its audio is on disk in the spool folder (written,
fsynced, renamed) and its row committed, so a crash after the reply loses nothing.
Uploads are checked as far as can be before the 202 (options, engine, audio header and
duration), so a bad request is a 4xx now, not a failed job later.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from aural import audio, writers
from aural.errors import AudioDecodeError, ConfigError
from aural.serving.errors import ApiError, status_for, type_for
from aural.serving.jobrunner import JobParams, JobService, job_json
from aural.serving.jobstore import (
    JOB_STATUSES,
    JobRecord,
    JobStatus,
    NewJob,
    new_job_id,
)
from aural.serving.schemas import parse_params
from aural.serving.state import ServerState, State, require_api_key
from aural.serving.uploads import Upload, read_json_body, receive_upload_in_time
from aural.types import Transcript

__all__ = ["get_jobs", "router"]

router = APIRouter(dependencies=[Depends(require_api_key)])

_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces
_ID_PATTERN = re.compile(r"^job_[0-9a-f]{26}$")
_MEDIA = {"srt": "application/x-subrip", "vtt": "text/vtt", "txt": "text/plain"}


def get_jobs(request: Request) -> JobService:
    """The app's :class:`JobService` (a FastAPI dependency)."""
    service: JobService = request.app.state.aural_jobs
    if service.store is None:
        raise ApiError.retry_later(
            503, "not_ready", "the job store is not open yet; retry shortly", 1
        )
    return service


Jobs = Annotated[JobService, Depends(get_jobs)]
"""A handler parameter typed ``Jobs`` receives the app's :class:`JobService`."""


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not _KEY_PATTERN.match(key):
        raise ApiError(
            400,
            "bad_request",
            "Idempotency-Key must be 1 to 255 printable ASCII characters without "
            "spaces (a UUID is a good choice)",
        )
    return key


def _check_url(value: str | None, field: str) -> None:
    if value is None:
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiError(
            422,
            "invalid_options",
            f"{field}: {value!r} is not an http:// or https:// URL",
        )


def _validate(
    state: ServerState, service: JobService, params: JobParams, has_file: bool
) -> None:
    """Everything that can be checked before the job is stored (422s)."""
    if has_file == (params.url is not None):
        raise ApiError(
            400,
            "no_audio" if not has_file else "bad_request",
            "send the audio as multipart field 'file' (or the request body), or give "
            "'url' in a JSON body, not both"
            if has_file
            else "the request carried no audio: send multipart field 'file', the "
            "audio as the request body, or a JSON body with 'url'",
        )
    _check_url(params.url, "url")
    _check_url(params.webhook_url, "webhook_url")
    if params.webhook_url is not None and service.config.webhook_secret is None:
        raise ApiError(
            422,
            "invalid_options",
            "webhook_url: this server signs webhooks with its webhook_secret, and "
            "none is set; start it with `aural serve --webhook-secret S` (or set "
            "AURAL_SERVE_WEBHOOK_SECRET)",
        )
    engine = state.cache.get(params.engine, params.model)
    options = params.decode_options(state.config.beam_size)
    engine.primary.check_options(options)
    params.diarization_options()


def _probe(state: ServerState, path: Path, params: JobParams, name: str) -> None:
    """415/400 for audio that cannot be read, 413 for audio over the limit."""
    limit = state.config.max_duration_s
    try:
        info = audio.probe(path, name=name, **params.raw_audio().load_args())
    except (AudioDecodeError, ConfigError) as err:
        raise ApiError(status_for(err), type_for(err), str(err)) from err
    if info.duration > limit:
        raise ApiError(
            413,
            "audio_too_long",
            f"the audio lasts {info.duration:.1f} s, longer than the server's limit "
            f"of {limit:g} s; split it into shorter files",
        )


def _spool(upload: Upload, spool_dir: Path, job_id: str) -> Path:
    """Move the upload into the spool under the job's id, durably (fsync file and
    folder before the row that names it is committed)."""
    assert upload.path is not None
    target = spool_dir / f"{job_id}{upload.path.suffix}"
    fd = os.open(upload.path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(upload.path, target)
    upload.path = None  # the spool owns it now
    dir_fd = os.open(spool_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return target


def _request_hash(params: dict[str, Any], audio_path: Path | None) -> str:
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    if audio_path is not None:
        with open(audio_path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def _replayed(job: JobRecord, request_hash: str) -> Response:
    if job.request_hash != request_hash:
        raise ApiError(
            409,
            "idempotency_key_reused",
            f"this Idempotency-Key was used for another request (job {job.id}); use a "
            "new key for a new request",
        )
    return JSONResponse(
        job_json(job),
        status_code=200,
        headers={"Location": f"/v1/jobs/{job.id}", "Idempotent-Replayed": "true"},
    )


async def _receive(
    request: Request, state: ServerState, service: JobService
) -> tuple[Upload | None, dict[str, list[str]]]:
    """The upload (multipart or raw body) or, for a JSON body, the fields it holds."""
    cfg = state.config
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media == "application/json":
        body = await read_json_body(request, 65_536, cfg.upload_idle_timeout_s)
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ApiError(
                400, "bad_request", f"the body is not valid JSON: {err}"
            ) from err
        if not isinstance(data, dict):
            raise ApiError(400, "bad_request", "the body must be a JSON object")
        fields = {
            k: [v if isinstance(v, str) else json.dumps(v)] for k, v in data.items()
        }
        return None, fields
    with state.uploads.claim():
        upload = await receive_upload_in_time(
            request,
            cfg.max_upload_bytes,
            service.spool_dir / "incoming",
            cfg.upload_idle_timeout_s,
            cfg.request_timeout_s,
        )
    return upload, upload.fields


def _query(request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        out.setdefault(key, []).append(value)
    return out


@router.post(
    "/v1/jobs",
    status_code=202,
    summary="Submit a transcription job (an upload or a URL)",
)
async def create_job(request: Request, state: State, service: Jobs) -> Response:
    """Multipart ``file`` (or the raw body) with options as form fields or query
    parameters, or a JSON body ``{"url": ..., options}``; ``webhook_url`` and an
    ``Idempotency-Key`` header are optional. Answers 202 with the queued job."""
    assert service.store is not None
    store = service.store
    key = _idempotency_key(request)
    upload, fields = await _receive(request, state, service)
    try:
        params: JobParams = parse_params(JobParams, _query(request), fields)
        _validate(state, service, params, upload is not None)
        stored = params.model_dump(exclude_none=True, exclude_defaults=True)
        audio_path = upload.path if upload is not None else None
        request_hash = await asyncio.to_thread(_request_hash, stored, audio_path)
        if key is not None:
            existing = await asyncio.to_thread(store.get_by_key, key)
            if existing is not None:
                return _replayed(existing, request_hash)
        if upload is not None:
            assert upload.path is not None
            name = upload.filename or "the uploaded audio"
            await asyncio.to_thread(_probe, state, upload.path, params, name)
        job_id = new_job_id()
        spooled = None
        if upload is not None:
            spooled = await asyncio.to_thread(_spool, upload, service.spool_dir, job_id)
        new = NewJob(
            params=stored,
            filename=upload.filename if upload is not None else None,
            source_url=params.url,
            audio_path=str(spooled) if spooled is not None else None,
            webhook_url=params.webhook_url,
            idempotency_key=key,
            request_hash=request_hash,
            job_id=job_id,
        )
        job, created = await asyncio.to_thread(store.create, new)
        if not created:  # the same key raced in from another request
            if spooled is not None:
                spooled.unlink(missing_ok=True)
            return _replayed(job, request_hash)
    finally:
        if upload is not None:
            upload.cleanup()
    service.wake()
    return JSONResponse(
        job_json(job), status_code=202, headers={"Location": f"/v1/jobs/{job.id}"}
    )


async def _job(service: JobService, job_id: str) -> JobRecord:
    assert service.store is not None
    job = (
        await asyncio.to_thread(service.store.get, job_id)
        if _ID_PATTERN.match(job_id)
        else None
    )
    if job is None:
        raise ApiError(
            404,
            "not_found",
            f"no job {job_id!r} (unknown, or its result expired and was deleted)",
        )
    return job


@router.get("/v1/jobs/{job_id}", summary="A job: status, progress, result or error")
async def get_job(job_id: str, service: Jobs) -> Response:
    return JSONResponse(job_json(await _job(service, job_id)))


@router.get(
    "/v1/jobs/{job_id}/result", summary="A finished job's transcript in a format"
)
async def get_result(
    job_id: str,
    service: Jobs,
    response_format: Literal["json", "txt", "text", "srt", "vtt"] | None = None,
) -> Response:
    """The transcript as JSON or txt/srt/vtt (default: the job's
    ``response_format``); 409 while the job has not succeeded."""
    job = await _job(service, job_id)
    if job.status != "succeeded" or job.result is None:
        raise ApiError(
            409,
            "job_not_succeeded",
            f"job {job.id} is {job.status}; its result exists once it has succeeded",
        )
    fmt = response_format or job.params.get("response_format", "json")
    if fmt == "json":
        return JSONResponse(job.result)
    fmt = "txt" if fmt == "text" else fmt
    text = writers.render(Transcript.from_dict(job.result), fmt)
    return PlainTextResponse(text, media_type=_MEDIA[fmt])


@router.get(
    "/v1/jobs/{job_id}/attempts",
    summary="A job's run attempts and webhook deliveries",
)
async def get_attempts(job_id: str, service: Jobs) -> dict[str, Any]:
    job = await _job(service, job_id)
    assert service.store is not None
    runs = await asyncio.to_thread(service.store.attempts_of, job.id)
    hooks = await asyncio.to_thread(service.store.webhook_attempts_of, job.id)
    return {
        "id": job.id,
        "runs": [
            {
                "attempt": r.attempt,
                "worker": r.worker,
                "started_at": r.started_at,
                "ended_at": r.ended_at,
                "outcome": r.outcome,
            }
            for r in runs
        ],
        "webhooks": [
            {
                "attempt": w.attempt,
                "event": w.event,
                "sent_at": w.sent_at,
                "status_code": w.status_code,
                "error": w.error,
                "duration_s": w.duration_s,
            }
            for w in hooks
        ],
    }


def _statuses(value: str | None) -> tuple[JobStatus, ...]:
    if not value:
        return ()
    out: list[JobStatus] = []
    for part in value.split(","):
        name = part.strip()
        if name not in JOB_STATUSES:
            raise ApiError(
                422,
                "invalid_options",
                f"status: {name!r} is not one of {', '.join(JOB_STATUSES)}",
            )
        out.append(name)
    return tuple(out)


@router.get("/v1/jobs", summary="Jobs, newest first (filter by status)")
async def list_jobs(
    service: Jobs,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: str | None = None,
) -> dict[str, Any]:
    """``status`` (one or several, comma-separated), ``limit``, and ``before`` (the
    last id of the previous page). Results are left out: fetch a job for its
    result."""
    assert service.store is not None
    cursor = None
    if before is not None:
        anchor = await _job(service, before)
        cursor = (anchor.created_at, anchor.id)
    jobs = await asyncio.to_thread(
        service.store.list_jobs, _statuses(status), limit + 1, cursor
    )
    page = jobs[:limit]
    return {
        "object": "list",
        "data": [job_json(j, with_result=False) for j in page],
        "has_more": len(jobs) > limit,
        "next_before": page[-1].id if len(jobs) > limit else None,
    }


@router.delete("/v1/jobs/{job_id}", summary="Cancel a queued or running job")
async def cancel_job(job_id: str, service: Jobs) -> Response:
    """200 with the cancelled job; 409 when it had already finished."""
    job = await _job(service, job_id)
    assert service.store is not None
    if job.is_terminal:
        raise ApiError(
            409,
            "job_finished",
            f"job {job.id} has already {job.status}; only queued or running jobs can "
            "be cancelled",
        )
    after = await asyncio.to_thread(
        service.store.cancel, job.id, service.config.job_retention_s
    )
    assert after is not None
    if after.status != "cancelled":
        raise ApiError(
            409,
            "job_finished",
            f"job {job.id} {after.status} before it could be cancelled",
        )
    if after.audio_path is not None:  # a running job has its audio loaded by now
        Path(after.audio_path).unlink(missing_ok=True)
        await asyncio.to_thread(service.store.forget_audio, after.id)
    if service.dispatcher is not None:
        service.dispatcher.wake()
    return JSONResponse(job_json(after))
