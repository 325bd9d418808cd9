"""Whisper on faster-whisper / CTranslate2, in one place.

* :mod:`.engine`: :class:`WhisperEngine` and its settings type :class:`WhisperSettings`.
* :mod:`.longform`: long-form decoding as named steps (plan chunks, decode, judge,
  stitch) over small frozen types.
* :mod:`.window`: decodes of short windows with the encoder run on their frames only.
* :mod:`.language`: language identification on trimmed windows: allow-lists, the vote
  through long inputs, per-chunk languages with hysteresis (code-switching).
* :mod:`.models`: model resolution (alias -> registry package -> folder -> hub).
* :mod:`.encoder`: the pretrained encoder as a training feature front-end.
* :mod:`.limits`: Whisper's 30 s window and the quality thresholds.
* :mod:`.convert`: CTranslate2 <-> Hugging Face (PyTorch) Whisper conversion.
* :mod:`.torch_decoder`: a Whisper decoder aural steps itself (hotword fusion).
* :mod:`.attention`: cross-attention maps and word alignment on the PyTorch model.

The PyTorch parts need torch and transformers (the ``whisper-torch`` extra); they are
imported on first use.
"""

from typing import Any

from aural.engines.whisper.engine import (
    WhisperEngine,
    WhisperSettings,
    parallel_settings,
)
from aural.engines.whisper.limits import WINDOW_S
from aural.engines.whisper.longform import MIN_AUDIO_S, PIECE_S
from aural.engines.whisper.models import (
    DEFAULT_MODEL,
    list_models,
    resolve_whisper_model,
)


def feature_frontend(encoder: str, device: str = "cpu") -> Any:
    """The encoder of Whisper ``encoder`` as a training feature front-end (loaded once;
    importing it registers ``FeatureOptions(kind="whisper")``). Needs torch."""
    from aural.engines.whisper.encoder import frontend

    return frontend(encoder, device)


# name -> module of the parts that need torch (imported on first use)
_LAZY = {
    "convert_model": "convert",
    "torch_whisper": "convert",
    "AttentionMap": "attention",
    "attention_map": "attention",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = [
    "AttentionMap",
    "attention_map",
    "convert_model",
    "torch_whisper",
    "DEFAULT_MODEL",
    "MIN_AUDIO_S",
    "PIECE_S",
    "WINDOW_S",
    "WhisperEngine",
    "WhisperSettings",
    "feature_frontend",
    "list_models",
    "parallel_settings",
    "resolve_whisper_model",
]
