"""``WS /v1/listen``: live transcription of PCM streamed over a WebSocket.

Binary frames carry PCM (``pcm_s16le`` or ``pcm_f32le`` at the declared
``sample_rate``); the text frame ``{"type": "end"}`` ends the stream. The server answers
with JSON text frames ``partial`` / ``final`` / ``end`` / ``error``.

Two tasks run per stream: a reader that buffers incoming audio, and a processor that
hands everything buffered so far to the session in a worker thread (decoding never runs
on the event loop). While a chunk is being decoded the next ones accumulate, so a slow
decoder catches up with bigger chunks instead of falling further behind.

Every failure ends with an ``error`` event and a close whose code says why (1003 bad
input or options, 1008 key or timeout, 1009 too much audio, 1011 server fault, 1013
too many streams) and whose reason repeats the message, cut to fit a close frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from aural.errors import AuralError
from aural.serving.errors import ApiError, type_for
from aural.serving.schemas import StreamParams, parse_params
from aural.serving.state import ServerState, check_api_key, get_state

__all__ = ["router"]

logger = logging.getLogger(__name__)

router = APIRouter()

_BYTES_PER_SAMPLE = {"pcm_s16le": 2, "pcm_f32le": 4}
# Audio (seconds) buffered ahead of a slow decoder before the server stops reading the
# socket; TCP flow control then slows the client down instead of the server's memory
# growing.
_MAX_PENDING_S = 30.0
# WebSocket close codes (RFC 6455 section 7.4.1)
_CLOSE_NORMAL = 1000
_CLOSE_UNSUPPORTED = 1003
_CLOSE_POLICY = 1008
_CLOSE_TOO_BIG = 1009
_CLOSE_ERROR = 1011
_CLOSE_TRY_LATER = 1013
_MAX_REASON_BYTES = 123  # a close frame's reason must fit in 125 bytes with the code


class StreamError(Exception):
    """A stream ends with an error frame and a close code."""

    def __init__(
        self, message: str, close_code: int, type: str = "bad_request"
    ) -> None:
        super().__init__(message)
        self.message = message
        self.close_code = close_code
        self.type = type


def _query(ws: WebSocket) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in ws.query_params.multi_items():
        out.setdefault(key, []).append(value)
    return out


class _StreamPump:
    """Moves audio from the socket into a session and events back to the socket."""

    def __init__(
        self, ws: WebSocket, state: ServerState, session: Any, params: StreamParams
    ):
        self.ws = ws
        self.state = state
        self.session = session
        self.sample_bytes = _BYTES_PER_SAMPLE[params.encoding]
        self.bytes_per_second = params.sample_rate * self.sample_bytes
        self.max_bytes = int(state.config.max_duration_s * self.bytes_per_second)
        self.max_pending = int(_MAX_PENDING_S * self.bytes_per_second)
        self.pending = bytearray()
        self.received = 0
        self.ended = False
        # time spent waiting for the client is bounded by the audio limit plus one idle
        # timeout, so a client that trickles a few bytes now and then cannot hold a slot
        # for ever (time the server spends behind, in backpressure, does not count)
        self.wait_limit_s = state.config.max_duration_s + state.config.request_timeout_s
        self.waited_s = 0.0
        self.wake = asyncio.Event()
        self.drained = asyncio.Event()

    async def read(self) -> None:
        while True:
            while len(self.pending) > self.max_pending:  # backpressure
                self.drained.clear()
                await self.drained.wait()
            message = await self._receive()
            if message["type"] == "websocket.disconnect":
                raise WebSocketDisconnect(message.get("code", _CLOSE_NORMAL))
            data = message.get("bytes")
            if data is not None:
                self._take_audio(data)
                continue
            self._take_control(message.get("text") or "")
            return

    async def _receive(self) -> Any:
        """The next message, within the idle timeout and the stream's total waiting
        limit."""
        idle = self.state.config.request_timeout_s
        left = self.wait_limit_s - self.waited_s
        clock = asyncio.get_running_loop().time
        began = clock()
        try:
            return await asyncio.wait_for(self.ws.receive(), max(0.0, min(idle, left)))
        except TimeoutError:
            if left > idle:
                message = f"no audio for {idle:g} s; closing the stream"
            else:
                message = (
                    "the stream kept the server waiting longer than its limit of "
                    f"{self.wait_limit_s:g} s ({self.state.config.max_duration_s:g} s "
                    f"of audio plus {idle:g} s); send audio at least as fast as real "
                    "time"
                )
            raise StreamError(message, _CLOSE_POLICY, "timeout") from None
        finally:
            self.waited_s += clock() - began

    def _take_audio(self, data: bytes) -> None:
        self.received += len(data)
        if self.received > self.max_bytes:
            raise StreamError(
                "the stream passed the server's limit of "
                f"{self.state.config.max_duration_s:g} s of audio",
                _CLOSE_TOO_BIG,
                "audio_too_long",
            )
        self.pending += data
        self.wake.set()

    def _take_control(self, text: str) -> None:
        try:
            control = json.loads(text)
        except json.JSONDecodeError:
            control = None
        if not isinstance(control, dict) or control.get("type") != "end":
            raise StreamError(
                f"unexpected text frame {text[:80]!r}; send audio as binary frames and "
                '{"type": "end"} to finish',
                _CLOSE_UNSUPPORTED,
            )
        unknown = sorted(set(control) - {"type"})
        if unknown:
            raise StreamError(
                f"unknown field(s) {', '.join(map(repr, unknown))[:80]} in the end "
                'frame; send exactly {"type": "end"}',
                _CLOSE_UNSUPPORTED,
            )
        self.ended = True
        self.wake.set()

    async def _send(self, events: list[Any]) -> bool:
        """Send events; True once the end event went out."""
        ended = False
        for event in events:
            body = event.to_dict()
            ended = ended or body.get("type") == "end"
            await self.ws.send_json(body)
        return ended

    async def process(self) -> None:
        pool = self.state.stream_pool
        while True:
            await self.wake.wait()
            self.wake.clear()
            usable = len(self.pending) - len(self.pending) % self.sample_bytes
            if usable:
                chunk = bytes(self.pending[:usable])
                del self.pending[:usable]
                self.drained.set()
                await self._send(
                    await pool.call(functools.partial(self.session.feed, chunk))
                )
                if len(self.pending) >= self.sample_bytes:
                    self.wake.set()  # more audio came during the decode: feed it first
                    continue
            if self.ended:
                sent_end = await self._send(await pool.call(self.session.finish))
                if not sent_end:
                    await self.ws.send_json({"type": "end"})
                return

    async def run(self) -> None:
        reader = asyncio.create_task(self.read())
        processor = asyncio.create_task(self.process())
        try:
            done, _ = await asyncio.wait(
                {reader, processor}, return_when=asyncio.FIRST_EXCEPTION
            )
            for task in done:
                error = task.exception()
                if error is not None:
                    raise error
            await processor  # the reader saw the end frame: let decoding finish
        finally:
            for task in (reader, processor):
                task.cancel()
            if not processor.done() or processor.cancelled() or processor.exception():
                self.session.close()
        self.state.metrics.audio_seconds.labels("/v1/listen").inc(
            self.received / self.bytes_per_second
        )


def _close_reason(message: str) -> str:
    """``message`` cut to fit a close frame (clients that only see the close read
    it)."""
    data = message.encode()
    if len(data) <= _MAX_REASON_BYTES:
        return message
    return data[: _MAX_REASON_BYTES - 3].decode(errors="ignore") + "..."


async def _fail(ws: WebSocket, type: str, message: str, code: int) -> None:
    if ws.client_state == WebSocketState.CONNECTED:
        try:
            await ws.send_json({"type": "error", "error": type, "message": message})
            await ws.close(code, _close_reason(message))
        except (
            RuntimeError,
            OSError,
            WebSocketDisconnect,
        ):  # the client went away meanwhile
            pass


async def _open_session(ws: WebSocket, state: ServerState) -> tuple[Any, StreamParams]:
    query = _query(ws)
    params: StreamParams = parse_params(StreamParams, query)
    check_api_key(state, ws.headers.get("authorization"), params.api_key)
    engine = state.cache.get(params.engine, params.model)
    options = params.decode_options(state.config.beam_size)
    streaming = params.streaming_options()
    session = await state.stream_pool.call(
        lambda: engine.primary.stream(
            options,
            sample_rate=params.sample_rate,
            encoding=params.encoding,
            streaming=streaming,
        )
    )
    return session, params


@router.websocket("/v1/listen")
async def listen(ws: WebSocket) -> None:
    """Stream PCM in binary frames; receive partial/final/end JSON frames."""
    state = get_state(ws)
    await ws.accept()
    if not state.open_stream():
        state.metrics.streams.labels("refused").inc()
        await _fail(
            ws,
            "overloaded",
            f"the server already serves {state.config.max_streams} streams; retry "
            "later",
            _CLOSE_TRY_LATER,
        )
        return
    outcome = "error"
    try:
        session, params = await _open_session(ws, state)
        await _StreamPump(ws, state, session, params).run()
        outcome = "completed"
        with contextlib.suppress(RuntimeError, OSError):  # the client may close first
            await ws.close(_CLOSE_NORMAL)
    except WebSocketDisconnect as err:
        # 1009: uvicorn refused a frame over its size limit (an error, not a client
        # leaving)
        outcome = "error" if err.code == _CLOSE_TOO_BIG else "disconnected"
    except OSError:  # uvicorn's ClientDisconnected on send
        outcome = "disconnected"
    except ApiError as err:
        code = _CLOSE_POLICY if err.status == 401 else _CLOSE_UNSUPPORTED
        await _fail(ws, err.type, err.message, code)
    except StreamError as err:
        await _fail(ws, err.type, err.message, err.close_code)
    except AuralError as err:
        await _fail(ws, type_for(err), str(err), _CLOSE_UNSUPPORTED)
    except Exception as err:
        logger.error("stream failed", exc_info=err)
        await _fail(
            ws, "internal_error", "the stream failed; see the server log", _CLOSE_ERROR
        )
    finally:
        state.close_stream()
        state.metrics.streams.labels(outcome).inc()
