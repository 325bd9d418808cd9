"""PocketSphinx forced alignment: HMM-GMM Viterbi over the transcript's pronunciations.

An alignment method independent of Whisper and of CTC models (a classic HMM-GMM acoustic
model, cmudict pronunciations, 10 ms frames), used to cross-check the other aligners.
Words missing from the dictionary get a rough letter-by-letter pronunciation.
"""

from __future__ import annotations

import math
import re
from typing import Any

from aural.align.result import Alignment
from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.alignment import AlignmentError
from aural.errors import ConfigError
from aural.types import Word

__all__ = ["SphinxAligner"]

FRAMES_PER_SECOND = 100
_LOG_BASE = math.log(1.0001)  # PocketSphinx's logmath base
# crude letter -> CMU phone map for words the dictionary lacks
_LETTER_PHONES = {
    "a": "AE",
    "b": "B",
    "c": "K",
    "d": "D",
    "e": "EH",
    "f": "F",
    "g": "G",
    "h": "HH",
    "i": "IH",
    "j": "JH",
    "k": "K",
    "l": "L",
    "m": "M",
    "n": "N",
    "o": "AA",
    "p": "P",
    "q": "K",
    "r": "R",
    "s": "S",
    "t": "T",
    "u": "AH",
    "v": "V",
    "w": "W",
    "x": "K S",
    "y": "Y",
    "z": "Z",
}


def dictionary_form(word: str) -> str:
    """A transcript word as PocketSphinx's dictionary spells it (lower case, no
    punctuation)."""
    return re.sub(r"[^a-z']", "", word.lower()).strip("'")


class SphinxAligner:
    """Align transcripts with PocketSphinx's bundled US English model."""

    name = "sphinx"

    def __init__(self, model: str | None = None) -> None:
        from aural.engines.sphinx import SphinxEngine

        self._engine = SphinxEngine(model)
        self.model_id = self._engine.model_id

    def align(self, waveform: Waveform, transcript: str) -> Alignment:
        """Word times of ``transcript`` in ``waveform`` (mono, 16 kHz).

        Raises:
            AlignmentError: no usable word, or the decoder found no path through the
                text.
        """
        from aural.streaming.pcm import to_pcm16 as pcm16

        if waveform.sample_rate != SAMPLE_RATE or waveform.num_channels != 1:
            raise ConfigError(f"Sphinx alignment needs mono {SAMPLE_RATE} Hz audio")
        words = transcript.split()
        forms = [dictionary_form(w) for w in words]
        kept = [(w, f) for w, f in zip(words, forms) if f]
        if not kept:
            raise AlignmentError("the transcript has no alignable words")
        decoder = self._engine.new_decoder()
        for _, form in kept:
            if decoder.lookup_word(form) is None:
                phones = " ".join(
                    _LETTER_PHONES.get(c, "") for c in form if c != "'"
                ).split()
                decoder.add_word(form, " ".join(phones), False)
        try:
            decoder.set_align_text(" ".join(f for _, f in kept))
        except RuntimeError as err:
            raise AlignmentError(
                f"PocketSphinx rejected the transcript: {err}"
            ) from err
        decoder.start_utt()
        decoder.process_raw(pcm16(waveform.samples), full_utt=True)
        decoder.end_utt()
        segs = decoder.seg()
        if decoder.hyp() is None or segs is None:
            raise AlignmentError(
                "PocketSphinx found no alignment path: the transcript may not match "
                "the audio"
            )
        return Alignment(
            _to_words(list(segs), kept),
            (),
            waveform.duration,
            self.name,
            self.model_id,
            transcript,
        )


def _to_words(segs: list[Any], kept: list[tuple[str, str]]) -> tuple[Word, ...]:
    out = []
    k = 0
    for seg in segs:
        name = re.sub(r"\(\d+\)$", "", seg.word)
        if k < len(kept) and name == kept[k][1]:
            # seg.prob is a posterior in PocketSphinx's log base 1.0001; alignment mode
            # leaves it at 0 (probability 1.0): treat it as "no confidence available"
            prob = min(1.0, math.exp(seg.prob * _LOG_BASE)) if seg.prob else 1.0
            out.append(
                Word(
                    seg.start_frame / FRAMES_PER_SECOND,
                    (seg.end_frame + 1) / FRAMES_PER_SECOND,
                    kept[k][0],
                    prob,
                )
            )
            k += 1
    return tuple(out)
