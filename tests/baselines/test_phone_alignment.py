"""PocketSphinx phone alignment of real LibriSpeech utterances, frame labels and the
cache."""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

from aural.baselines.corpora import load_samples
from aural.baselines.phone_alignment import (
    PHONES,
    SILENCE,
    AlignmentFailedError,
    PhoneAligner,
    PhoneAlignment,
    PhoneSegment,
    WordSegment,
    align_corpus,
    guess_pronunciation,
)

UTT = "3752-4944-0000"  # CAPTAIN FRERE SAYS THAT THE SCENERY IS DELIGHTFUL, 3.3 s


def _dictionary_pronunciations(words: set[str]) -> dict[str, set[tuple[str, ...]]]:
    """Every pronunciation of ``words`` in the package's cmudict, without stress
    marks."""
    from pocketsphinx import get_model_path

    found: dict[str, set[tuple[str, ...]]] = {w: set() for w in words}
    with open(get_model_path("en-us/cmudict-en-us.dict"), encoding="utf-8") as handle:
        for line in handle:
            head, *phones = line.split()
            word = re.sub(r"\(\d+\)$", "", head)
            if word in found:
                found[word].add(tuple(re.sub(r"\d", "", p) for p in phones))
    return found


def test_phone_set_is_39_arpabet_phones_and_silence():
    assert len(PHONES) == 40 and len(set(PHONES)) == 40
    assert PHONES[-1] == SILENCE


def test_alignment_is_monotonic_contiguous_and_covers_the_audio(
    dev_alignments, dev_utterances
):
    alignments, _, _ = dev_alignments
    utt = next(u for u in dev_utterances if u.utterance_id == UTT)
    alignment = alignments[UTT]
    duration = len(load_samples(utt.path, 16_000)) / 16_000
    phones = alignment.phones
    assert phones[0].start_frame == 0
    for before, after in itertools.pairwise(phones):
        assert (
            after.start_frame == before.start_frame + before.num_frames
        )  # no gap, no overlap
    assert all(p.num_frames >= 3 for p in phones if p.phone != SILENCE)  # 3-state HMMs
    assert abs(alignment.num_frames - duration * 100) <= 3
    for index, word in enumerate(alignment.words):
        inside = [p for p in phones if p.word_index == index]
        assert inside[0].start_frame == word.start_frame
        assert (
            inside[-1].start_frame + inside[-1].num_frames
            == word.start_frame + word.num_frames
        )


def test_alignment_follows_the_transcript_and_its_dictionary_pronunciations(
    dev_alignments,
):
    alignment = dev_alignments[0][UTT]
    words = [w.word for w in alignment.words]
    assert words == [
        "captain",
        "frere",
        "says",
        "that",
        "the",
        "scenery",
        "is",
        "delightful",
    ]
    prons = _dictionary_pronunciations(set(words))
    for word in alignment.words:
        assert not word.is_guessed
        assert word.pronunciation in prons[word.word], (word.word, word.pronunciation)
        assert all(p in PHONES for p in word.pronunciation)


def test_most_dev_clean_utterances_align(dev_alignments, dev_utterances):
    alignments, failed, _ = dev_alignments
    assert len(alignments) + len(failed) == len(dev_utterances) == 12
    assert len(alignments) >= 10, failed


def test_frame_labels_match_the_phone_segments(dev_alignments):
    alignment = dev_alignments[0][UTT]
    labels = alignment.frame_labels()
    assert labels.shape == (alignment.num_frames,)
    for seg in alignment.phones:
        span = labels[seg.start_frame : seg.start_frame + seg.num_frames]
        assert (span == PHONES.index(seg.phone)).all()


def test_frame_labels_leave_guessed_words_unlabelled():
    words = (
        WordSegment("hi", 2, 4, ("HH", "AY")),
        WordSegment("zork", 6, 3, ("Z", "AO", "R"), True),
    )
    phones = (
        PhoneSegment(SILENCE, 0, 2, -1),
        PhoneSegment("HH", 2, 2, 0),
        PhoneSegment("AY", 4, 2, 0),
        PhoneSegment("Z", 6, 1, 1),
        PhoneSegment("AO", 7, 1, 1),
        PhoneSegment("R", 8, 1, 1),
    )
    alignment = PhoneAlignment("u", "hi zork", 10, words, phones)
    labels = alignment.frame_labels()
    sil, hh, ay = (PHONES.index(p) for p in (SILENCE, "HH", "AY"))
    assert labels.tolist() == [sil, sil, hh, hh, ay, ay, -1, -1, -1, sil]
    assert PhoneAlignment.from_dict(alignment.to_dict()) == alignment


def test_out_of_dictionary_words_get_a_guessed_pronunciation(aligner: PhoneAligner):
    pron, guessed = aligner.pronounce("pennicote")
    assert guessed and pron == guess_pronunciation("pennicote")
    assert aligner.pronounce("herod's") == (
        aligner.pronounce("herod")[0] + ("Z",),
        False,
    )
    assert aligner.pronounce("captain") == (("K", "AE", "P", "T", "AH", "N"), False)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("shambled", ("SH", "AE", "M", "B", "L", "EH", "D")),
        ("gwendolen", None),
        ("x", ("K", "S")),
    ],
)
def test_guess_pronunciation_uses_only_known_phones(word, expected):
    pron = guess_pronunciation(word)
    assert pron and all(p in PHONES for p in pron)
    if expected is not None:
        assert pron == expected


def test_empty_transcript_is_an_alignment_error(aligner: PhoneAligner):
    with pytest.raises(AlignmentFailedError, match="no words"):
        aligner.align(np.zeros(16_000, dtype=np.float32), " ... ", "empty-utt")


def test_align_corpus_reads_the_cache_instead_of_realigning(
    dev_alignments, dev_utterances
):
    alignments, failed, cache = dev_alignments
    files = sorted(cache.glob("*.json"))
    assert len(files) == len(dev_utterances)
    stamps = [f.stat().st_mtime_ns for f in files]
    # no aligner given: if anything were not cached, a new PocketSphinx decoder would
    # run
    again, failed_again = align_corpus(dev_utterances, cache)
    assert again == alignments and failed_again == failed
    assert [f.stat().st_mtime_ns for f in files] == stamps
