"""Phone-level forced alignment with PocketSphinx, and frame labels for the DNN
baseline.

PocketSphinx's en-us acoustic model (shipped in the ``pocketsphinx`` package) aligns a
known transcript in two passes: a word-level Viterbi pass (``set_align_text``) and a
sub-word pass (``set_alignment``) that gives each word's phones their start frames and
durations at 100 frames a second. Words missing from the CMU dictionary get a rough
letter-to-sound pronunciation so the rest of the utterance still aligns; their frames
are marked as unlabelled (``-1``) by :meth:`PhoneAlignment.frame_labels` so guessed
phones never become training targets.

Alignments are cached as one JSON file per utterance (:func:`align_corpus`), keyed by
the transcript, so a corpus is aligned once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aural.baselines.corpora import LibriUtterance, load_samples
from aural.errors import AuralError, ConfigError, MissingDependencyError
from aural.writers import write_atomic

__all__ = [
    "FRAME_RATE",
    "PHONES",
    "SILENCE",
    "AlignmentFailedError",
    "PhoneAligner",
    "PhoneAlignment",
    "PhoneSegment",
    "WordSegment",
    "align_corpus",
    "guess_pronunciation",
]

logger = logging.getLogger(__name__)

SILENCE = "SIL"
PHONES: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F",
    "G", "HH", "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S",
    "SH", "T", "TH", "UH", "UW", "V", "W", "Y", "Z", "ZH", SILENCE,
)  # fmt: skip
"""The 39 ARPAbet phones without stress marks, plus silence: the DNN's 40 classes."""

FRAME_RATE = 100
"""PocketSphinx frames per second (10 ms shift)."""

CACHE_VERSION = 1
UNLABELLED = -1


class AlignmentFailedError(AuralError):
    """PocketSphinx could not align a transcript to its audio."""


@dataclass(frozen=True, slots=True)
class WordSegment:
    """One aligned word; frames are 10 ms PocketSphinx frames.

    Attributes:
        word: the transcript word (lower case).
        start_frame: first frame.
        num_frames: length in frames.
        pronunciation: the phones aligned to it.
        is_guessed: True when the word was not in the dictionary and its pronunciation
            came from :func:`guess_pronunciation`.
    """

    word: str
    start_frame: int
    num_frames: int
    pronunciation: tuple[str, ...]
    is_guessed: bool = False


@dataclass(frozen=True, slots=True)
class PhoneSegment:
    """One aligned phone.

    ``word_index`` points into :attr:`PhoneAlignment.words` (-1 for silence).
    """

    phone: str
    start_frame: int
    num_frames: int
    word_index: int


@dataclass(frozen=True, slots=True)
class PhoneAlignment:
    """The phone alignment of one utterance.

    Attributes:
        utterance_id: the corpus id.
        text: the transcript that was aligned.
        num_frames: frames the aligner saw (about duration x 100).
        words: the transcript's words with their frames.
        phones: every phone, silences included, in time order.
    """

    utterance_id: str
    text: str
    num_frames: int
    words: tuple[WordSegment, ...]
    phones: tuple[PhoneSegment, ...]

    def frame_labels(self, phones: Sequence[str] = PHONES) -> np.ndarray:
        """Class index of each frame, shape ``(num_frames,)``.

        Frames inside guessed words, and any phone missing from ``phones``, are
        ``-1`` (unlabelled); frames no phone covers are silence.
        """
        index = {p: i for i, p in enumerate(phones)}
        labels = np.full(
            self.num_frames, index.get(SILENCE, UNLABELLED), dtype=np.int64
        )
        for seg in self.phones:
            guessed = seg.word_index >= 0 and self.words[seg.word_index].is_guessed
            value = UNLABELLED if guessed else index.get(seg.phone, UNLABELLED)
            labels[seg.start_frame : seg.start_frame + seg.num_frames] = value
        return labels

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": CACHE_VERSION,
            "utterance_id": self.utterance_id,
            "text": self.text,
            "num_frames": self.num_frames,
            "frame_rate": FRAME_RATE,
            "words": [
                {
                    "word": w.word,
                    "start_frame": w.start_frame,
                    "num_frames": w.num_frames,
                    "pronunciation": list(w.pronunciation),
                    "is_guessed": w.is_guessed,
                }
                for w in self.words
            ],
            "phones": [
                [p.phone, p.start_frame, p.num_frames, p.word_index]
                for p in self.phones
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PhoneAlignment:
        words = tuple(
            WordSegment(
                w["word"],
                int(w["start_frame"]),
                int(w["num_frames"]),
                tuple(w["pronunciation"]),
                bool(w["is_guessed"]),
            )
            for w in data["words"]
        )
        phones = tuple(
            PhoneSegment(p[0], int(p[1]), int(p[2]), int(p[3])) for p in data["phones"]
        )
        return cls(
            data["utterance_id"], data["text"], int(data["num_frames"]), words, phones
        )


# Rough English letter-to-sound rules, longest spelling first. They only have to give
# the aligner a plausible number of phones for out-of-dictionary names; the frames of
# such words are never used as targets.
_LETTER_RULES: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    sorted(
        {
            "tch": ("CH",), "sch": ("S", "K"), "igh": ("AY",), "ough": ("AO",),
            "ch": ("CH",), "sh": ("SH",), "th": ("TH",), "ph": ("F",), "wh": ("W",),
            "ck": ("K",), "ng": ("NG",), "qu": ("K", "W"), "gh": ("G",),
            "ee": ("IY",), "ea": ("IY",), "oo": ("UW",), "ou": ("AW",), "ow": ("OW",),
            "oi": ("OY",), "oy": ("OY",), "ai": ("EY",), "ay": ("EY",), "ey": ("EY",),
            "ie": ("IY",), "au": ("AO",), "aw": ("AO",), "er": ("ER",), "ir": ("ER",),
            "ur": ("ER",), "ar": ("AA", "R"), "or": ("AO", "R"),
            "a": ("AE",), "b": ("B",), "c": ("K",), "d": ("D",), "e": ("EH",),
            "f": ("F",), "g": ("G",), "h": ("HH",), "i": ("IH",), "j": ("JH",),
            "k": ("K",), "l": ("L",), "m": ("M",), "n": ("N",), "o": ("AA",),
            "p": ("P",), "q": ("K",), "r": ("R",), "s": ("S",), "t": ("T",),
            "u": ("AH",), "v": ("V",), "w": ("W",), "x": ("K", "S"), "y": ("Y",),
            "z": ("Z",),
        }.items(),
        key=lambda item: -len(item[0]),
    )
)  # fmt: skip


