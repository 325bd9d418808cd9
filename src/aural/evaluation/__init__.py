"""Evaluation: WER/CER metrics, the multi-engine runner, noise robustness and reports.

Example:
    >>> from aural.data import load_dataset
    >>> from aural.evaluation import EvalOptions, evaluate, write_report
    >>> results = evaluate(load_dataset("LibriSpeech/dev-clean"), [("whisper", None)],
    ...                    EvalOptions(), cache_dir=Path("out"))
    >>> write_report(results, Path("out"))
"""

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
from aural.evaluation.report import (
    ConditionSummary,
    EngineResults,
    UtteranceResult,
    results_to_dict,
    score_engine,
    write_report,
)
from aural.evaluation.robustness import Degrader, parse_snrs
from aural.evaluation.runner import (
    EvalOptions,
    EvalProgress,
    EvalResults,
    EvalTiming,
    Hypothesis,
    HypothesisCache,
    evaluate,
)

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
