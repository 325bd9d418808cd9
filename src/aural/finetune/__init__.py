"""Adapting pretrained models to your data: ``aural finetune`` and ``aural distill``.

* :mod:`.config`: the typed recipe (:class:`FinetuneConfig`, YAML in ``recipes/``).
* :mod:`.loop`: the shared loop (batches, accumulation, AMP, exact resume, best by dev
  WER, early stopping, MLflow) and :func:`run_finetune`.
* :mod:`.whisper`: Whisper, full or LoRA, exported to CTranslate2.
* :mod:`.ctc`: Hugging Face CTC models (wav2vec2 and relatives).
* :mod:`.distill`: a teacher labels audio, a smaller Whisper learns (``aural
  distill``).
* :mod:`.channel`: the telephone channel (8 kHz band, GSM or mu-law codec).

Needs torch and transformers (and peft for LoRA): the ``finetune`` extra.
"""

from typing import Any

_LAZY = {
    "FinetuneConfig": "config",
    "load_finetune_config": "config",
    "parse_finetune_config": "config",
    "FinetuneResult": "loop",
    "run_finetune": "loop",
    "telephone": "channel",
    "DistillConfig": "distill",
    "DistillResult": "distill",
    "load_distill_config": "distill",
    "run_distill": "distill",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = sorted(_LAZY)
