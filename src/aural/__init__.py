"""aural: automatic speech recognition you can transcribe, evaluate, train and serve
with.

Example:
    >>> import aural
    >>> transcript = aural.transcribe("talk.mp3")
    >>> print(transcript.text)
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "transcribe",
    "Recognizer",
    "load_audio",
    "DecodeOptions",
    "Waveform",
    "Transcript",
    "Segment",
    "Word",
    "TranscriptionInfo",
    "Segments",
    "EngineCapabilities",
]

_LAZY = {
    "transcribe": ("aural.recognizer", "transcribe"),
    "Recognizer": ("aural.recognizer", "Recognizer"),
    "load_audio": ("aural.audio.load", "load"),
    "DecodeOptions": ("aural.decoding.options", "DecodeOptions"),
    "Waveform": ("aural.audio.waveform", "Waveform"),
    "Transcript": ("aural.types", "Transcript"),
    "Segment": ("aural.types", "Segment"),
    "Word": ("aural.types", "Word"),
    "TranscriptionInfo": ("aural.types", "TranscriptionInfo"),
    "Segments": ("aural.engines.base", "Segments"),
    "EngineCapabilities": ("aural.engines.base", "EngineCapabilities"),
}


def __getattr__(name: str) -> Any:
    # Lazy so that `import aural.text` does not pay for faster-whisper / CTranslate2.
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'aural' has no attribute {name!r}")
