"""Classic acoustic-model baselines: a GMM-HMM isolated-word recogniser and a DNN phone
classifier.

- :mod:`aural.baselines.gmm_hmm`: one left-to-right GMM-HMM per word (hmmlearn),
  evaluated speaker-independently on the Free Spoken Digit recordings.
- :mod:`aural.baselines.phone_alignment`: phone-level forced alignment with
  PocketSphinx, cached per utterance, giving frame labels.
- :mod:`aural.baselines.dnn`: a frame-level phone classifier (MLP over spliced MFCC +
  deltas) trained on those alignments.
- :mod:`aural.baselines.reports`: results.json, report.md and confusion-matrix plots.

Imports of hmmlearn and torch are deferred to the functions that need them.
"""

from aural.baselines.features import (
    digit_feature_options,
    mfcc_with_deltas,
    speech_feature_options,
    splice_frames,
)

__all__ = [
    "digit_feature_options",
    "mfcc_with_deltas",
    "speech_feature_options",
    "splice_frames",
]
