"""Two independent aligners (Whisper cross-attention DTW, PocketSphinx HMM-GMM Viterbi)
agree on real recordings.

Tolerance: median |Δ| over all word starts and ends < 0.15 s and 95th percentile
< 0.45 s. benchmarks/align_agreement.py measures it on all matching dev-clean and misc
clips
(median 0.10 s, p95 0.26 s; Whisper's times lag PocketSphinx's by about 0.1 s).
"""

from __future__ import annotations

import numpy as np
import pytest

from aural.align.compare import boundary_differences, summarize_differences
from aural.audio import Waveform, load

pytestmark = pytest.mark.slow


def check_words(result, transcript: str, duration: float) -> None:
    assert [w.text for w in result.words] == transcript.split()
    starts = [w.start for w in result.words]
    assert starts == sorted(starts)
    assert all(0.0 <= w.start <= w.end <= duration + 1e-6 for w in result.words)


def test_whisper_and_sphinx_agree(aligned_clips, whisper_aligner, sphinx_aligner):
    diffs = []
    for path, text in aligned_clips:
        w = load(path)
        a, b = whisper_aligner.align(w, text), sphinx_aligner.align(w, text)
        check_words(a, text, w.duration)
        check_words(b, text, w.duration)
        diffs.append(boundary_differences(a, b))
    stats = summarize_differences(diffs)
    assert stats.num_words == sum(len(t.split()) for _, t in aligned_clips)
    assert stats.median < 0.15, stats
    assert stats.p95 < 0.45, stats


def test_whisper_first_word_skips_leading_silence(
    aligned_clips, whisper_aligner, sphinx_aligner
):
    path, text = aligned_clips[2]
    w = load(path)
    silence = np.zeros(16000, dtype=np.float32)
    padded = Waveform(np.concatenate([silence, w.samples]), 16000)
    first = whisper_aligner.align(padded, text).words[0]
    reference = sphinx_aligner.align(padded, text).words[0]
    assert first.start > 1.0  # not pulled to the start of the window
    assert abs(first.start - reference.start) < 0.3


def test_whisper_long_audio_is_cut_into_windows(dev_clean, whisper_aligner):
    from .conftest import reference

    names = [
        "2412/153948/2412-153948-0000",
        "1272/141231/1272-141231-0002",
        "1988/24833/1988-24833-0001",
    ]
    paths = [dev_clean / f"{n}.flac" for n in names]
    clips = [load(p) for p in paths]
    gap = np.zeros(4000, dtype=np.float32)
    long = Waveform(np.concatenate([x for c in clips for x in (c.samples, gap)]), 16000)
    assert long.duration > 32  # more than one 30 s window
    texts = [reference(p) for p in paths]
    result = whisper_aligner.align(long, " ".join(texts))
    check_words(result, " ".join(texts), long.duration)
    # the words of the last clip (in the second window) land where that clip was placed
    offset = sum(c.duration for c in clips[:2]) + 2 * len(gap) / 16000
    alone = whisper_aligner.align(clips[2], texts[2]).words
    placed = result.words[-len(alone) :]
    diffs = [abs(p.start - (a.start + offset)) for p, a in zip(placed, alone)]
    assert np.median(diffs) < 0.1, diffs


def test_sphinx_handles_words_missing_from_its_dictionary(dev_clean, sphinx_aligner):
    from .conftest import reference

    path = (
        dev_clean / "1272/141231/1272-141231-0002.flac"
    )  # OVERSTRAINED, TRIVIALITIES: OOV
    text = reference(path)
    w = load(path)
    result = sphinx_aligner.align(w, text)
    check_words(result, text, w.duration)
    for oov in ("OVERSTRAINED", "TRIVIALITIES"):  # long words: they cannot be squeezed
        word = next(x for x in result.words if x.text == oov)
        assert 0.4 < word.end - word.start < 1.5
