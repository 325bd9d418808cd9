"""The front end: :class:`Recognizer` keeps an engine loaded; :func:`transcribe` is one-off."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aural.audio.load import AudioSource, load
from aural.audio.waveform import Waveform
from aural.decoding.options import DecodeOptions
from aural.engines.base import Engine, create_engine
from aural.types import Transcript


class Recognizer:
    """A loaded engine plus default options.

    Args:
        engine: registered engine name (``whisper``, ``sphinx``, ``ctc``, ``aural``).
        model: model name or path for that engine (None = the engine's default).
        options: default :class:`DecodeOptions` for every call.
        **settings: engine settings (e.g. ``compute_type="int8"``, ``cpu_threads=2``).

    Example:
        >>> rec = Recognizer()
        >>> rec.transcribe("talk.mp3").text
    """

    def __init__(
        self,
        engine: str = "whisper",
        model: str | None = None,
        options: DecodeOptions | None = None,
        **settings: Any,
    ) -> None:
        self.engine: Engine = create_engine(engine, model, **settings)
        self.options = options or DecodeOptions()

    def load(self, source: AudioSource, **raw: Any) -> Waveform:
        """Decode ``source`` at the engine's rate (``raw_sample_rate=`` etc. for raw PCM)."""
        return load(source, self.engine.sample_rate, **raw)

    def transcribe(
        self, source: AudioSource, options: DecodeOptions | None = None, **raw: Any
    ) -> Transcript:
        """Transcribe one input (path, bytes, file-like or :class:`Waveform`)."""
        return self.engine.transcribe(self.load(source, **raw), options or self.options)

    def transcribe_batch(
        self, sources: Sequence[AudioSource], options: DecodeOptions | None = None
    ) -> list[Transcript]:
        """Transcribe several inputs together (short ones share batched decoder calls)."""
        waveforms = [self.load(s) for s in sources]
        return self.engine.transcribe_batch(waveforms, options or self.options)

    def stream(self, options: DecodeOptions | None = None, **kw: Any) -> Any:
        """A streaming session (see :meth:`aural.engines.Engine.stream`)."""
        return self.engine.stream(options or self.options, **kw)

    def close(self) -> None:
        self.engine.close()


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
    return Recognizer(engine, model, options).transcribe(source)