def guess_pronunciation(word: str) -> tuple[str, ...]:
    """A rough ARPAbet pronunciation of an English spelling (letters only are read).

    Doubled letters count once, a final silent ``e`` is dropped and a final ``y``
    reads ``IY``. Good enough to keep an alignment on track, not for recognition.
    """
    letters = re.sub(r"[^a-z]", "", word.lower())
    letters = re.sub(r"(.)\1+", r"\1", letters)
    if len(letters) > 3 and letters.endswith("e") and letters[-2] not in "aeiou":
        letters = letters[:-1]
    phones: list[str] = []
    i = 0
    while i < len(letters):
        for spelling, sounds in _LETTER_RULES:
            if letters.startswith(spelling, i):
                if spelling == "y" and i == len(letters) - 1 and i > 0:
                    sounds = ("IY",)
                phones.extend(sounds)
                i += len(spelling)
                break
    return tuple(phones) or ("AH",)


def _strip_stress(phones: str) -> tuple[str, ...]:
    return tuple(re.sub(r"\d", "", p) for p in phones.split())


def _to_pcm16(samples: np.ndarray) -> bytes:
    clipped = np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0)
    return (clipped * 32767.0).astype("<i2").tobytes()


class PhoneAligner:
    """Aligns transcripts to 16 kHz audio at the phone level with PocketSphinx.

    Args:
        model_dir: a PocketSphinx acoustic model folder; ``None`` means the en-us model
            shipped in the ``pocketsphinx`` package.
        dictionary: a pronunciation dictionary; ``None`` means the package's cmudict.

    Raises:
        MissingDependencyError: if ``pocketsphinx`` is not installed.
    """

    sample_rate = 16_000

    def __init__(
        self, model_dir: str | Path | None = None, dictionary: str | Path | None = None
    ):
        try:
            from pocketsphinx import (  # type: ignore[import-untyped]
                Decoder,
                get_model_path,
            )
        except ImportError as err:
            raise MissingDependencyError(
                "phone alignment needs the 'pocketsphinx' package, which is not "
                "installed; install it with `pip install pocketsphinx`"
            ) from err
        hmm = Path(model_dir) if model_dir else Path(get_model_path("en-us/en-us"))
        dic = (
            Path(dictionary)
            if dictionary
            else Path(get_model_path("en-us/cmudict-en-us.dict"))
        )
        for path in (hmm, dic):
            if not path.exists():
                raise ConfigError(f"PocketSphinx model file not found: {path}")
        self.model_id = f"pocketsphinx:{hmm.name}"
        # bestpath off: with a lattice best path the first pass can give a phone fewer
        # frames than its HMM has states and the second pass then fails (pocketsphinx
        # issues 339 and 318).
        self._decoder = Decoder(
            hmm=str(hmm),
            dict=str(dic),
            lm=None,
            samprate=self.sample_rate,
            bestpath=False,
            loglevel="FATAL",
        )
        self._known: dict[str, tuple[tuple[str, ...], bool]] = {}

    def pronounce(self, word: str) -> tuple[tuple[str, ...], bool]:
        """The dictionary pronunciation of ``word`` and whether it had to be guessed.

        A word missing from the dictionary is added to the decoder: a possessive
        ``'s`` of a known word adds ``Z``, anything else uses
        :func:`guess_pronunciation`.
        """
        word = word.lower()
        if word in self._known:
            return self._known[word]
        found = self._decoder.lookup_word(word)
        if found:
            result = (_strip_stress(found), False)
        else:
            base = self._decoder.lookup_word(word[:-2]) if word.endswith("'s") else None
            if base:
                result = (_strip_stress(base) + ("Z",), False)
            else:
                result = (guess_pronunciation(word), True)
            self._decoder.add_word(word, " ".join(result[0]), True)
        self._known[word] = result
        return result

    def _decode(self, pcm: bytes) -> None:
        self._decoder.start_utt()
        self._decoder.process_raw(pcm, full_utt=True)
        self._decoder.end_utt()

    def align(
        self, samples: np.ndarray, text: str, utterance_id: str = ""
    ) -> PhoneAlignment:
        """Align ``text`` to ``samples`` (mono float32 at 16 kHz).

        Raises:
            AlignmentFailedError: if the transcript is empty or PocketSphinx finds no
                path.
        """
        words = [
            w for w in re.sub(r"[^a-z' ]", " ", text.lower()).split() if w.strip("'")
        ]
        if not words:
            raise AlignmentFailedError(
                f"{utterance_id or 'utterance'}: transcript has no words"
            )
        guessed = {w: self.pronounce(w)[1] for w in words}
        pcm = _to_pcm16(samples)
        try:
            self._decoder.set_align_text(" ".join(words))
            self._decode(pcm)
            if self._decoder.hyp() is None:
                raise AlignmentFailedError(
                    f"{utterance_id or 'utterance'}: PocketSphinx found no alignment "
                    f"of {len(words)} words to {len(samples) / self.sample_rate:.2f} "
                    "s of audio"
                )
            self._decoder.set_alignment()
            self._decode(pcm)
            alignment = self._decoder.get_alignment()
        except RuntimeError as err:
            raise AlignmentFailedError(
                f"{utterance_id or 'utterance'}: PocketSphinx alignment failed: {err}"
            ) from err
        return _collect(alignment, utterance_id, text, guessed)


