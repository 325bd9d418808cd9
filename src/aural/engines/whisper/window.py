"""Whisper decodes of short inputs with the encoder run on just their frames.

faster-whisper always pads audio to Whisper's 30-second window, so every decode pays for
a full encoder pass, and on a CPU the encoder is most of tiny.en's cost. Running it on
the input's own frames plus a few seconds of silence is about 1.8x cheaper on
LibriSpeech utterances (12 s on average) and several times cheaper for the short buffers
a streaming session re-decodes. The engine's short-form path and the streaming sessions
use it; a decode that looks degenerate (repetition loop, very low log probability) is
redone by the engine's full path, with its temperature fallback.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from aural.engines.whisper.limits import (
    COMPRESSION_RATIO_THRESHOLD,
    FRAMES_PER_SECOND,
    LOG_PROB_THRESHOLD,
    MAX_FRAMES,
    MAX_WORDS_PER_SECOND,
    NO_SPEECH_THRESHOLD,
)
from aural.types import Word

if TYPE_CHECKING:
    from aural.engines.whisper.language import LanguageProbs

__all__ = ["FINAL_PAD_FRAMES", "PAD_FRAMES", "WhisperWindowDecoder", "WindowResult"]

PAD_FRAMES = (
    200  # silence frames after the audio in partial decodes (Whisper expects padding)
)
FINAL_PAD_FRAMES = (
    800  # for finals: enough that Whisper ends instead of repeating itself
)
MIN_ALIGN_FRAMES = 10  # shorter inputs get no word times
MAX_NEW_TOKENS = 224
MAX_PROMPT_TOKENS = 100  # total length (prompt + output) must stay under 448
TOKENS_PER_SECOND = 10  # English speech is 3-5 tokens a second
_PREPEND = "\"'“¿([{-"
_APPEND = "\"'.。,，!！?？:：”)]}、"


@dataclass(frozen=True, slots=True)
class WindowResult:
    """One decode: text, words (seconds from the start of the audio) and quality
    scores."""

    text: str
    words: tuple[Word, ...]
    avg_log_prob: float
    no_speech_prob: float
    compression_ratio: float
    duration: float  # seconds of audio decoded
    language: str | None = None  # the language token the decode was given
    # its probability when it was detected from this window (None: it was given)
    language_probability: float | None = None

    @property
    def is_suspect(self) -> bool:
        """True when faster-whisper would retry this decode at a higher temperature."""
        return bool(self.text) and (
            len(self.text.split()) > MAX_WORDS_PER_SECOND * self.duration + 2
            or self.compression_ratio > COMPRESSION_RATIO_THRESHOLD
            or self.avg_log_prob < LOG_PROB_THRESHOLD
        )

    @property
    def is_no_speech(self) -> bool:
        return (
            self.no_speech_prob > NO_SPEECH_THRESHOLD
            and self.avg_log_prob < LOG_PROB_THRESHOLD
        )


class WhisperWindowDecoder:
    """Short-window decodes on a loaded faster-whisper model.

    Args:
        model: a ``faster_whisper.WhisperModel``.
        language: the language token to force (``en`` for English-only models), or
            None to detect each window's language from its own encoder output (one
            decoder step, no extra encoder pass).
        task: ``transcribe`` or ``translate``.
        allowed: with ``language=None``, the languages detection may choose from
            (empty: any the model knows).
    """

    def __init__(
        self,
        model: Any,
        language: str | None,
        task: str = "transcribe",
        allowed: tuple[str, ...] = (),
    ) -> None:
        from faster_whisper.transcribe import get_suppressed_tokens

        self._model = model
        self._task = task
        self.language = language
        self.allowed = allowed
        self._tokenizers: dict[str, Any] = {}
        # the suppressed tokens do not depend on the language
        self._suppress = list(
            get_suppressed_tokens(self._tokenizer(language or "en"), [-1])
        )

    def _tokenizer(self, language: str) -> Any:
        """faster-whisper's tokenizer for ``language`` and the task (made once)."""
        tok = self._tokenizers.get(language)
        if tok is None:
            from faster_whisper.tokenizer import Tokenizer

            tok = Tokenizer(
                self._model.hf_tokenizer,
                self._model.model.is_multilingual,
                task=self._task,
                language=language,
            )
            self._tokenizers[language] = tok
        return tok

    def encode(self, audios: list[np.ndarray], pad_frames: int = PAD_FRAMES) -> Any:
        """The encoder output of ``audios`` in one batched trimmed window: as wide as
        the longest input plus ``pad_frames`` of silence (a ``StorageView``, on the
        model's device)."""
        import ctranslate2

        model = self._model
        frames = [_frames(a) for a in audios]
        width = min(MAX_FRAMES, max(frames) + pad_frames)
        features = [model.feature_extractor(audio) for audio in audios]
        batch = np.zeros((len(audios), features[0].shape[0], width), dtype=np.float32)
        for i, (feature, n) in enumerate(zip(features, frames, strict=True)):
            batch[i, :, :n] = feature[:, :n]
        return model.model.encode(
            ctranslate2.StorageView.from_array(batch), to_cpu=False
        )

    def detect(self, encoded: Any) -> list[tuple[tuple[str, float], ...]]:
        """Each batch item's language probabilities from its encoder output (over
        :attr:`allowed`, renormalised), most probable first."""
        from aural.engines.whisper.language import detect_encoded, restrict

        return [
            restrict(p, self.allowed)
            for p in detect_encoded(self._model.model, encoded)
        ]

    def decode(
        self,
        audio: np.ndarray,
        *,
        beam_size: int,
        prompt: str | None = None,
        generator: Any = None,
        word_timestamps: bool = False,
        pad_frames: int = PAD_FRAMES,
        language: str | None = None,
        settle: bool = True,
    ) -> WindowResult:
        """Decode ``audio`` (16 kHz mono float32, under 29 s) in one window.

        ``pad_frames`` of silence follow the audio in the encoder window. With little
        padding Whisper sometimes starts the utterance over after its end (3 of 20
        LibriSpeech utterances at 100 frames, 0 at 800), so finals use
        :data:`FINAL_PAD_FRAMES`.

        The output is capped at ``TOKENS_PER_SECOND`` tokens per second of audio (plus
        a few), far above any speaking rate, so a repetition loop ends early and
        cheaply. ``language`` overrides the decoder's own (None: the decoder's, or
        detected); ``settle`` as in :meth:`decode_many`.
        """
        return self.decode_many(
            [audio],
            beam_size=beam_size,
            prompt=prompt,
            generator=generator,
            word_timestamps=word_timestamps,
            pad_frames=pad_frames,
            languages=[language],
            settle=settle,
        )[0]

    def decode_many(
        self,
        audios: list[np.ndarray],
        *,
        beam_size: int,
        prompt: str | None = None,
        generator: Any = None,
        word_timestamps: bool = False,
        pad_frames: int = PAD_FRAMES,
        languages: Sequence[str | None] | None = None,
        encoded: Any = None,
        settle: bool = True,
    ) -> list[WindowResult]:
        """Decode several inputs in one batched encoder and decoder call.

        The window is as wide as the longest input plus ``pad_frames``; shorter inputs
        get more silence after them. Callers group inputs of similar length.
        ``generator`` runs the search (None: CTranslate2; aural's PyTorch decoder with
        hotwords, :class:`~aural.engines.whisper.torch_decoder.TorchWhisper`).

        ``languages`` gives each input's language (None items, or no list: the
        decoder's :attr:`language`, or detected from the input's own encoder output
        when that is None too). ``encoded`` is the batch's encoder output when the
        caller already has it (:meth:`encode` with the same ``pad_frames``; it is not
        computed again). ``settle``: an input whose detected language is unsure is
        decoded in each candidate language and keeps the likeliest decode
        (:meth:`_settle`; False for cheap partial decodes, which take the top one).
        """
        if not audios:
            return []
        model = self._model
        frames = [_frames(a) for a in audios]
        if encoded is None:
            encoded = self.encode(audios, pad_frames)
        chosen, detected = self._languages(encoded, languages or [None] * len(audios))
        toks = [self._tokenizer(lang) for lang, _ in chosen]
        previous = (
            toks[0].encode(" " + prompt.strip()) if prompt and prompt.strip() else []
        )
        previous = previous[-MAX_PROMPT_TOKENS:]
        gen = generator or model.model
        results = list(self._generate(gen, encoded, toks, previous, beam_size, audios))
        if settle:
            self._settle(
                gen,
                encoded,
                audios,
                previous,
                beam_size,
                chosen,
                detected,
                toks,
                results,
            )
        outputs = []
        eot = toks[0].eot
        for audio, n, result in zip(audios, frames, results, strict=True):
            tokens, avg_log_prob = _scored(result, eot, audio.size)
            text = toks[0].decode(tokens).strip()
            outputs.append(
                (tokens, text, avg_log_prob, result.no_speech_prob, n, audio.size)
            )
        aligned: list[tuple[Word, ...]] = [()] * len(audios)
        if word_timestamps:
            self._align(encoded, outputs, toks, aligned)
        windows = []
        for (_, text, avg_log_prob, no_speech, _, size), words, (lang, prob) in zip(
            outputs, aligned, chosen, strict=True
        ):
            encoded_text = text.encode("utf-8")
            ratio = (
                len(encoded_text) / len(zlib.compress(encoded_text))
                if encoded_text
                else 0.0
            )
            windows.append(
                WindowResult(
                    text,
                    words,
                    float(avg_log_prob),
                    float(no_speech),
                    ratio,
                    size / 16000,
                    lang if model.model.is_multilingual else "en",
                    prob,
                )
            )
        return windows

    def likeliest(
        self,
        audio: np.ndarray,
        encoded: Any,
        languages: Sequence[str],
        *,
        beam_size: int,
        generator: Any = None,
    ) -> str:
        """Of ``languages`` (the detector's order), the one whose decode of ``audio``
        has the best average log probability per token; ``encoded`` is its encoder
        output (:meth:`encode`, one row), reused by every decode (one batched search).
        """
        rows = [0] * len(languages)
        toks = [self._tokenizer(lang) for lang in languages]
        results = self._generate(
            generator or self._model.model,
            _select(encoded, rows, 1),
            toks,
            [],
            beam_size,
            [audio],
        )
        from aural.engines.whisper.language import by_likelihood

        eot = toks[0].eot
        return by_likelihood(
            [
                (lang, _scored(result, eot, audio.size)[1])
                for lang, result in zip(languages, results, strict=True)
            ]
        )

    def _generate(
        self,
        generator: Any,
        encoded: Any,
        toks: list[Any],
        previous: list[int],
        beam_size: int,
        audios: Sequence[np.ndarray],
    ) -> Any:
        """One batched search: each row of ``encoded`` in its tokenizer's language."""
        model = self._model
        prompts = [model.get_prompt(t, previous, without_timestamps=True) for t in toks]
        longest = max(a.size for a in audios)
        return generator.generate(
            encoded,
            prompts,
            beam_size=beam_size,
            max_length=len(prompts[0])
            + min(MAX_NEW_TOKENS, 8 + int(TOKENS_PER_SECOND * longest / 16000)),
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=self._suppress,
        )

    def _settle(
        self,
        generator: Any,
        encoded: Any,
        audios: list[np.ndarray],
        previous: list[int],
        beam_size: int,
        chosen: list[tuple[str, float | None]],
        detected: list[LanguageProbs | None],
        toks: list[Any],
        results: list[Any],
    ) -> None:
        """Settle unsure detections by decoding (in place on ``chosen``, ``toks`` and
        ``results``).

        A row whose detected top language is below :data:`.language.UNSURE` is decoded
        again, on the same encoder output, in each other
        :func:`.language.candidates` language (one batched search for all of them),
        and keeps the decode with the best average log probability per token. The
        language reported is the one kept, with the detector's probability of it.
        """
        from aural.engines.whisper.language import by_likelihood, candidates

        rows: list[int] = []
        langs: list[str] = []
        for i, probs in enumerate(detected):
            for lang in candidates(probs or ())[1:]:
                rows.append(i)
                langs.append(lang)
        if not rows:
            return
        alt_toks = [self._tokenizer(lang) for lang in langs]
        alt = list(
            self._generate(
                generator,
                _select(encoded, rows, len(audios)),
                alt_toks,
                previous,
                beam_size,
                [audios[i] for i in rows],
            )
        )
        eot = toks[0].eot
        scored: dict[int, list[tuple[str, float]]] = {}
        for i, lang, result in zip(rows, langs, alt, strict=True):
            if i not in scored:
                first = _scored(results[i], eot, audios[i].size)[1]
                scored[i] = [(chosen[i][0], first)]
            scored[i].append((lang, _scored(result, eot, audios[i].size)[1]))
        for i, pairs in scored.items():
            pick = by_likelihood(pairs)
            if pick == chosen[i][0]:
                continue
            k = next(
                k for k, (r, g) in enumerate(zip(rows, langs)) if r == i and g == pick
            )
            results[i] = alt[k]
            toks[i] = alt_toks[k]
            chosen[i] = (pick, dict(detected[i] or ()).get(pick, 0.0))

    def _languages(
        self, encoded: Any, languages: Sequence[str | None]
    ) -> tuple[list[tuple[str, float | None]], list[LanguageProbs | None]]:
        """Each input's language and, when it was detected here, its probability; and
        the detected probabilities of each input (None where it was given)."""
        given = [lang or self.language for lang in languages]
        if not self._model.model.is_multilingual:
            return [("en", None)] * len(given), [None] * len(given)
        if all(lang is not None for lang in given):
            return [(str(lang), None) for lang in given], [None] * len(given)
        detected = self.detect(encoded)
        return (
            [
                (lang, None) if lang is not None else detected[i][0]
                for i, lang in enumerate(given)
            ],
            [None if lang is not None else detected[i] for i, lang in enumerate(given)],
        )

    def _align(
        self,
        encoded: Any,
        outputs: list[tuple[Any, ...]],
        toks: list[Any],
        aligned: list[tuple[Word, ...]],
    ) -> None:
        """Word times for ``outputs`` into ``aligned``: one alignment call per language
        (the start of transcript names it)."""
        # a frame or two of audio cannot be aligned (faster-whisper fails on it)
        todo = [i for i, o in enumerate(outputs) if o[0] and o[4] >= MIN_ALIGN_FRAMES]
        by_language: dict[int, list[int]] = {}
        for i in todo:
            by_language.setdefault(id(toks[i]), []).append(i)
        for rows in by_language.values():
            alignments = self._model.find_alignment(
                toks[rows[0]],
                [outputs[i][0] for i in rows],
                _select(encoded, rows, len(outputs)),
                [outputs[i][4] for i in rows],
            )
            for i, alignment in zip(rows, alignments, strict=True):
                aligned[i] = _words(alignment, outputs[i][4])


