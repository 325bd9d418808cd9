"""Native streaming for chunk-causal Conformer-transducers (aural models trained with
``model.chunk_size`` > 0).

No re-decoding: audio becomes feature frames as soon as their window is complete,
every ``chunk_size`` encoder frames go through the encoder once with the cached left
context of each block (:meth:`aural.models.conformer.ConformerEncoder.stream_chunk`),
and the transducer search (:class:`aural.decoding.transducer.TransducerSearch`) takes
each new frame. So the compute per second of audio is constant, and the encoder output
of a stream equals the offline chunk-causal encoder's on the same audio.

* Partials: the best hypothesis after each chunk, when its text changed. With greedy
  search (beam 1) a partial only ever grows.
* Endpoints (the rule streaming transducers use, as in sherpa/icefall): once the
  utterance has text and no token was emitted for ``endpoint_silence_s``, its best
  hypothesis becomes a :class:`~aural.types.Final` and the encoder and search start
  afresh on the audio after it. A Final never changes. An utterance that has been
  silent (no text) for :data:`IDLE_RESET_S` is reset without a Final, and one longer
  than :data:`MAX_UTTERANCE_S` is finalised where it is, so the state stays bounded.
* At :meth:`finish` the last, partial chunk is encoded and the rest finalised.

Latency: a word can appear once the chunk holding its last frame is complete, i.e.
after at most ``chunk_size`` encoder frames plus the feature window (for a 40 ms frame
and ``chunk_size: 8``, 0.32 s + 0.015 s), plus the compute.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from aural.audio.features import FeatureOptions, extract
from aural.audio.waveform import SAMPLE_RATE
from aural.decoding.ctc import Hypothesis
from aural.decoding.options import DecodeOptions
from aural.decoding.transducer import (
    TransducerBeamSearch,
    TransducerGreedyDecoder,
    TransducerSearch,
)
from aural.errors import ConfigError
from aural.models.conformer import StreamState, subsampled_lengths
from aural.models.transducer import ConformerTransducer, TransducerScorer
from aural.streaming.session import StreamingSession
from aural.types import Final, Partial, Segment, StreamEvent

__all__ = ["IDLE_RESET_S", "MAX_UTTERANCE_S", "TransducerSession"]

IDLE_RESET_S = 5.0  # an utterance with no text after this long restarts (bounded state)
MAX_UTTERANCE_S = 30.0  # an utterance this long is finalised where it is


class TransducerSession(StreamingSession):
    """Frame-by-frame streaming with a chunk-causal transducer.

    Args:
        model: the transducer (eval mode, ``options.encoder.chunk_size > 0``).
        features: how its input features are computed (fbank or MFCC, no deltas, no
            utterance CMVN, at 16 kHz).
        decoder: the search (greedy or modified beam search, with LM / hotwords).
        options: decoding options, already checked by the engine.
        **session: ``sample_rate``, ``encoding``, ``streaming``, ``clock`` of
            :class:`StreamingSession`.

    Raises:
        ConfigError: the model or its features cannot stream.
    """

    def __init__(
        self,
        model: ConformerTransducer,
        features: FeatureOptions,
        decoder: TransducerGreedyDecoder | TransducerBeamSearch,
        options: DecodeOptions,
        **session: Any,
    ) -> None:
        super().__init__(options, **session)
        enc = model.options.encoder
        if enc.chunk_size <= 0:
            raise ConfigError(
                "native transducer streaming needs a chunk-causal model "
                "(model.chunk_size > 0 in its recipe)"
            )
        if (
            features.kind == "whisper"
            or features.deltas
            or features.cmvn == "utterance"
            or features.sample_rate != SAMPLE_RATE
        ):
            raise ConfigError(
                "native transducer streaming needs causal 16 kHz fbank/MFCC features "
                "(no deltas, no utterance CMVN)"
            )
        self._model = model
        self._features = features
        self._decoder = decoder
        self._scorer = TransducerScorer(model)
        self._chunk = enc.chunk_size
        self._factor = enc.subsampling
        self._hop = features.hop_length
        self._half_window = features.n_fft // 2
        self.frame_duration = self._factor * self._hop / SAMPLE_RATE
        self._device = next(model.parameters()).device
        self._shown = ""
        self._reset(0)

    # -- utterance state -------------------------------------------------------------
    def _reset(self, start_sample: int) -> None:
        """Start a new utterance at stream sample ``start_sample``."""
        self._utt_start = start_sample
        self._audio = np.zeros(0, dtype=np.float32)
        self._encoded = 0  # encoder frames of this utterance already searched
        self._state: StreamState | None = None
        self._search: TransducerSearch = self._decoder.begin(self._scorer)
        self._shown = ""

    @property
    def _utt_start_s(self) -> float:
        return self._utt_start / SAMPLE_RATE

    def _feature_frames(self, final: bool) -> torch.Tensor:
        """Feature frames of the utterance audio ``(1, n, num_features)``: those whose
        window is complete (all of them when ``final``)."""
        audio = torch.from_numpy(self._audio)[None]
        with torch.inference_mode():
            feats, lengths = extract(
                audio, torch.tensor([audio.shape[1]]), self._features
            )
        n = int(lengths[0])
        if not final:  # a frame is final once its window lies inside the audio
            n = min(n, max(0, (audio.shape[1] - self._half_window) // self._hop + 1))
        return feats[:, :n].to(self._device)

    def _encode(self, final: bool) -> bool:
        """Encode and search every complete chunk (and, when ``final``, the rest);
        True when frames were added."""
        if self._audio.size < self._half_window:
            return False
        feats = self._feature_frames(final)
        available = int(subsampled_lengths(torch.tensor(feats.shape[1]), self._factor))
        added = False
        with torch.inference_mode():
            while True:
                end = self._encoded + self._chunk
                if end > available:
                    if not final or self._encoded >= available:
                        break
                    end = available
                enc, self._state = self._model.stream_encode(
                    feats, self._encoded, end, self._state
                )
                self._search.advance(enc[0])
                self._encoded = end
                added = True
        return added

    # -- session hooks -----------------------------------------------------------------
    def _process(self, samples: np.ndarray) -> list[StreamEvent]:
        self._audio = np.concatenate([self._audio, samples.astype(np.float32)])
        if not self._encode(final=False):
            return []
        return self._after_chunks()

    def _flush(self) -> list[StreamEvent]:
        self._encode(final=True)
        return self._finalise(self._best())

    # -- events ------------------------------------------------------------------------
    def _best(self) -> Hypothesis:
        self.partial_decodes += 1
        return self._search.hypotheses(1)[0]

    def _after_chunks(self) -> list[StreamEvent]:
        hyp = self._best()
        frames = self._search.num_frames
        utt_s = frames * self.frame_duration
        silent_s = (
            frames - (hyp.token_spans[-1].end_frame if hyp.token_spans else 0)
        ) * self.frame_duration
        if hyp.text and (
            silent_s >= self.streaming.endpoint_silence_s or utt_s >= MAX_UTTERANCE_S
        ):
            return self._finalise(hyp)
        if not hyp.text and utt_s >= IDLE_RESET_S:
            self._restart()
            return []
        if self.streaming.partials and hyp.text and hyp.text != self._shown:
            self._shown = hyp.text
            end = self._utt_start_s + utt_s
            return [Partial(hyp.text, round(self._utt_start_s, 3), round(end, 3))]
        return []

    def _consumed(self) -> int:
        """Utterance samples behind the encoder frames searched so far."""
        return min(self._audio.size, self._encoded * self._factor * self._hop)

    def _restart(self) -> None:
        """A new utterance from the first audio sample not yet encoded."""
        consumed = self._consumed()
        tail = self._audio[consumed:].copy()
        self._reset(self._utt_start + consumed)
        self._audio = tail

    def _finalise(self, hyp: Hypothesis) -> list[StreamEvent]:
        events: list[StreamEvent] = []
        offset = self._utt_start_s
        if hyp.text:
            self.final_decodes += 1
            fd = self.frame_duration
            spans = hyp.word_spans
            start = spans[0].start(fd, offset) if spans else offset
            end = spans[-1].end(fd, offset) if spans else self.time
            words = hyp.to_words(fd, offset) if self.options.word_timestamps else ()
            frames = max(1, self._search.num_frames)
            events.append(
                Final(
                    Segment(
                        round(start, 3),
                        round(end, 3),
                        hyp.text,
                        words,
                        avg_log_prob=hyp.acoustic_score / frames,
                    )
                )
            )
        elif self._shown:
            events.append(Partial("", round(offset, 3), round(self.time, 3)))
        self._restart()
        return events