def _collect(
    alignment: Any, utterance_id: str, text: str, guessed: dict[str, bool]
) -> PhoneAlignment:
    word_segments: list[WordSegment] = []
    phone_segments: list[PhoneSegment] = []
    for entry in alignment:
        name = re.sub(r"\(\d+\)$", "", entry.name)
        children = [(p.name, int(p.start), int(p.duration)) for p in entry]
        if name.startswith(("<", "[")):
            phone_segments.extend(
                PhoneSegment(SILENCE, s, d, -1) for _, s, d in children
            )
            continue
        index = len(word_segments)
        word_segments.append(
            WordSegment(
                name,
                int(entry.start),
                int(entry.duration),
                tuple(p for p, _, _ in children),
                guessed.get(name, False),
            )
        )
        phone_segments.extend(PhoneSegment(p, s, d, index) for p, s, d in children)
    if not phone_segments:
        raise AlignmentFailedError(f"{utterance_id or 'utterance'}: empty alignment")
    last = phone_segments[-1]
    return PhoneAlignment(
        utterance_id,
        text,
        last.start_frame + last.num_frames,
        tuple(word_segments),
        tuple(phone_segments),
    )


def _cache_key(utterance: LibriUtterance, model_id: str) -> str:
    return hashlib.sha1(f"{model_id}\n{utterance.text}".encode()).hexdigest()[:16]


def align_corpus(
    utterances: Sequence[LibriUtterance],
    cache_dir: str | Path,
    aligner: PhoneAligner | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[dict[str, PhoneAlignment], dict[str, str]]:
    """Align each utterance once, reading and writing ``cache_dir/<id>.json``.

    Args:
        utterances: what to align.
        cache_dir: folder of cached alignments (created if needed); a cached file is
            reused when its transcript and model match.
        aligner: reused across calls; ``None`` creates one only if something is not
            cached.
        progress: called with 1 after each utterance.

    Returns:
        ``(alignments by utterance id, failure message by utterance id)``; failures
        are cached too, so a failing utterance is not retried for the same transcript.
    """
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    done: dict[str, PhoneAlignment] = {}
    failed: dict[str, str] = {}
    for utt in utterances:
        path = cache / f"{utt.utterance_id}.json"
        cached = _read_cached(path)
        if cached is not None and cached.get("key") == _cache_key(
            utt, _model_id(aligner)
        ):
            if "error" in cached:
                failed[utt.utterance_id] = str(cached["error"])
            else:
                done[utt.utterance_id] = PhoneAlignment.from_dict(cached)
        else:
            aligner = aligner or PhoneAligner()
            payload: dict[str, Any] = {"version": CACHE_VERSION}
            try:
                samples = load_samples(utt.path, PhoneAligner.sample_rate)
                result = aligner.align(samples, utt.text, utt.utterance_id)
            except AuralError as err:
                failed[utt.utterance_id] = payload["error"] = str(err)
                logger.warning("alignment skipped: %s", err)
            else:
                done[utt.utterance_id] = result
                payload = result.to_dict()
            payload["key"] = _cache_key(utt, aligner.model_id)
            write_atomic(path, json.dumps(payload))
        if progress is not None:
            progress(1)
    return done, failed


def _model_id(aligner: PhoneAligner | None) -> str:
    return aligner.model_id if aligner is not None else "pocketsphinx:en-us"


def _read_cached(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return (
        data
        if isinstance(data, dict) and data.get("version") == CACHE_VERSION
        else None
    )
