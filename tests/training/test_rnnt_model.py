"""A chunk-causal Conformer-transducer trained on real spoken digits (FSDD): it
memorises them, transcribes through `aural transcribe --engine aural`, exports to ONNX
(+ int8), and streams natively (stream == offline, endpoints, WS /v1/listen)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from aural.audio import load
from aural.audio.waveform import Waveform
from aural.cli import app
from aural.decoding.options import DecodeOptions
from aural.engines import create_engine
from aural.models.checkpoint import load_model
from aural.streaming.options import StreamingOptions
from aural.training.checkpoint import find_latest
from aural.training.config import parse_config
from aural.training.trainer import Trainer
from aural.types import Final, Partial

from .conftest import tiny_recipe

pytestmark = pytest.mark.slow

TWO_SPEAKERS = "[0-9]_(george|jackson)_0"
WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def _recipe(shared_data: Path, output_dir: Path, steps: int) -> Any:
    fsdd = str(shared_data / "fsdd" / "recordings")
    source = {"path": fsdd, "kind": "fsdd", "id_pattern": TWO_SPEAKERS}
    return parse_config(
        {
            "name": "rnnt_digits",
            "output_dir": str(output_dir),
            "seed": 0,
            "data": {"train": [source], "dev": [source], "min_duration": 0.1},
            "features": {"kind": "fbank", "num_mels": 40, "cmvn": "global"},
            "tokenizer": {"kind": "char"},
            "model": {
                "type": "transducer",
                "size": "tiny",
                "d_model": 64,
                "num_layers": 2,
                "subsampling_channels": 16,
                "dropout": 0.0,
                "chunk_size": 4,
                "joiner_dim": 64,
                "predictor_dim": 64,
            },
            "optim": {"lr": 0.005, "warmup_steps": 15, "weight_decay": 0.0},
            "training": {
                "max_steps": steps,
                "batch_seconds": 60,
                "max_batch_size": 10,
                "eval_every": steps,
                "checkpoint_every": steps,
                "num_threads": 1,
            },
            "tracking": {"mlflow": False},
        },
        "<rnnt test recipe>",
    )


@pytest.fixture(scope="module")
def run_dir(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("rnnt") / "run"
    result = Trainer(_recipe(shared_data, out, 200)).run()
    assert result.last_eval is not None and result.last_eval.num_utterances == 20
    assert result.best_dev_wer is not None and result.best_dev_wer <= 0.05
    return out


@pytest.fixture(scope="module")
def digits(shared_data: Path) -> dict[str, np.ndarray]:
    folder = shared_data / "fsdd" / "recordings"
    return {
        f"{d}_{who}": load(folder / f"{d}_{who}_0.wav", sample_rate=16000).samples
        for d in range(10)
        for who in ("george", "jackson")
    }


def test_memorises_digits_and_transcribes_with_the_cli(
    run_dir: Path, shared_data: Path
) -> None:
    records = [
        json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()
    ]
    losses = [r["loss"] for r in records if "loss" in r]
    assert losses[-1] < 0.1 * losses[0]
    assert load_model(run_dir).info["dev_wer"] <= 0.05
    wav = shared_data / "fsdd" / "recordings" / "7_jackson_0.wav"
    for beam in ("1", "4"):
        out = CliRunner().invoke(
            app,
            [
                "transcribe",
                str(wav),
                "--engine",
                "aural",
                "--model",
                str(run_dir),
                "--beam-size",
                beam,
            ],
        )
        assert out.exit_code == 0, out.output
        assert out.stdout.strip() == "seven"


def test_onnx_and_int8_exports_transcribe_like_torch(
    run_dir: Path, tmp_path: Path, digits: dict[str, np.ndarray]
) -> None:
    export = CliRunner().invoke(
        app, ["export", str(run_dir), "--output-dir", str(tmp_path / "onnx")]
    )
    assert export.exit_code == 0, export.output
    for name in ("model", "predictor", "joiner"):
        assert (tmp_path / "onnx" / f"{name}.onnx").is_file()
        assert (tmp_path / "onnx" / f"{name}.int8.onnx").is_file()
    torch_engine = create_engine("aural", model=str(run_dir))
    onnx_engine = create_engine("aural", model=str(tmp_path / "onnx"))
    int8_engine = create_engine(
        "aural", model=str(tmp_path / "onnx"), onnx_file="model.int8.onnx"
    )
    assert onnx_engine.runtime == "onnx" and onnx_engine.transducer
    options = DecodeOptions(beam_size=1, word_timestamps=True)
    agree_onnx = agree_int8 = 0
    for audio in digits.values():
        w = Waveform(audio, 16000)
        ref = [s.text for s in torch_engine.decode(w, options)]
        agree_onnx += [s.text for s in onnx_engine.decode(w, options)] == ref
        agree_int8 += [s.text for s in int8_engine.decode(w, options)] == ref
    assert agree_onnx == len(digits)
    assert agree_int8 >= 0.9 * len(digits)


def _stream(engine: Any, audio: np.ndarray, streaming: StreamingOptions) -> list[Any]:
    session = engine.stream(
        DecodeOptions(beam_size=1, word_timestamps=True),
        sample_rate=16000,
        encoding="pcm_f32le",
        streaming=streaming,
    )
    events = []
    for i in range(0, len(audio), 1600):  # 100 ms chunks
        events += session.feed(audio[i : i + 1600])
    return events + session.finish()


def test_native_stream_equals_offline_decoding(
    run_dir: Path, digits: dict[str, np.ndarray]
) -> None:
    engine = create_engine("aural", model=str(run_dir))
    assert engine.capabilities.streaming == "native"
    no_endpoint = StreamingOptions(endpoint_silence_s=10.0)
    rng = np.random.default_rng(0)
    pair = np.concatenate([digits["3_george"], digits["5_jackson"]])
    clips = [digits[k] for k in ("1_george", "8_jackson", "0_jackson")] + [pair]
    for audio in clips:
        audio = audio + rng.normal(0, 1e-3, audio.shape).astype(np.float32)
        offline = list(
            engine.decode(
                Waveform(audio, 16000), DecodeOptions(beam_size=1, word_timestamps=True)
            )
        )
        events = _stream(engine, audio, no_endpoint)
        finals = [e.segment for e in events if isinstance(e, Final)]
        assert [s.text for s in finals] == [s.text for s in offline]
        got = [(w.text, w.start, w.end) for s in finals for w in s.words]
        want = [(w.text, w.start, w.end) for s in offline for w in s.words]
        assert [g[0] for g in got] == [w[0] for w in want]
        np.testing.assert_allclose(
            [g[1:] for g in got], [w[1:] for w in want], atol=1e-3
        )
        for s, o in zip(finals, offline, strict=True):
            assert s.words[0].probability == pytest.approx(o.words[0].probability)
        # partials grow: each extends the one before (greedy search never retracts)
        partials = [e.text for e in events if isinstance(e, Partial) and e.text]
        for a, b in zip(partials, partials[1:], strict=False):
            assert b.startswith(a)


def test_stream_endpoints_split_utterances(
    run_dir: Path, digits: dict[str, np.ndarray]
) -> None:
    engine = create_engine("aural", model=str(run_dir))
    gap = np.zeros(int(0.6 * 16000), dtype=np.float32)
    audio = np.concatenate([digits["3_george"], gap, digits["5_jackson"]])
    events = _stream(engine, audio, StreamingOptions(endpoint_silence_s=0.3))
    finals = [e.segment for e in events if isinstance(e, Final)]
    assert len(finals) >= 2
    assert finals[0].text == "three" and finals[-1].text == "five"
    starts = [s.start for s in finals]
    assert starts == sorted(starts)
    assert finals[-1].start >= (len(digits["3_george"]) + len(gap)) / 16000 - 0.2
    assert finals[-1].end <= len(audio) / 16000 + 1e-3
    # the first final arrives before the second digit has been fed
    first_final = next(i for i, e in enumerate(events) if isinstance(e, Final))
    assert any(isinstance(e, Partial) and e.text for e in events[:first_final])


def test_websocket_listen_streams_a_transducer(
    run_dir: Path, digits: dict[str, np.ndarray], tmp_path: Path
) -> None:
    from websockets.asyncio.client import connect

    from aural.serving import ServeConfig, create_app
    from aural.serving.runner import free_port, serve_in_thread

    config = ServeConfig(
        host="127.0.0.1",
        port=free_port(),
        engine="aural",
        model=str(run_dir),
        beam_size=1,
        workers=1,
        tmp_dir=tmp_path,
    )
    pcm = (digits["6_george"] * 32767).astype("<i2").tobytes()

    async def listen(url: str) -> list[dict[str, Any]]:
        out = []
        async with connect(url, proxy=None) as ws:
            for i in range(0, len(pcm), 3200):
                await ws.send(pcm[i : i + 3200])
            await ws.send(json.dumps({"type": "end"}))
            async for message in ws:
                out.append(json.loads(message))
        return out

    with serve_in_thread(create_app(config), port=config.port) as url:
        ws_url = url.replace("http://", "ws://", 1) + "/v1/listen?sample_rate=16000"
        events = asyncio.run(listen(ws_url))
    kinds = [e["type"] for e in events]
    assert kinds[-1] == "end" and "error" not in kinds
    assert [e["text"] for e in events if e["type"] == "final"] == ["six"]


def test_transducer_resume_matches_uninterrupted_run(
    shared_data: Path, tmp_path: Path
) -> None:
    changes = {
        "model": {
            "type": "transducer",
            "chunk_size": 2,
            "joiner_dim": 16,
            "ctc_aux_weight": 0.3,
            "rnnt_warmup_steps": 4,  # the RNN-T loss comes in across the resume
        },
        "training": {"max_steps": 4, "checkpoint_every": 100, "eval_every": 2},
    }
    full = Trainer(tiny_recipe(shared_data, tmp_path / "straight", changes)).run()
    split = tiny_recipe(shared_data, tmp_path / "split", changes)
    Trainer(split, stop_after_steps=2).run()
    second = Trainer(split, resume=True).run()
    assert full.step == second.step == 4
    a = load_model(find_latest(tmp_path / "straight")).model.state_dict()  # type: ignore[arg-type]
    b = load_model(find_latest(tmp_path / "split")).model.state_dict()  # type: ignore[arg-type]
    for name in a:
        assert torch.equal(a[name], b[name]), name
    assert full.last_eval is not None and second.last_eval is not None
    assert full.last_eval.loss == pytest.approx(second.last_eval.loss, rel=1e-6)
    assert (tmp_path / "straight" / "best" / "model.pt").is_file()  # best by dev WER
