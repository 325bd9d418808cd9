"""Request bodies streamed to temporary files under a size limit.

A body is never held whole in memory: chunks go to a temporary file as they arrive and
the limit is checked on every chunk (and up front against ``Content-Length``), so an
oversized upload is refused with 413 after at most ``limit`` bytes. A body that stops
arriving for ``idle_timeout_s`` is refused with 408, and :class:`UploadLimiter` bounds
how many bodies are received at once (429 beyond). :class:`Upload` is a context manager
that always deletes its file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from aural.serving.errors import ApiError

__all__ = ["Upload", "UploadLimiter", "read_json_body", "receive_upload"]

_MAX_FIELD_BYTES = 64 * 1024  # a form field (not the file) larger than this is refused
_FILE_FIELDS = ("file",)
_TMP_PREFIX = "aural-upload-"


@dataclass(slots=True)
class Upload:
    """An uploaded audio file on disk plus the other form fields of its request.

    Attributes:
        path: the temporary file holding the audio bytes (None when no file came).
        filename: the client's file name, if it sent one.
        content_type: the part's (or body's) content type.
        size: bytes received.
        fields: the other form fields, name -> values in order.
    """

    path: Path | None = None
    filename: str | None = None
    content_type: str | None = None
    size: int = 0
    fields: dict[str, list[str]] = field(default_factory=dict)

    def cleanup(self) -> None:
        """Delete the temporary file (safe to call twice)."""
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            self.path = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()


class UploadLimiter:
    """Counts request bodies being received; refuses one beyond ``max_uploads`` with
    429.

    Args:
        max_uploads: bodies allowed to arrive at the same time.
        retry_after_s: the Retry-After hint sent when full.
    """

    def __init__(self, max_uploads: int, retry_after_s: int) -> None:
        self.max_uploads = max_uploads
        self.retry_after_s = retry_after_s
        self._lock = threading.Lock()
        self._active = 0

    @contextlib.contextmanager
    def claim(self) -> Iterator[None]:
        """Hold one of the ``max_uploads`` places while a body arrives.

        Raises:
            ApiError: 429 ``overloaded`` with a Retry-After header when all are taken.
        """
        with self._lock:
            if self._active >= self.max_uploads:
                raise ApiError.retry_later(
                    429,
                    "overloaded",
                    f"the server is receiving {self._active} uploads already (limit "
                    f"{self.max_uploads}); retry after {self.retry_after_s} s",
                    self.retry_after_s,
                )
            self._active += 1
        try:
            yield
        finally:
            with self._lock:
                self._active -= 1


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "too_large",
        f"the upload is larger than the server's limit of {limit / (1024 * 1024):g} "
        "MiB; send a shorter or more compressed file",
    )


def _check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


def _stalled(idle_timeout_s: float, received: int) -> ApiError:
    return ApiError(
        408,
        "timeout",
        f"the upload stalled: no data for {idle_timeout_s:g} s after {received} bytes "
        "of the body; send the body without pauses",
    )


async def _limited_chunks(
    request: Request, limit: int, idle_timeout_s: float
) -> AsyncIterator[bytes]:
    _check_declared_length(request, limit)
    received = 0
    stream = request.stream()
    try:
        while True:
            try:
                chunk = await asyncio.wait_for(stream.__anext__(), idle_timeout_s)
            except StopAsyncIteration:
                break
            except TimeoutError:
                raise _stalled(idle_timeout_s, received) from None
            received += len(chunk)
            if received > limit:
                raise _too_large(limit)
            if chunk:
                yield chunk
    except ClientDisconnect:
        raise ApiError(
            400,
            "client_disconnected",
            f"the client went away after {received} bytes of the body",
        ) from None


def _safe_suffix(filename: str | None) -> str:
    """The client's file extension when it is plain (decoders use it as a hint)."""
    suffix = Path(filename or "").suffix
    if 1 < len(suffix) <= 6 and suffix[1:].isalnum() and suffix[1:].isascii():
        return suffix.lower()
    return ""


def _new_temp(tmp_dir: Path | None, filename: str | None = None) -> tuple[Path, int]:
    fd, name = tempfile.mkstemp(
        prefix=_TMP_PREFIX, suffix=_safe_suffix(filename), dir=tmp_dir
    )
    return Path(name), fd


async def _receive_raw(
    request: Request,
    upload: Upload,
    limit: int,
    idle_timeout_s: float,
    tmp_dir: Path | None,
) -> None:
    path, fd = _new_temp(tmp_dir)
    upload.path = path
    upload.content_type = request.headers.get("content-type")
    with os.fdopen(fd, "wb") as out:
        async for chunk in _limited_chunks(request, limit, idle_timeout_s):
            out.write(chunk)
            upload.size += len(chunk)