def _frames(audio: np.ndarray) -> int:
    """Mel frames of ``audio`` that a trimmed window holds."""
    return min(audio.size // 160, MAX_FRAMES - 100)


def _scored(result: Any, eot: int, samples: int) -> tuple[list[int], float]:
    """A search result's text tokens, capped at ``TOKENS_PER_SECOND`` per second of
    the input's ``samples`` (a short input batched with a long one must not loop on),
    and its average log probability per token (faster-whisper's: end token counted)."""
    cap = 8 + int(TOKENS_PER_SECOND * samples / 16000)
    tokens = [t for t in result.sequences_ids[0] if t < eot][:cap]
    length = len(tokens)
    avg_log_prob = result.scores[0] * length / (length + 1) if length else 0.0
    return tokens, float(avg_log_prob)


def _select(encoded: Any, rows: list[int], total: int) -> Any:
    """The encoder output for ``rows`` of the batch (all of it when that is every
    row, in order; a row may be repeated)."""
    if rows == list(range(total)):
        return encoded
    import ctranslate2

    if encoded.device != "cpu":
        encoded = encoded.to_device(ctranslate2.Device.cpu)
    return ctranslate2.StorageView.from_array(
        np.ascontiguousarray(np.asarray(encoded)[rows])
    )


def _words(alignment: list[dict], num_frames: int) -> tuple[Word, ...]:
    """faster-whisper's word alignment -> Words, the way its own word timestamps are
    made."""
    from faster_whisper.transcribe import merge_punctuations

    merge_punctuations(alignment, _PREPEND, _APPEND)
    limit = num_frames / FRAMES_PER_SECOND
    durations = [
        float(a["end"]) - float(a["start"]) for a in alignment if a["word"].strip()
    ]
    # like faster-whisper: a first word far longer than usual absorbed leading silence
    longest = 2 * min(0.7, float(np.median(durations))) if durations else 0.0
    if (
        alignment
        and longest > 0
        and alignment[0]["end"] - alignment[0]["start"] > longest
    ):
        alignment[0]["start"] = alignment[0]["end"] - longest
    words = []
    for item in alignment:
        text = item["word"].strip()
        if not text:
            continue
        start = round(min(float(item["start"]), limit), 3)
        end = round(min(max(float(item["end"]), start), limit), 3)
        words.append(Word(start, end, text, round(float(item["probability"]), 4)))
    return tuple(words)
