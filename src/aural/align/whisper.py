"""Whisper forced alignment: cross-attention DTW over a known transcript.

The transcript's tokens are fed to the decoder after the start-of-transcript prompt and
faster-whisper / CTranslate2's ``align`` finds, by dynamic time warping over the
alignment heads' cross-attention, when each token is spoken
(``WhisperModel.find_alignment``). Whisper sees 30-second windows; a longer input is
first transcribed with word timestamps, the recognised words are matched to the
transcript, and the transcript is cut at matched words so that every piece falls in one
window.
"""

from __future__ import annotations

import difflib
import re
import string
from typing import Any

import numpy as np

from aural.align.result import Alignment
from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.alignment import AlignmentError
from aural.engines.whisper import DEFAULT_MODEL, MIN_AUDIO_S, resolve_whisper_model
from aural.errors import ConfigError
from aural.types import Word

__all__ = ["WhisperAligner"]

WINDOW_S = 30.0
_MARGIN_S = 1.0  # keep each piece this far inside its window
_VAD_PAD_MS = 50  # speech padding kept around the VAD span when trimming silence


def _norm(word: str) -> str:
    return re.sub(r"[^\w']", "", word.lower())


def whisper_text(words: list[str]) -> str:
    """The text fed to Whisper: all-caps transcripts (LibriSpeech style) are
    lower-cased, since Whisper's tokens and attention are trained on normal casing."""
    text = " ".join(words)
    letters = [c for c in text if c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        text = text.lower()
    return text


class WhisperAligner:
    """Align transcripts with a Whisper model (faster-whisper / CTranslate2).

    Args:
        model: alias, CTranslate2 folder or hub id as for the whisper engine;
            None = tiny.en.
        compute_type: CTranslate2 compute type.
        cpu_threads: intra-op threads (0 = CTranslate2's default).
        median_filter_width: smoothing of the attention weights before DTW.
        trim_silence: align only between the first and last speech detected by Silero
            VAD. Whisper's DTW path starts at the window's first frame, so without this
            the first word absorbs any leading silence.
    """

    name = "whisper"

    def __init__(
        self,
        model: str | None = None,
        *,
        compute_type: str = "int8",
        cpu_threads: int = 0,
        median_filter_width: int = 7,
        trim_silence: bool = True,
    ) -> None:
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer

        path = resolve_whisper_model(model)
        try:
            self._model = WhisperModel(
                str(path),
                device="cpu",
                compute_type=compute_type,
                cpu_threads=cpu_threads,
            )
        except ValueError as err:
            raise ConfigError(f"cannot load Whisper {path}: {err}") from err
        self._tokenizer = Tokenizer(
            self._model.hf_tokenizer,
            self._model.model.is_multilingual,
            task="transcribe",
            language="en",
        )
        self.model_id = model or DEFAULT_MODEL
        self.median_filter_width = median_filter_width
        self.trim_silence = trim_silence

    def align(self, waveform: Waveform, transcript: str) -> Alignment:
        """Word times of ``transcript`` in ``waveform`` (mono, 16 kHz).

        Raises:
            AlignmentError: the transcript is empty, or (long audio) it cannot be
                matched to what Whisper hears well enough to cut it into 30-second
                pieces.
        """
        if waveform.sample_rate != SAMPLE_RATE or waveform.num_channels != 1:
            raise ConfigError(
                f"Whisper alignment needs mono {SAMPLE_RATE} Hz audio, got "
                f"{waveform.num_channels} channel(s) at {waveform.sample_rate} Hz"
            )
        words = transcript.split()
        if not words:
            raise AlignmentError("the transcript is empty: nothing to align")
        if waveform.duration < MIN_AUDIO_S:
            raise AlignmentError(
                f"the audio lasts {waveform.duration:.3f} s, too short to hold "
                f"a word (under {MIN_AUDIO_S:g} s)"
            )
        features = self._model.feature_extractor(waveform.samples.astype(np.float32))
        frames_per_s = 1.0 / self._model.feature_extractor.time_per_frame
        out: list[Word] = []
        for first, last, start, end in self._pieces(waveform, words):
            a, b = round(start * frames_per_s), round(end * frames_per_s)
            out += self._align_window(features[:, a:b], words[first:last], start)
        return Alignment(
            tuple(out), (), waveform.duration, self.name, self.model_id, transcript
        )

    def _align_window(
        self, features: np.ndarray, words: list[str], offset: float
    ) -> list[Word]:
        from faster_whisper.audio import pad_or_trim

        num_frames = min(
            features.shape[-1], self._model.feature_extractor.nb_max_frames
        )
        encoded = self._model.encode(pad_or_trim(features[:, :num_frames]))
        tokens = self._tokenizer.encode(" " + whisper_text(words))
        pieces = self._model.find_alignment(
            self._tokenizer,
            [tokens],
            encoded,
            num_frames,
            median_filter_width=self.median_filter_width,
        )[0]
        return _pieces_to_words(pieces, words, offset)

    def _pieces(
        self, waveform: Waveform, words: list[str]
    ) -> list[tuple[int, int, float, float]]:
        """(first word, end word, start s, end s) of each piece that fits one window."""
        start, duration = self._speech_span(waveform)
        if duration - start <= WINDOW_S:
            return [(0, len(words), start, duration)]
        anchors = self._anchors(waveform, words)
        pieces = []
        first = 0
        while first < len(words):
            if duration - start <= WINDOW_S:
                pieces.append((first, len(words), start, duration))
                break
            limit = start + WINDOW_S - _MARGIN_S
            fits = [j for j, (_, e) in anchors.items() if j >= first and e <= limit]
            if not fits:
                raise AlignmentError(
                    f"cannot match the transcript to the audio near {start:.1f} s: "
                    "Whisper hears none of its words there; check that the "
                    "transcript belongs to this recording, or split it"
                )
            j = max(fits)
            nxt = min(
                (s for k, (s, _) in anchors.items() if k > j), default=anchors[j][1]
            )
            cut = min(max(anchors[j][1], (anchors[j][1] + nxt) / 2), limit)
            pieces.append((first, j + 1, start, cut))
            first, start = j + 1, cut
        return pieces

    def _speech_span(self, waveform: Waveform) -> tuple[float, float]:
        if not self.trim_silence:
            return 0.0, waveform.duration
        from aural.audio.vad import VadOptions, speech_regions

        regions = speech_regions(waveform, VadOptions(speech_pad_ms=_VAD_PAD_MS))
        if not regions:
            return 0.0, waveform.duration
        return max(0.0, regions[0][0]), min(waveform.duration, regions[-1][1])

    def _anchors(
        self, waveform: Waveform, words: list[str]
    ) -> dict[int, tuple[float, float]]:
        segments, _ = self._model.transcribe(
            waveform.samples.astype(np.float32),
            language="en",
            word_timestamps=True,
            vad_filter=True,
            beam_size=1,
        )
        heard = [(w.word, w.start, w.end) for s in segments for w in (s.words or ())]
        matcher = difflib.SequenceMatcher(
            a=[_norm(w) for w in words], b=[_norm(h[0]) for h in heard], autojunk=False
        )
        anchors = {}
        for block in matcher.get_matching_blocks():
            for k in range(block.size):
                anchors[block.a + k] = (
                    float(heard[block.b + k][1]),
                    float(heard[block.b + k][2]),
                )
        return anchors


def _pieces_to_words(
    pieces: list[dict[str, Any]], words: list[str], offset: float
) -> list[Word]:
    """Map Whisper's word pieces back onto the transcript's words (spelling kept)."""
    owner: list[int] = []
    for k, w in enumerate(words):
        owner += [k] * len(w)
    timed: list[list[tuple[float, float, float]]] = [[] for _ in words]
    fallback: list[list[tuple[float, float, float]]] = [[] for _ in words]
    pos = 0
    for piece in pieces:
        text = piece["word"].strip()
        if not text or not owner:
            continue
        k = owner[min(pos, len(owner) - 1)]
        pos += len(text)
        entry = (
            float(piece["start"]),
            float(piece["end"]),
            float(piece["probability"]),
        )
        is_punct = all(c in string.punctuation for c in text)
        (fallback if is_punct else timed)[k].append(entry)
    out = []
    last_end = offset
    for k, w in enumerate(words):
        parts = timed[k] or fallback[k]
        if not parts:  # nothing aligned to this word: a zero-length mark where we are
            out.append(Word(last_end, last_end, w, 0.0))
            continue
        start = offset + min(p[0] for p in parts)
        end = offset + max(p[1] for p in parts)
        out.append(Word(start, end, w, float(np.mean([p[2] for p in parts]))))
        last_end = end
    return out