class _MultipartSink:
    """Callbacks for python-multipart: the ``file`` part to disk, other fields to
    memory."""

    def __init__(self, upload: Upload, tmp_dir: Path | None) -> None:
        self.upload = upload
        self.tmp_dir = tmp_dir
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, str] = {}
        self._name: str | None = None
        self._value = bytearray()
        self._out: object | None = None  # the open file of the current file part
        self.error: ApiError | None = None

    def on_part_begin(self) -> None:
        self._headers = {}
        self._name = None
        self._value = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        key = self._header_field.decode("latin-1").strip().lower()
        self._headers[key] = self._header_value.decode("latin-1").strip()
        self._header_field = bytearray()
        self._header_value = bytearray()

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get("content-disposition", ""))
        name = params.get(b"name", b"").decode("utf-8", "replace")
        self._name = name
        filename = params.get(b"filename")
        if filename is not None and name not in _FILE_FIELDS:
            self.error = ApiError(
                400,
                "bad_request",
                f"form field {name!r} carries a file ({_shown(filename)!r}); send the "
                "audio in the field 'file'",
            )
            return
        if name in _FILE_FIELDS:
            if self.upload.path is not None:
                self.error = ApiError(
                    400,
                    "bad_request",
                    "send exactly one audio file per request (field 'file')",
                )
                return
            self.upload.filename = (
                filename.decode("utf-8", "replace") if filename else None
            )
            path, fd = _new_temp(self.tmp_dir, self.upload.filename)
            self.upload.path = path
            self.upload.content_type = self._headers.get("content-type")
            self._out = os.fdopen(fd, "wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.error is not None:
            return  # the request is refused already: keep the first reason
        if self._out is not None:
            self._out.write(data[start:end])  # type: ignore[attr-defined]
            self.upload.size += end - start
        else:
            self._value += data[start:end]
            if len(self._value) > _MAX_FIELD_BYTES:
                self.error = ApiError(
                    413, "too_large", f"form field {self._name!r} is larger than 64 KiB"
                )

    def on_part_end(self) -> None:
        if self._out is not None:
            self._out.close()  # type: ignore[attr-defined]
            self._out = None
        elif self._name:
            self.upload.fields.setdefault(self._name, []).append(
                self._value.decode("utf-8", "replace")
            )

    def close(self) -> None:
        if self._out is not None:
            self._out.close()  # type: ignore[attr-defined]
            self._out = None


def _shown(filename: bytes) -> str:
    text = filename.decode("utf-8", "replace")
    return text if len(text) <= 80 else text[:77] + "..."


async def _receive_multipart(
    request: Request,
    upload: Upload,
    boundary: bytes,
    limit: int,
    idle_timeout_s: float,
    tmp_dir: Path | None,
) -> None:
    sink = _MultipartSink(upload, tmp_dir)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": sink.on_part_begin,
            "on_part_data": sink.on_part_data,
            "on_part_end": sink.on_part_end,
            "on_header_field": sink.on_header_field,
            "on_header_value": sink.on_header_value,
            "on_header_end": sink.on_header_end,
            "on_headers_finished": sink.on_headers_finished,
        },
    )
    try:
        async for chunk in _limited_chunks(request, limit, idle_timeout_s):
            parser.write(chunk)
            if sink.error is not None:
                raise sink.error
        parser.finalize()
    except ValueError as err:  # python-multipart's MultipartParseError derives from it
        raise ApiError(400, "bad_request", f"malformed multipart body: {err}") from err
    finally:
        sink.close()


async def receive_upload(
    request: Request, limit: int, tmp_dir: Path | None, idle_timeout_s: float = 30.0
) -> Upload:
    """Stream the request's audio (multipart ``file`` or the raw body) to a temp file.

    Args:
        request: the incoming request.
        limit: the most body bytes accepted.
        tmp_dir: where to put the temporary file (None = system default).
        idle_timeout_s: the longest wait for the next piece of the body.

    Returns:
        The upload; use it as a context manager so its file is always deleted.

    Raises:
        ApiError: 413 when the body passes ``limit``; 408 when it stalls for
            ``idle_timeout_s``; 400 when the multipart body is malformed, holds no file
            or a file in another field than ``file``, or the body is empty.
    """
    upload = Upload()
    content_type = request.headers.get("content-type", "")
    media, params = parse_options_header(content_type)
    try:
        if media == b"multipart/form-data":
            boundary = params.get(b"boundary")
            if not boundary:
                raise ApiError(400, "bad_request", "multipart body without a boundary")
            await _receive_multipart(
                request, upload, boundary, limit, idle_timeout_s, tmp_dir
            )
        elif media == b"application/x-www-form-urlencoded":
            raise ApiError(
                400,
                "bad_request",
                "send audio as multipart/form-data (field 'file') or as a raw body",
            )
        else:
            await _receive_raw(request, upload, limit, idle_timeout_s, tmp_dir)
        if upload.path is None or upload.size == 0:
            raise ApiError(
                400,
                "no_audio",
                "the request carried no audio: send multipart field 'file' or "
                "the audio bytes as the request body",
            )
    except BaseException:
        upload.cleanup()
        raise
    return upload


async def receive_upload_in_time(
    request: Request,
    limit: int,
    tmp_dir: Path | None,
    idle_timeout_s: float,
    deadline_s: float,
) -> Upload:
    """:func:`receive_upload`, whole within ``deadline_s``.

    Raises:
        ApiError: 408 past ``deadline_s``; else as :func:`receive_upload`.
    """
    try:
        return await asyncio.wait_for(
            receive_upload(request, limit, tmp_dir, idle_timeout_s), deadline_s
        )
    except TimeoutError:
        raise ApiError(
            408, "timeout", f"the upload did not arrive within {deadline_s:g} s"
        ) from None


async def read_json_body(
    request: Request, limit: int, idle_timeout_s: float = 30.0
) -> bytes:
    """The request body for JSON endpoints: 413 once it passes ``limit``, 408 when it
    stalls for ``idle_timeout_s``."""
    parts = bytearray()
    async for chunk in _limited_chunks(request, limit, idle_timeout_s):
        parts += chunk
    return bytes(parts)
