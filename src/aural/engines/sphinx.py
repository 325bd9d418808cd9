"""CMU PocketSphinx: the classic HMM-GMM acoustic model + 3-gram LM baseline (en-us)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from aural.audio.vad import speech_regions
from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.options import DecodeOptions
from aural.engines.base import Engine
from aural.errors import ConfigError, ModelNotFoundError
from aural.types import Segment, Transcript, TranscriptionInfo, Word

logger = logging.getLogger(__name__)

FRAMES_PER_SECOND = 100  # PocketSphinx's default 10 ms frame shift
MAX_UTTERANCE_S = 30.0  # VAD regions are split to at most this length
_FILLERS = ("<s>", "</s>", "<sil>")


def _default_model_dir() -> Path:
    import pocketsphinx

    return Path(pocketsphinx.get_model_path()) / "en-us"


def pcm16(samples: np.ndarray) -> bytes:
    """float32 [-1, 1] -> little-endian 16-bit PCM bytes (what PocketSphinx consumes)."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


class SphinxEngine(Engine):
    """PocketSphinx with its bundled US English model, dictionary and 3-gram LM.

    Args:
        model: None or ``en-us`` for the bundled model, or a folder holding an acoustic
            model (``mdef`` inside) with ``*.lm.bin`` / ``*.dict`` beside or inside it.
    """

    name = "sphinx"

    def __init__(self, model: str | None = None, **settings: Any) -> None:
        if settings:
            raise ConfigError(f"sphinx engine takes no settings, got {sorted(settings)}")
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
                f"{model}: not a PocketSphinx acoustic model folder (no mdef); use the "
                "bundled model (--model en-us) or a folder from the CMU Sphinx downloads"
            )
        lm = next(iter(sorted(hmm.parent.glob("*.lm.bin")) + sorted(hmm.glob("*.lm.bin"))), None)
        dic = next(iter(sorted(hmm.parent.glob("*.dict")) + sorted(hmm.glob("*.dict"))), None)
        cfg: dict[str, Any] = {"hmm": str(hmm), "samprate": SAMPLE_RATE, "loglevel": "FATAL"}
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

    def _decode(self, samples: np.ndarray, offset: float) -> Segment | None:
        d = self._decoder
        d.start_utt()
        d.process_raw(pcm16(samples), no_search=False, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        if hyp is None or not hyp.hypstr.strip():
            return None
        words = []
        for seg in d.seg():
            w = seg.word
            if w in _FILLERS or w.startswith("[") or w.startswith("++"):
                continue
            w = w.split("(")[0]  # "word(2)" = alternative pronunciation
            start = offset + seg.start_frame / FRAMES_PER_SECOND
            end = offset + (seg.end_frame + 1) / FRAMES_PER_SECOND
            prob = d.logmath.exp(seg.prob) if hasattr(d, "logmath") else 1.0
            words.append(Word(round(start, 3), round(end, 3), w, round(float(prob), 4)))
        if not words:
            return None
        text = " ".join(w.text for w in words)
        n_frames = max(1, d.n_frames())
        return Segment(
            start=words[0].start,
            end=words[-1].end,
            text=text,
            words=tuple(words),
            avg_log_prob=float(hyp.score) / n_frames / 1000.0 if hyp.score else None,
        )

    def transcribe(self, waveform: Waveform, options: DecodeOptions | None = None) -> Transcript:
        options = options or DecodeOptions()
        waveform = self.check_waveform(waveform)
        if options.hotwords:
            raise ConfigError(
                "the sphinx engine does not support hotwords; use --engine whisper or ctc"
            )
        if options.language not in (None, "en"):
            raise ConfigError(
                f"the sphinx en-us model is English-only; got language={options.language!r}"
            )
        if options.vad:
            regions = speech_regions(waveform, options.vad_options, max_speech_s=MAX_UTTERANCE_S)
        else:
            regions = [
                (t, min(waveform.duration, t + MAX_UTTERANCE_S))
                for t in np.arange(0.0, waveform.duration, MAX_UTTERANCE_S)
            ]
        segments = []
        for start, end in regions:
            seg = self._decode(waveform.slice(start, end).samples, start)
            if seg is not None:
                segments.append(seg)
        info = TranscriptionInfo(
            language="en",
            language_probability=None,
            duration=waveform.duration,
            engine=self.name,
            model=self.model_id,
            options=options.to_dict(),
        )
        return Transcript(tuple(segments), info)

