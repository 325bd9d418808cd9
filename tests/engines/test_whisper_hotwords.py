"""Hotwords on Whisper, end to end on real recordings with the real tiny.en: the
PyTorch decoder with trie fusion on the short-window, long-form and streaming paths,
and its parity with CTranslate2 when nothing is biased."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from aural.audio import load
from aural.decoding.options import DecodeOptions
from aural.engines import create_engine
from aural.errors import ConfigError
from aural.streaming import StreamingOptions

pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.streaming.conftest import final_text, run_stream, to_pcm16

# Whisper tiny.en writes "kesaberg"; the name is Keseberg (the Donner party)
KESEBERG = "train-clean-100/2691/156745/2691-156745-0000.flac"


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


@pytest.fixture(scope="module")
def keseberg(shared_data: Path):
    return load(shared_data / "LibriSpeech" / KESEBERG)


@pytest.mark.slow
def test_biasing_recovers_a_rare_name(whisper_engine, keseberg) -> None:
    plain = whisper_engine.transcribe(keseberg, DecodeOptions()).text
    assert "keseberg" not in words(plain)
    biased = whisper_engine.transcribe(keseberg, DecodeOptions(hotwords=("Keseberg",)))
    assert "Keseberg" in biased.text
    # the rest of the utterance is unharmed
    rest = [w for w in words(plain) if w != "kesaberg"]
    assert [w for w in words(biased.text) if w != "keseberg"] == rest
    # distractors that are not spoken change nothing
    many = whisper_engine.transcribe(
        keseberg,
        DecodeOptions(hotwords=("Keseberg", "Quilter", "Gwynplaine", "Ponsonby")),
    )
    assert words(many.text) == words(biased.text)


@pytest.mark.slow
def test_biasing_on_the_long_form_and_stream_paths(whisper_engine, keseberg) -> None:
    options = DecodeOptions(hotwords=("Keseberg",))
    long_form = whisper_engine.transcribe(
        keseberg, options.with_(trimmed_windows=False)
    )
    assert "Keseberg" in long_form.text
    session = whisper_engine.stream(
        options, streaming=StreamingOptions(max_lag_s=600.0)
    )
    events = run_stream(session, to_pcm16(keseberg.samples), 8000)
    assert "Keseberg" in final_text(events)


@pytest.mark.slow
def test_weight_zero_is_plain_decoding(keseberg) -> None:
    """With a zero bonus the fused search is the decoder's own search."""
    engine = create_engine("whisper", decoder="torch")
    plain = engine.transcribe(keseberg, DecodeOptions()).text
    zero = engine.transcribe(keseberg, DecodeOptions(hotwords=("Keseberg:0",)))
    assert zero.text == plain


@pytest.mark.slow
def test_torch_decoder_gives_ctranslate2_transcripts(dev_clean: Path) -> None:
    """Nothing biased: aural's decoder on CTranslate2's encoder output gives the same
    transcripts as CTranslate2's generate (float32, so that only the search is
    compared; benchmarks/whisper_torch_parity.py measures int8 too)."""
    ct2 = create_engine("whisper", compute_type="float32", cpu_threads=1)
    ours = create_engine(
        "whisper", compute_type="float32", cpu_threads=1, decoder="torch"
    )
    files = sorted(dev_clean.rglob("*.flac"))[:6]
    for path in files:
        wave = load(path)
        assert ours.transcribe(wave).text == ct2.transcribe(wave).text, path.name


def test_settings_are_checked(whisper_engine) -> None:
    with pytest.raises(ConfigError, match="hotword_weight"):
        create_engine("whisper", hotword_weight=-1.0)
    with pytest.raises(ConfigError, match="decoder must be one of"):
        create_engine("whisper", decoder="onnx")
    with pytest.raises(ConfigError, match="kesaberg:lots"):
        whisper_engine.check_options(DecodeOptions(hotwords=("kesaberg:lots",)))


def test_ctranslate2_only_refuses_hotwords(ldc_wav: Path) -> None:
    engine = create_engine("whisper", decoder="ctranslate2")
    with pytest.raises(ConfigError, match="hotwords") as err:
        engine.transcribe(load(ldc_wav), DecodeOptions(hotwords=("greasy",)))
    assert err.value.options == ("hotwords",)
