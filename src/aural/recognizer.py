"""The front end: :class:`Recognizer` keeps an engine loaded; :func:`transcribe` is
one-off."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from aural.audio.load import AudioSource, load
from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.options import DecodeOptions
from aural.engines.base import Engine, EngineSettings, Segments, create_engine
from aural.errors import AuralError, ConfigError, EngineNotFoundError
from aural.streaming.session import StreamingSession
from aural.types import Transcript

if TYPE_CHECKING:
    from aural.diarization import DiarizationOptions


def _check_options(
    options: object, default: DecodeOptions | None = None
) -> DecodeOptions:
    """``options`` as :class:`DecodeOptions` (None = ``default``), or a ConfigError."""
    if options is None:
        return default if default is not None else DecodeOptions()
    if isinstance(options, DecodeOptions):
        return options
    hint = "aural.DecodeOptions(beam_size=1, language='en', ...)"
    if isinstance(options, Mapping):
        fields = {f.name for f in dataclasses.fields(DecodeOptions)}
        unknown = sorted(str(k) for k in options if k not in fields)
        if unknown:
            hint = (
                f"aural.DecodeOptions(...); unknown key(s) {', '.join(unknown)} "
                f"(fields: {', '.join(sorted(fields))})"
            )
        else:
            hint = "aural.DecodeOptions(**options)"
    raise ConfigError(
        f"options must be a DecodeOptions, got {type(options).__name__}; pass {hint}"
    )


class Recognizer:
    """A loaded engine plus default options.

    Args:
        engine: registered engine name (``whisper``, ``sphinx``, ``ctc``, ``aural``).
        model: model name or path for that engine (None = the engine's default).
        options: default :class:`DecodeOptions` for every call.
        settings: the engine's settings type (e.g.
            ``aural.engines.whisper.WhisperSettings(cpu_threads=1)``).
        **values: settings by name instead (checked against the engine's settings type).

    Raises:
        EngineNotFoundError, ModelNotFoundError, MissingDependencyError, ConfigError
        (options that are not a :class:`DecodeOptions`, settings the engine does not
        take).

    Example:
        >>> rec = Recognizer()
        >>> rec.transcribe("talk.mp3").text
        >>> for seg in rec.iter_segments("lecture.mp3"):
        ...     print(seg.start, seg.text)
    """

    def __init__(
        self,
        engine: str = "whisper",
        model: str | os.PathLike[str] | None = None,
        options: DecodeOptions | None = None,
        settings: EngineSettings | None = None,
        **values: Any,
    ) -> None:
        if not isinstance(engine, str):
            raise EngineNotFoundError(
                f"engine must be a name like 'whisper', got {type(engine).__name__}"
            )
        if model is not None and not isinstance(model, (str, os.PathLike)):
            raise ConfigError(
                f"model must be a model name or a folder path (str), got "
                f"{type(model).__name__} {model!r}; e.g. model='tiny.en'"
            )
        self.options = _check_options(options)
        self.engine: Engine = create_engine(
            engine, None if model is None else os.fspath(model), settings, **values
        )
        self.engine.check_options(self.options)

    def load(
        self,
        source: AudioSource,
        *,
        raw_sample_rate: int | None = None,
        raw_encoding: str = "pcm_s16le",
        raw_channels: int = 1,
    ) -> Waveform:
        """Decode ``source`` at the engine's rate (``raw_*`` describe headerless
        PCM)."""
        return load(
            source,
            self.engine.sample_rate,
            raw_sample_rate=raw_sample_rate,
            raw_encoding=raw_encoding,
            raw_channels=raw_channels,
        )

    def iter_segments(
        self,
        source: AudioSource,
        options: DecodeOptions | None = None,
        *,
        raw_sample_rate: int | None = None,
        raw_encoding: str = "pcm_s16le",
        raw_channels: int = 1,
    ) -> Segments:
        """Segments of one input in time order, yielded as the engine decodes them.

        The options are checked and the audio is decoded now, so bad input fails at the
        call; recognition runs as the result is iterated, and on a long input the first
        segment arrives long before the last chunk is decoded. ``.info`` on the result
        is the :class:`TranscriptionInfo`; ``.seconds_done`` tells how far it has got.
        """
        opts = _check_options(options, self.options)
        self.engine.check_options(opts)
        wave = self.load(
            source,
            raw_sample_rate=raw_sample_rate,
            raw_encoding=raw_encoding,
            raw_channels=raw_channels,
        )
        return self.engine.iter_segments(wave, opts)

    def transcribe(
        self,
        source: AudioSource,
        options: DecodeOptions | None = None,
        *,
        raw_sample_rate: int | None = None,
        raw_encoding: str = "pcm_s16le",
        raw_channels: int = 1,
        diarize: bool | DiarizationOptions = False,
    ) -> Transcript:
        """Transcribe one input (path, bytes, file-like or :class:`Waveform`): all of
        :meth:`iter_segments`, collected.

        A bare numpy array is refused (it has no sample rate): wrap it as
        ``Waveform(samples, sample_rate=...)``.

        Args:
            diarize: label speakers too (``True`` or the
                :class:`~aural.diarization.DiarizationOptions` to use): words and
                segments get ``speaker`` (``S1``, ``S2``...) and segments are split
                where the speaker changes. Needs ``aural[diarize]``.
        """
        if diarize is False:
            return self.iter_segments(
                source,
                options,
                raw_sample_rate=raw_sample_rate,
                raw_encoding=raw_encoding,
                raw_channels=raw_channels,
            ).to_transcript()
        from aural.diarization import DiarizationOptions, Diarizer, assign_speakers

        opts = _check_options(options, self.options)
        if not opts.word_timestamps:  # speakers are given word by word
            opts = opts.with_(word_timestamps=True)
        wave = self.load(
            source,
            raw_sample_rate=raw_sample_rate,
            raw_encoding=raw_encoding,
            raw_channels=raw_channels,
        )
        transcript = self.iter_segments(wave, opts).to_transcript()
        settings = diarize if isinstance(diarize, DiarizationOptions) else None
        return assign_speakers(transcript, Diarizer(settings).diarize(wave))

    def transcribe_batch(
        self, sources: Sequence[AudioSource], options: DecodeOptions | None = None
    ) -> list[Transcript]:
        """Transcribe several inputs together (short ones share batched decoder calls).

        Every input is decoded before any recognition runs, so one bad input fails the
        whole call at once, with the loader's own error, annotated (``add_note``) with
        the input's position (``(input 2 of 3)``). An empty list gives ``[]``.
        """
        opts = _check_options(options, self.options)
        self.engine.check_options(opts)
        items = _batch_items(sources)
        waveforms = []
        for i, source in enumerate(items):
            try:
                waveforms.append(self.load(source))
            except AuralError as err:
                err.add_note(f"(input {i + 1} of {len(items)})")
                raise
        return self.engine.transcribe_batch(waveforms, opts) if waveforms else []

    def detect_language(
        self,
        source: AudioSource,
        options: DecodeOptions | None = None,
        *,
        languages: Sequence[str] | None = None,
        top_k: int | None = None,
        raw_sample_rate: int | None = None,
        raw_encoding: str = "pcm_s16le",
        raw_channels: int = 1,
    ) -> list[tuple[str, float]]:
        """Which language is spoken in ``source``: ``(language, probability)`` pairs,
        most probable first.

        ``Recognizer.detect_language(source, options=None, *, languages=None,
        top_k=None, raw_sample_rate=None, raw_encoding="pcm_s16le", raw_channels=1)
        -> list[tuple[str, float]]``

        Detection listens to the speech VAD finds (``options.vad``, on by default), so
        leading silence or noise does not decide it; a long input is judged by a vote
        of chunks spread through it. Nothing is transcribed.

        Args:
            source: path, bytes, file-like or :class:`Waveform`.
            options: decoding options (None = the recognizer's); ``vad``,
                ``vad_options`` and ``languages`` are used.
            languages: choose only among these ISO 639 codes (probabilities
                renormalised over them); None = ``options.languages``, or every
                language the model knows.
            top_k: return only the ``top_k`` most probable (None = all).
            raw_sample_rate, raw_encoding, raw_channels: describe headerless PCM.

        Returns:
            Ranked pairs whose probabilities sum to 1 over the candidates (before
            ``top_k``); ``[]`` when VAD finds no speech.

        Raises:
            ConfigError: the model cannot identify languages (an English-only model
                such as tiny.en), an unknown code in ``languages``, or a bad ``top_k``.
            AudioDecodeError, UnsupportedAudioError: the audio cannot be read.

        Example:
            >>> rec = Recognizer(model="base")
            >>> rec.detect_language("talk.mp3", top_k=3)
            [('de', 0.97), ('nl', 0.01), ('en', 0.01)]
            >>> rec.detect_language("talk.mp3", languages=["en", "fr"])
            [('en', 0.62), ('fr', 0.38)]
        """
        if top_k is not None and (
            isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1
        ):
            raise ConfigError(f"top_k must be an integer >= 1 or None, got {top_k!r}")
        if isinstance(languages, str):
            raise ConfigError(
                f"languages must be a list of codes like ['en', 'de'], got the string "
                f"{languages!r}"
            )
        self.engine.check_language_detection()
        opts = _check_options(options, self.options)
        opts = opts.with_(
            language=None,
            language_per_segment=False,
            languages=opts.languages if languages is None else tuple(languages),
        )
        self.engine.check_options(opts)
        wave = self.load(
            source,
            raw_sample_rate=raw_sample_rate,
            raw_encoding=raw_encoding,
            raw_channels=raw_channels,
        )
        ranked = list(self.engine.detect_language(wave, opts))
        return ranked if top_k is None else ranked[:top_k]

    def stream(
        self,
        options: DecodeOptions | None = None,
        *,
        sample_rate: int = SAMPLE_RATE,
        encoding: str = "pcm_s16le",
    ) -> StreamingSession:
        """A streaming session (see :meth:`aural.engines.base.Engine.stream`)."""
        opts = _check_options(options, self.options)
        return self.engine.stream(opts, sample_rate=sample_rate, encoding=encoding)

    def close(self) -> None:
        self.engine.close()


def _batch_items(sources: object) -> list[Any]:
    """``sources`` as a list, refusing one input or a non-iterable in place of a
    list."""
    if isinstance(sources, (str, bytes, bytearray, os.PathLike, Waveform)) or hasattr(
        sources, "read"
    ):
        raise ConfigError(
            "transcribe_batch takes a list of inputs, got one "
            f"{type(sources).__name__}; pass [source] or use transcribe(source)"
        )
    if not isinstance(sources, Iterable):
        raise ConfigError(
            f"transcribe_batch takes a list of inputs, got {type(sources).__name__}"
        )
    return list(sources)


def transcribe(
    source: AudioSource,
    *,
    engine: str = "whisper",
    model: str | None = None,
    options: DecodeOptions | None = None,
) -> Transcript:
    """Load an engine, transcribe one input and return the :class:`Transcript`.

    For more than one call keep a :class:`Recognizer` so the model loads once.
    """
    rec = Recognizer(engine, model, options)
    try:
        return rec.transcribe(source)
    finally:
        rec.close()
