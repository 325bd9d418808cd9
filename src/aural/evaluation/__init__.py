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
    Alignment,
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

# The runner, reports and noise mixing pull in engines, scipy and matplotlib; they load on
# first use so that `aural.evaluation.metrics` stays a light import (training uses it).
_LAZY = {
    "ConditionSummary": "aural.evaluation.report",
    "EngineResults": "aural.evaluation.report",
    "UtteranceResult": "aural.evaluation.report",
    "results_to_dict": "aural.evaluation.report",
    "score_engine": "aural.evaluation.report",
    "write_report": "aural.evaluation.report",
    "Degrader": "aural.evaluation.robustness",
    "parse_snrs": "aural.evaluation.robustness",
    "EvalOptions": "aural.evaluation.runner",
    "EvalProgress": "aural.evaluation.runner",
    "EvalResults": "aural.evaluation.runner",
    "EvalTiming": "aural.evaluation.runner",
    "Hypothesis": "aural.evaluation.runner",
    "HypothesisCache": "aural.evaluation.runner",
    "evaluate": "aural.evaluation.runner",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'aural.evaluation' has no attribute {name!r}")


__all__ = [
    "Alignment",
    "ConditionSummary",
    "Degrader",
    "EngineResults",
    "ErrorCounts",
    "EvalOptions",
    "EvalProgress",
    "EvalResults",
    "EvalTiming",
    "Hypothesis",
    "HypothesisCache",
    "UtteranceResult",
    "align_words",
    "bootstrap_ci",
    "calibration",
    "corpus_cer",
    "corpus_wer",
    "evaluate",
    "hyp_word_correctness",
    "oov_stats",
    "parse_snrs",
    "results_to_dict",
    "score_engine",
    "top_confusions",
    "write_report",
]
