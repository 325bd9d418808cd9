"""CMU PocketSphinx: the classic HMM-GMM acoustic model + 3-gram LM baseline (en-us)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from aural.audio.vad import speech_regions
from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.options import DecodeOptions
from aural.engines.base import Engine, EngineCapabilities, NoSettings, Segments
from aural.errors import ModelNotFoundError
from aural.streaming.pcm import to_pcm16
from aural.types import Segment, Word

if TYPE_CHECKING:
    from aural.streaming.session import StreamingSession

logger = logging.getLogger(__name__)

FRAMES_PER_SECOND = 100  # PocketSphinx's default 10 ms frame shift
MAX_UTTERANCE_S = 30.0  # VAD regions are split to at most this length
_FILLERS = ("<s>", "</s>", "<sil>")


def _default_model_dir() -> Path:
    import pocketsphinx

    return Path(pocketsphinx.get_model_path()) / "en-us"


def decoder_segment(
    decoder: Any, offset: float, *, floor: float = 0.0, limit: float = float("inf")
) -> Segment | None:
    """The words of a PocketSphinx decoder's last utterance as one Segment (None when it
    holds no word): fillers dropped, alternative pronunciations (``word(2)``) named as
    the word, times ``offset`` + frames, kept monotonic within ``[floor, limit]``."""
    hyp = decoder.hyp()
    if hyp is None or not hyp.hypstr.strip():
        return None
    words: list[Word] = []
    last = floor
    for seg in decoder.seg():
        token = seg.word
        if token in _FILLERS or token.startswith(("[", "++")):
            continue
        start = max(last, min(limit, offset + seg.start_frame / FRAMES_PER_SECOND))
        end = max(start, min(limit, offset + (seg.end_frame + 1) / FRAMES_PER_SECOND))
        prob = float(decoder.logmath.exp(seg.prob))
        words.append(
            Word(
                round(start, 3),
                round(end, 3),
                token.split("(")[0],
                round(min(1.0, prob), 4),
            )
        )
        last = end
    if not words:
        return None
    num_frames = max(1, decoder.n_frames())
    return Segment(
        start=words[0].start,
        end=words[-1].end,
        text=" ".join(w.text for w in words),
        words=tuple(words),
        avg_log_prob=float(hyp.score) / num_frames / 1000.0 if hyp.score else None,
    )


class SphinxEngine(Engine):
    """PocketSphinx with its bundled US English model, dictionary and 3-gram LM.

    Args:
        model: None or ``en-us`` for the bundled model, or a folder holding an acoustic
            model (``mdef`` inside) with ``*.lm.bin`` / ``*.dict`` beside or inside it.
    """

    name = "sphinx"
    # English only, no hotwords, prompt or sampling (the defaults); a decoder per thread
    capabilities = EngineCapabilities(
        streaming="native", thread_safe=True, reports_progress=True
    )

    def __init__(
        self, model: str | None = None, settings: NoSettings | None = None
    ) -> None:
        import pocketsphinx

        self._ps = pocketsphinx
        self.model_id = model or "en-us"
        self._config = self._build_config(model)
        self._local = threading.local()  # a Decoder is not thread-safe: one per thread
        self.new_decoder()  # fail now, not on the first request, if the model is bad

    def _build_config(self, model: str | None) -> dict[str, Any]:
        if model in (None, "en-us", "default"):
            return {"samprate": SAMPLE_RATE, "loglevel": "FATAL"}
        hmm = Path(model).expanduser()
        if not (hmm / "mdef").is_file():
            raise ModelNotFoundError(
                f"{model}: not a PocketSphinx acoustic model folder (no mdef); use "
                "the bundled model (model='en-us') or a folder from the CMU Sphinx "
                "downloads",
                options=("model",),
            )
        lm = next(
            iter(sorted(hmm.parent.glob("*.lm.bin")) + sorted(hmm.glob("*.lm.bin"))),
            None,
        )
        dic = next(
            iter(sorted(hmm.parent.glob("*.dict")) + sorted(hmm.glob("*.dict"))), None
        )
        cfg: dict[str, Any] = {
            "hmm": str(hmm),
            "samprate": SAMPLE_RATE,
            "loglevel": "FATAL",
        }
        if lm:
            cfg["lm"] = str(lm)
        if dic:
            cfg["dict"] = str(dic)
        return cfg

    def new_decoder(self) -> Any:
        """A fresh ``pocketsphinx.Decoder`` with this engine's model (for streaming)."""
        return self._ps.Decoder(**self._config)

    @property
    def _decoder(self) -> Any:
        decoder = getattr(self._local, "decoder", None)
        if decoder is None:
            decoder = self._local.decoder = self.new_decoder()
        return decoder

    def _decode(
        self, samples: np.ndarray, offset: float, limit: float
    ) -> Segment | None:
        d = self._decoder
        d.start_utt()
        d.process_raw(to_pcm16(samples), no_search=False, full_utt=True)
        d.end_utt()
        return decoder_segment(d, offset, floor=offset, limit=limit)

    def decode(self, waveform: Waveform, options: DecodeOptions) -> Segments:
        info = self.info(waveform.duration, options, language="en")
        return Segments.lazy(info, lambda _: self._segments(waveform, options))

    def _segments(
        self, waveform: Waveform, options: DecodeOptions
    ) -> Iterator[Segment]:
        """One decode per VAD region (or per 30 s without VAD), in time order."""
        if options.vad:
            regions = speech_regions(
                waveform, options.vad_options, max_speech_s=MAX_UTTERANCE_S
            )
        else:
            regions = [
                (t, min(waveform.duration, t + MAX_UTTERANCE_S))
                for t in np.arange(0.0, waveform.duration, MAX_UTTERANCE_S)
            ]
        for start, end in regions:
            seg = self._decode(
                waveform.slice(start, end).samples, start, waveform.duration
            )
            if seg is not None:
                if not options.word_timestamps:
                    seg = Segment(seg.start, seg.end, seg.text, (), seg.avg_log_prob)
                yield seg

    def new_session(self, options: DecodeOptions, **session: Any) -> StreamingSession:
        """A native incremental session (:class:`.stream.SphinxSession`), with a
        decoder of its own."""
        from aural.engines.sphinx.stream import SphinxSession

        return SphinxSession(self.new_decoder(), options, **session)
