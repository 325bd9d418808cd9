"""Evaluation: WER/CER metrics, the multi-engine runner, noise robustness and reports.

Example:
    >>> from aural.data import load_dataset
    >>> from aural.evaluation import EvalOptions, evaluate, write_report
    >>> results = evaluate(load_dataset("LibriSpeech/dev-clean"), [("whisper", None)],
    ...                    EvalOptions(), cache_dir=Path("out"))
    >>> write_report(results, Path("out"))
"""

from typing import Any

from aural.evaluation.metrics import (
    EditAlignment,
    ErrorCounts,
    align_words,
    bootstrap_ci,
    calibration,
    corpus_cer,
    corpus_wer,
    hyp_word_correctness,
    oov_stats,
    top_confusions,
)

# The runner, reports and noise mixing pull in engines, scipy and matplotlib; they load
# on first use so that `aural.evaluation.metrics` stays a light import (training uses
# it).
_LAZY_MODULES = {
    "aural.evaluation.report": (
        "ConditionSummary",
        "EngineResults",
        "UtteranceResult",
        "results_to_dict",
        "score_engine",
        "write_report",
    ),
    "aural.evaluation.robustness": ("Degrader", "parse_snrs"),
    "aural.evaluation.runner": (
        "EvalOptions",
        "EvalProgress",
        "EvalResults",
        "EvalTiming",
        "UtteranceHypothesis",
        "HypothesisCache",
        "evaluate",
    ),
}
_LAZY = {name: module for module, names in _LAZY_MODULES.items() for name in names}


# renamed in issue 17 (aural.align.Alignment and aural.decoding.ctc.Hypothesis are other
# things); the old names stay for a release
_RENAMED = {"Alignment": "EditAlignment", "Hypothesis": "UtteranceHypothesis"}


def __getattr__(name: str) -> Any:
    if name in _RENAMED:
        import warnings

        warnings.warn(
            f"aural.evaluation.{name} is deprecated; use {_RENAMED[name]}",
            DeprecationWarning,
            stacklevel=2,
        )
        return (
            __getattr__(_RENAMED[name])
            if _RENAMED[name] in _LAZY
            else globals()[_RENAMED[name]]
        )
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'aural.evaluation' has no attribute {name!r}")


__all__ = [
    "EditAlignment",
    "ErrorCounts",
    "align_words",
    "bootstrap_ci",
    "calibration",
    "corpus_cer",
    "corpus_wer",
    "hyp_word_correctness",
    "oov_stats",
    "top_confusions",
]
__all__ += list(_LAZY)  # the lazy names, listed once above
