"""The engine interface and registry.

An engine adapts one runtime (CTranslate2, PocketSphinx, torch, ONNX) to one protocol:
``transcribe``, ``transcribe_batch`` and ``stream``. Engines are registered by name and
created with :func:`create_engine`, so later engines plug in without touching callers.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from aural.audio.level import condition
from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.options import DecodeOptions
from aural.errors import ConfigError, EngineNotFoundError
from aural.types import Transcript

if TYPE_CHECKING:
    from aural.streaming.session import StreamingSession

EngineFactory = Callable[..., "Engine"]
_REGISTRY: dict[str, tuple[str, str]] = {}  # name -> (module, factory attribute), lazy
_LOADED: dict[str, EngineFactory] = {}


class Engine(abc.ABC):
    """A loaded speech recogniser.

    Attributes:
        name: the registry name (``whisper``, ``sphinx``, ...).
        model_id: what the model resolved to (alias or path), recorded in results.
        sample_rate: the rate the engine consumes; inputs are resampled to it.
    """

    name: str = ""
    model_id: str = ""
    sample_rate: int = SAMPLE_RATE
    #: True when the engine can honour DecodeOptions.hotwords
    supports_hotwords: bool = False
    #: decodes one instance runs at the same time (its transcribe_batch spreads work over
    #: them, and its transcribe may be called from that many threads at once)
    concurrency: int = 1
    #: called as ``progress(seconds_done, seconds_total)`` while one long call runs (from
    #: worker threads), by engines that can tell; set by single-user callers such as the CLI
    progress: Callable[[float, float], None] | None = None

    @abc.abstractmethod
    def transcribe(self, waveform: Waveform, options: DecodeOptions | None = None) -> Transcript:
        """Transcribe one waveform (mono, at :attr:`sample_rate`)."""

    def check_options(self, options: DecodeOptions) -> None:
        """Raise :class:`ConfigError` for options this engine cannot honour, so that a
        caller can refuse them before decoding any audio (engines add their own checks)."""
        if options.hotwords and not self.supports_hotwords:
            raise ConfigError(f"the {self.name} engine does not support hotwords")

    def transcribe_batch(
        self, waveforms: Sequence[Waveform], options: DecodeOptions | None = None
    ) -> list[Transcript]:
        """Transcribe many waveforms; engines override this to batch for throughput."""
        return [self.transcribe(w, options) for w in waveforms]

    def stream(
        self,
        options: DecodeOptions | None = None,
        *,
        sample_rate: int = SAMPLE_RATE,
        encoding: str = "pcm_s16le",
    ) -> StreamingSession:
        """Open a streaming session fed with PCM chunks (see :mod:`aural.streaming`).

        Args:
            options: decoding options (None = defaults).
            sample_rate: rate of the PCM the caller will feed (Hz).
            encoding: ``pcm_s16le`` or ``pcm_f32le`` for bytes chunks.
        """
        from aural.streaming import open_session  # late: streaming builds on engines

        return open_session(
            self, options or DecodeOptions(), sample_rate=sample_rate, encoding=encoding
        )

    def check_waveform(self, waveform: Waveform) -> Waveform:
        """Raise unless ``waveform`` is mono at the engine's rate; return it conditioned.

        Ordinary audio comes back as it is. Non-finite samples, a DC offset, float samples
        beyond full scale and very quiet recordings are fixed first
        (:func:`aural.audio.level.condition`).
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
        return waveform if samples is waveform.samples else Waveform(samples, waveform.sample_rate)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release native resources (optional)."""


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
    threadpool_limits(int(value) if value.isdigit() and int(value) > 0 else 1, user_api="blas")


def register_engine(name: str, module: str, factory: str) -> None:
    """Register ``module:factory`` under ``name``; the module is imported on first use."""
    _REGISTRY[name] = (module, factory)


def available_engines() -> list[str]:
    return sorted(_REGISTRY)


def create_engine(name: str, model: str | None = None, **settings: Any) -> Engine:
    """Create the engine registered as ``name`` with ``model`` (None = its default).

    Raises:
        EngineNotFoundError: no engine has that name.
        ModelNotFoundError: the model cannot be found on this machine.
        MissingDependencyError: the engine's optional dependency is not installed.
    """
    if name not in _REGISTRY:
        raise EngineNotFoundError(
            f"unknown engine {name!r}; available engines: {', '.join(available_engines())}"
        )
    if name not in _LOADED:
        import importlib

        module, attr = _REGISTRY[name]
        _LOADED[name] = getattr(importlib.import_module(module), attr)
    return _LOADED[name](model, **settings)


# Built-in engines. Later waves add their own line here.
register_engine("whisper", "aural.engines.whisper", "WhisperEngine")
register_engine("sphinx", "aural.engines.sphinx", "SphinxEngine")
register_engine("ctc", "aural.engines.ctc", "CtcEngine")
register_engine("aural", "aural.engines.aural_model", "AuralModelEngine")
