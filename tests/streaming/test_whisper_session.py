"""Whisper streaming (VAD + local agreement) on real recordings with tiny.en."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
import soxr

from aural.audio import load
from aural.decoding.options import DecodeOptions
from aural.errors import ConfigError
from aural.streaming import StreamingOptions
from aural.streaming.session import SKIP_AHEAD_FACTOR
from aural.types import EndOfStream, Final, Partial

from .conftest import (
    check_invariants,
    final_text,
    finals,
    partials,
    run_stream,
    to_pcm16,
    wer,
)

# Streaming decodes each VAD utterance in a window of its own length, offline decodes
# the padded 30 s window: tiny.en may pick a different word or two. These clips have
# 10-12 words, so the bound allows two words to differ from the offline transcript.
MAX_WER_VS_OFFLINE = 0.25
NO_DEGRADE = StreamingOptions(max_lag_s=600.0)  # deterministic schedule for comparisons


@pytest.mark.slow
def test_whisper_stream_partials_then_finals(whisper_engine, ldc_wav) -> None:
    wave = load(ldc_wav, 16000)
    session = whisper_engine.stream(DecodeOptions(), streaming=NO_DEGRADE)
    seen_finals: list[Final] = []
    events = []
    data = to_pcm16(wave.samples)
    for i in range(0, len(data), 4000):
        new = session.feed(data[i : i + 4000])
        seen_finals += [e for e in new if isinstance(e, Final)]
        events += new
    events += session.finish()
    check_invariants(events, wave.duration)
    # each final is emitted once; nothing after it covers its time again
    spans = [(f.segment.start, f.segment.end) for f in finals(events)]
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert finals(events)[: len(seen_finals)] == seen_finals
    assert [p for p in partials(events) if p.text], "no partial before the final"
    first_partial = next(i for i, e in enumerate(events) if isinstance(e, Partial))
    first_final = next(i for i, e in enumerate(events) if isinstance(e, Final))
    assert first_partial < first_final
    assert all(w for f in finals(events) for w in f.segment.words)
    offline = whisper_engine.transcribe(wave, DecodeOptions()).text
    assert wer(offline, final_text(events)) <= MAX_WER_VS_OFFLINE
    assert session.stats.partial_decodes >= 2


@pytest.mark.slow
def test_whisper_stream_chunk_sizes_agree(whisper_engine, ldc_wav) -> None:
    wave = load(ldc_wav, 16000)
    data = to_pcm16(wave.samples)
    quiet = StreamingOptions(max_lag_s=600.0, partials=False)
    results = {}
    for chunk in (37, 4000, len(data)):
        session = whisper_engine.stream(DecodeOptions(), streaming=quiet)
        events = run_stream(session, data, chunk)
        check_invariants(events, wave.duration)
        results[chunk] = [
            (f.segment.start, f.segment.end, f.segment.text) for f in finals(events)
        ]
    assert results[37] == results[4000] == results[len(data)]
    assert results[37]
    offline = whisper_engine.transcribe(wave, DecodeOptions()).text
    assert wer(offline, " ".join(t for _, _, t in results[37])) <= MAX_WER_VS_OFFLINE


@pytest.mark.slow
def test_whisper_stream_resamples_other_rates(whisper_engine, ldc_wav) -> None:
    wave = load(ldc_wav, 16000)
    at_44k = soxr.resample(wave.samples, 16000, 44100).astype(np.float32)
    session = whisper_engine.stream(
        DecodeOptions(), sample_rate=44100, streaming=StreamingOptions(partials=False)
    )
    events = run_stream(session, at_44k, 4410)
    check_invariants(events, wave.duration + 0.01)
    offline = whisper_engine.transcribe(wave, DecodeOptions()).text
    assert wer(offline, final_text(events)) <= MAX_WER_VS_OFFLINE


def test_whisper_stream_silence_gives_no_finals(whisper_engine) -> None:
    rng = np.random.default_rng(1)
    quiet = to_pcm16((rng.standard_normal(4 * 16000) * 1e-3).astype(np.float32))
    session = whisper_engine.stream()
    events = run_stream(session, quiet, 3200)
    assert events == [EndOfStream()]
    assert session.stats.final_decodes == session.stats.partial_decodes == 0


@pytest.mark.slow
def test_whisper_stream_degrades_when_behind(whisper_engine, dev_clean_clip) -> None:
    """A deliberately heavy setting (a partial every 0.1 s) fed as fast as possible."""
    wave = load(dev_clean_clip, 16000)
    heavy = StreamingOptions(partial_interval_s=0.1, first_partial_s=0.1, max_lag_s=0.3)
    # The session's clock runs 10x fast, so every real decode costs it 10x the time: the
    # stream falls behind on any machine, however idle (an idle one otherwise keeps up).
    speed = 10.0

    def clock() -> float:
        return speed * time.perf_counter()

    session = whisper_engine.stream(
        DecodeOptions(beam_size=1), streaming=heavy, clock=clock
    )
    data = to_pcm16(wave.samples)
    events, longest_step = [], 0.0
    for i in range(0, len(data), 3200):
        began = clock()
        events += session.feed(data[i : i + 3200])
        longest_step = max(longest_step, clock() - began)
    began = clock()
    events += session.finish()  # a step too: it decodes the open utterance
    longest_step = max(longest_step, clock() - began)
    stats = session.stats
    check_invariants(events, wave.duration)
    assert stats.dropped_partials > 0
    assert stats.degraded and stats.degraded_s > 0
    assert stats.partial_decodes < wave.duration / heavy.partial_interval_s / 2
    # past the skip-ahead bound nothing is decoded, so the backlog overshoots it by at
    # most the one step that crossed it: it cannot grow without bound
    assert stats.max_lag_s <= SKIP_AHEAD_FACTOR * heavy.max_lag_s + longest_step + 0.05
    if stats.skipped_s == 0:  # the machine kept up with finals: they are all there
        assert final_text(events)


def test_stream_rejects_bad_input(whisper_engine) -> None:
    session = whisper_engine.stream()
    with pytest.raises(ConfigError, match="chunk"):
        session.feed("not audio")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="float32"):
        session.feed(np.zeros(160, dtype=np.int16))
    for rate in (0, 3000, 400_000):
        with pytest.raises(ConfigError, match=str(rate)):
            whisper_engine.stream(sample_rate=rate)
    with pytest.raises(ConfigError, match="encoding"):
        whisper_engine.stream(encoding="ulaw")
    with pytest.raises(ConfigError, match="'fr'"):
        whisper_engine.stream(DecodeOptions(language="fr"))
    with pytest.raises(ConfigError, match="StreamingOptions"):
        StreamingOptions(partial_interval_s=0)
    assert session.finish() == [EndOfStream()]
    with pytest.raises(ConfigError, match="finished"):
        session.feed(b"\x00\x00")


def test_speculative_finals_equal_confirmed_ones(whisper_engine, long_clip) -> None:
    """A final decoded during the endpoint's silence is the final the endpoint would
    get."""
    from dataclasses import replace

    wave = load(long_clip, 16000)
    data = to_pcm16(wave.samples)
    # two seconds of silence at the end so the endpoint (not finish()) closes the last
    # one
    data += b"\x00\x00" * 32000
    runs = {}
    for speculate in (True, False):
        session = whisper_engine.stream(
            DecodeOptions(beam_size=1),
            streaming=replace(NO_DEGRADE, speculative_final=speculate),
        )
        events = run_stream(session, data, 3200)
        check_invariants(events, len(data) / 32000)
        runs[speculate] = (finals(events), session.stats)
    (with_spec, stats), (without, plain) = runs[True], runs[False]
    assert [f.segment for f in with_spec] == [f.segment for f in without]
    assert stats.speculative_hits >= 1 and plain.speculative_hits == 0
    assert stats.speculative_hits <= stats.final_decodes
