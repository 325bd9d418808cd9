"""Real servers for the serving tests: uvicorn on 127.0.0.1, a free port, a real model.

One Whisper tiny.en engine is loaded for the whole session and shared by every server
(``create_app(..., model_cache=...)``), so a test that needs other limits (a tiny queue)
starts its own server in about a second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from aural import audio
from aural.serving import ModelCache, ServeConfig, create_app
from aural.serving.app import load_engines
from aural.serving.runner import free_port, serve_in_thread

API_KEY = "test-key-123"
AUTH = {"Authorization": f"Bearer {API_KEY}"}


@dataclass(frozen=True)
class LiveServer:
    """A running server: its base URL, config and upload temp dir."""

    url: str
    config: ServeConfig
    tmp_dir: Path

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)


def assert_transcript_invariants(body: dict[str, object]) -> None:
    """Times monotonic, words inside their segment, last end within the duration."""
    segments = body["segments"]
    assert isinstance(segments, list)
    duration = body["info"]["duration"]  # type: ignore[index]
    previous = 0.0
    for seg in segments:
        assert seg["start"] <= seg["end"]
        assert seg["start"] >= previous - 1e-6
        previous = seg["start"]
        for word in seg["words"]:
            assert (
                seg["start"] - 1e-3 <= word["start"] <= word["end"] <= seg["end"] + 1e-3
            )
    if segments:
        assert segments[-1]["end"] <= duration + 1e-3


def make_config(tmp_dir: Path, **changes: object) -> ServeConfig:
    values: dict[str, object] = {
        "host": "127.0.0.1",
        "port": free_port(),
        "engine": "whisper",
        "beam_size": 1,
        "workers": 2,
        "queue": 4,
        "max_upload_mb": 2.0,
        "max_duration_s": 40.0,
        "api_key": API_KEY,
        "cors_origins": ("http://allowed.example",),
        "tmp_dir": tmp_dir,
        "request_timeout_s": 120.0,
    }
    values.update(changes)
    return ServeConfig(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def model_cache() -> Iterator[ModelCache]:
    cache = ModelCache()
    load_engines(ServeConfig(engine="whisper", workers=2), cache)
    yield cache
    cache.clear()


@pytest.fixture(scope="session")
def server(
    model_cache: ModelCache, tmp_path_factory: pytest.TempPathFactory, shared_data: Path
) -> Iterator[LiveServer]:
    """The main server: whisper tiny.en (beam 1), API key, 2 MiB / 40 s limits."""
    tmp_dir = tmp_path_factory.mktemp("uploads")
    config = make_config(tmp_dir)
    with serve_in_thread(
        create_app(config, model_cache=model_cache), port=config.port
    ) as url:
        yield LiveServer(url, config, tmp_dir)


@pytest.fixture()
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=120) as c:
        yield c


@pytest.fixture(scope="session")
def ldc_pcm16(ldc_wav: Path) -> bytes:
    """LDC93S1 as 16 kHz mono PCM16 bytes (for WebSocket streaming)."""
    w = audio.load(ldc_wav)
    return (np.clip(w.samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


@pytest.fixture(scope="session")
def jfk_pcm16(jfk_flac: Path) -> bytes:
    w = audio.load(jfk_flac)
    return (np.clip(w.samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()


@pytest.fixture(scope="session")
def auth() -> dict[str, str]:
    """Headers carrying the test servers' API key."""
    return dict(AUTH)


@pytest.fixture(scope="session")
def server_config() -> Callable[..., ServeConfig]:
    """``server_config(tmp_dir, **changes)``: the test servers' settings with
    changes."""
    return make_config


@pytest.fixture(scope="session")
def check_transcript() -> Callable[[dict[str, object]], None]:
    """Asserts the invariants every transcript JSON must hold."""
    return assert_transcript_invariants
