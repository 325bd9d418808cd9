"""aural's own Conformer-CTC and Conformer-transducer checkpoints as an engine (torch
or ONNX Runtime).

``create_engine("aural", model="runs/x")`` accepts a run folder (its ``best/``), a
checkpoint folder, a ``model.pt`` file, or a folder written by ``aural export`` (ONNX).
Audio is cut into fixed windows (``window_seconds``), each decoded with greedy CTC
(``beam_size == 1``) or the CTC prefix beam search with hotword boosting and an optional
n-gram LM (settings ``lm``, ``lm_weight``), the same decoders as the ``ctc`` engine.
Transducer models decode with :mod:`aural.decoding.transducer` (greedy, or modified
beam search with the same LM fusion and hotwords); a chunk-causal transducer
(``chunk_size`` > 0) streams natively, frame by frame
(:class:`aural.streaming.transducer.TransducerSession`).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from aural.audio.features import FeatureOptions, extract
from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.ctc import CtcGreedyDecoder, CtcPrefixBeamSearch, ctc_decoder
from aural.decoding.lm import LanguageModel, engine_lm
from aural.decoding.options import DecodeOptions
from aural.decoding.transducer import (
    TransducerBeamSearch,
    TransducerGreedyDecoder,
    transducer_decoder,
)
from aural.engines.base import (
    BatchedEngine,
    EngineCapabilities,
    EngineSettings,
)
from aural.engines.whisper import encoder as _whisper_encoder  # noqa: F401 - feature kind
from aural.errors import ConfigError, MissingDependencyError, ModelNotFoundError
from aural.text.tokenizers import load_tokenizer
from aural.types import Segment, TranscriptionInfo

__all__ = [
    "FEATURES_FILE",
    "MODEL_OPTIONS_FILE",
    "AuralModelEngine",
    "AuralModelSettings",
]

if TYPE_CHECKING:
    from aural.streaming.session import StreamingSession

logger = logging.getLogger(__name__)

FEATURES_FILE = "features.json"
MODEL_OPTIONS_FILE = "model.json"  # beside an ONNX export: the model's shape options
Runtime = Literal["auto", "torch", "onnx"]


@dataclass(frozen=True, slots=True)
class AuralModelSettings(EngineSettings):
    """How the aural engine runs its checkpoint.

    Attributes:
        device: torch device (``cpu``, ``cuda``).
        runtime: ``auto``, ``torch`` or ``onnx``.
        onnx_file: ``model.onnx`` or ``model.int8.onnx`` inside an export folder.
        num_threads: ONNX Runtime threads (None = its default).
        window_seconds: longest stretch decoded at once.
        lm: word LM for the beam search (a path or name as for
            :func:`aural.decoding.lm.load_lm`, or a loaded LM).
        lm_vocabulary: for a KenLM binary: its ARPA file or a word list.
        lm_weight: LM weight (natural-log scores).
        word_insertion_bonus: per-word bonus (None = 1.0 with an LM).
        hotword_weight: default per-character hotword bonus.
    """

    device: str = "cpu"
    runtime: Runtime = "auto"
    onnx_file: str = "model.onnx"
    num_threads: int | None = None
    window_seconds: float = 20.0
    lm: str | os.PathLike[str] | LanguageModel | None = None
    lm_vocabulary: str | os.PathLike[str] | None = None
    lm_weight: float = 0.5
    word_insertion_bonus: float | None = None
    hotword_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.runtime not in ("auto", "torch", "onnx"):
            raise ConfigError(
                f"aural engine runtime must be auto, torch or onnx, "
                f"got {self.runtime!r}"
            )
        if not 1.0 <= float(self.window_seconds) <= 600.0:
            raise ConfigError(
                f"window_seconds must be in [1, 600], got {self.window_seconds}"
            )


class _TorchRunner:
    """A checkpoint in torch: CTC log-probabilities, or a transducer's projected
    encoder frames (with :attr:`scorer` for the search)."""

    def __init__(self, folder: Path, device: str) -> None:
        from aural.models.checkpoint import load_model
        from aural.models.transducer import ConformerTransducer, TransducerScorer

        loaded = load_model(folder, device=device)
        self.model = loaded.model
        self.device = torch.device(device)
        self.feature_options = loaded.feature_options
        self.transducer = isinstance(self.model, ConformerTransducer)
        self.scorer: Any = None
        if isinstance(self.model, ConformerTransducer):
            self.scorer = TransducerScorer(self.model)
            self.subsampling = self.model.options.encoder.subsampling
        else:
            self.subsampling = self.model.options.subsampling

    @torch.inference_mode()
    def __call__(
        self, feats: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[Any, np.ndarray]:
        feats, lengths = feats.to(self.device), lengths.to(self.device)
        if self.transducer:
            enc, out = self.model.encode(feats, lengths)  # type: ignore[operator]
            return enc, out.cpu().numpy()
        log_probs, out = self.model(feats, lengths)
        return log_probs.float().cpu().numpy(), out.cpu().numpy()


class _OnnxScorer:
    """A transducer's predictor and joiner under ONNX Runtime (numpy frames)."""

    def __init__(self, predictor: Any, joiner: Any, options: dict[str, Any]) -> None:
        self.predictor = predictor
        self.joiner = joiner
        self.blank = 0
        self.context_size = int(options["context_size"])
        self.vocab_size = int(options["encoder"]["vocab_size"])
        self._cache: dict[tuple[int, ...], np.ndarray] = {}

    def predict(self, contexts: list[tuple[int, ...]]) -> list[np.ndarray]:
        missing = [c for c in dict.fromkeys(contexts) if c not in self._cache]
        if missing:
            if len(self._cache) > 50_000:
                self._cache.clear()
            (out,) = self.predictor.run(
                None, {"contexts": np.asarray(missing, dtype=np.int64)}
            )
            self._cache.update(zip(missing, out, strict=True))
        return [self._cache[c] for c in contexts]

    def log_probs(self, frame: np.ndarray, preds: list[np.ndarray]) -> np.ndarray:
        pred = np.stack(preds).astype(np.float32)
        enc = np.broadcast_to(frame[None], pred.shape).astype(np.float32)
        (out,) = self.joiner.run(None, {"encoder": enc, "predictor": pred})
        return np.asarray(out)


class _OnnxRunner:
    def __init__(self, path: Path, num_threads: int | None) -> None:
        try:
            import onnxruntime as ort
        except ImportError as err:
            raise MissingDependencyError(
                "the aural engine's ONNX runtime needs 'onnxruntime'; install it with "
                "`pip install 'aural[train]'`"
            ) from err
        opts = ort.SessionOptions()
        if num_threads:
            opts.intra_op_num_threads = num_threads
            opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(path), opts, providers=["CPUExecutionProvider"]
        )
        # a transducer export: model.onnx is the encoder, predictor/joiner beside it
        suffix = ".int8.onnx" if ".int8." in path.name else ".onnx"
        joiner = path.parent / f"joiner{suffix}"
        self.transducer = joiner.is_file()
        self.scorer: Any = None
        if self.transducer:
            options = json.loads((path.parent / MODEL_OPTIONS_FILE).read_text())
            self.scorer = _OnnxScorer(
                ort.InferenceSession(
                    str(path.parent / f"predictor{suffix}"),
                    opts,
                    providers=["CPUExecutionProvider"],
                ),
                ort.InferenceSession(
                    str(joiner), opts, providers=["CPUExecutionProvider"]
                ),
                options,
            )
        spec = path.parent / FEATURES_FILE
        if not spec.is_file():
            raise ModelNotFoundError(
                f"{path.parent} has {path.name} but no {FEATURES_FILE}; "
                "re-export it with `aural export`"
            )
        self.feature_options = FeatureOptions.from_dict(json.loads(spec.read_text()))
        shape = path.parent / MODEL_OPTIONS_FILE  # absent in exports older than it: 4
        shape_options = json.loads(shape.read_text()) if shape.is_file() else {}
        if "encoder" in shape_options:  # a transducer's options nest the encoder's
            shape_options = shape_options["encoder"]
        self.subsampling = int(shape_options.get("subsampling", 4))

    def __call__(
        self, feats: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[Any, np.ndarray]:
        log_probs, out = self.session.run(
            None,
            {"features": feats.numpy().astype(np.float32), "lengths": lengths.numpy()},
        )
        return log_probs, out


class AuralModelEngine(BatchedEngine):
    """Transcribes with a checkpoint trained by ``aural train``.

    Args:
        model: checkpoint folder / ``model.pt`` / run folder / ``aural export`` folder.
        settings: :class:`AuralModelSettings`.

    Raises:
        ModelNotFoundError: no model given or nothing loadable at the path.
        ConfigError: an unknown setting or value.
    """

    name = "aural"
    settings_type = AuralModelSettings
    # English, re-decode streaming, one instance per thread: the defaults, plus hotwords
    capabilities = EngineCapabilities(hotwords=True)

    def __init__(
        self, model: str | None = None, settings: AuralModelSettings | None = None
    ) -> None:
        settings = self.settings = settings or AuralModelSettings()
        if model is None:
            raise ModelNotFoundError(
                "the aural engine needs a checkpoint: model=path/to/run_or_checkpoint "
                "(train one with `aural train --config recipes/overfit_tiny.yaml`)",
                options=("model",),
            )
        self.window_seconds = float(settings.window_seconds)
        path = Path(model).expanduser()
        runtime = settings.runtime
        onnx_file = path / settings.onnx_file if path.is_dir() else path
        if runtime == "onnx" or (
            runtime == "auto"
            and onnx_file.suffix == ".onnx"
            and onnx_file.is_file()
            and not (path / "model.pt").exists()
        ):
            if not onnx_file.is_file():
                raise ModelNotFoundError(
                    f"no ONNX model at {onnx_file}; run `aural export`"
                )
            self._runner: _TorchRunner | _OnnxRunner = _OnnxRunner(
                onnx_file, settings.num_threads
            )
            folder = onnx_file.parent
        else:
            self._runner = _TorchRunner(path, settings.device)
            folder = self._runner_folder(path)
        self.runtime = "onnx" if isinstance(self._runner, _OnnxRunner) else "torch"
        self.tokenizer = load_tokenizer(folder)
        self.features = self._runner.feature_options
        if self.features.cmvn == "global":  # statistics live inside the model
            raise ModelNotFoundError(
                f"{folder}: features say cmvn='global' outside the model"
            )
        self.sample_rate = self.features.sample_rate
        self.model_id = str(path)
        # seconds per output frame: feature hop times the model's subsampling
        self.frame_duration = (
            self._runner.subsampling * self.features.hop_length / self.sample_rate
        )
        self.vocabulary = [
            self.tokenizer.id_to_piece(i) for i in range(self.tokenizer.vocab_size)
        ]
        # characters: the space token separates words; BPE pieces carry "▁" instead
        self.word_delimiter: str | None = " " if " " in self.vocabulary else None
        self.blank = 0  # aural's tokenizers put CTC's blank first
        self.lm_path, self.lm = engine_lm(settings.lm, settings.lm_vocabulary)
        self.lm_weight = float(settings.lm_weight)
        bonus = settings.word_insertion_bonus
        self.word_insertion_bonus = float(bonus) if bonus is not None else None
        self.hotword_weight = float(settings.hotword_weight)
        self.transducer = bool(self._runner.transducer)
        if self._native_streaming():
            self.capabilities = EngineCapabilities(streaming="native", hotwords=True)

    def _native_streaming(self) -> bool:
        """A chunk-causal transducer in torch on causal 16 kHz fbank/MFCC features
        streams frame by frame (Whisper-encoder features need the whole window)."""
        runner = self._runner
        return (
            isinstance(runner, _TorchRunner)
            and runner.transducer
            and runner.model.options.encoder.chunk_size > 0  # type: ignore[union-attr]
            and self.features.kind != "whisper"
            and not self.features.deltas
            and self.features.cmvn != "utterance"
            and self.sample_rate == SAMPLE_RATE
        )

    @staticmethod
    def _runner_folder(path: Path) -> Path:
        from aural.models.checkpoint import resolve_model_dir

        return resolve_model_dir(path)

    def _windows(self, waveform: Waveform) -> list[tuple[float, np.ndarray]]:
        step = int(self.window_seconds * self.sample_rate)
        samples = waveform.samples
        return [
            (start / self.sample_rate, samples[start : start + step])
            for start in range(0, max(1, len(samples)), step)
            if len(samples[start : start + step]) >= int(0.1 * self.sample_rate)
        ]

    def _posteriors(self, chunks: Sequence[np.ndarray]) -> list[Any]:
        """Log-probabilities ``(frames, vocab)`` of each chunk (a transducer: its
        projected encoder frames ``(frames, joiner_dim)``), computed as one batch."""
        if not chunks:
            return []
        lengths = torch.tensor([len(c) for c in chunks], dtype=torch.long)
        audio = torch.zeros(len(chunks), int(lengths.max()))
        for i, c in enumerate(chunks):
            audio[i, : len(c)] = torch.from_numpy(
                np.ascontiguousarray(c, dtype=np.float32)
            )
        with torch.inference_mode():
            feats, frame_lengths = extract(audio, lengths, self.features)
        log_probs, out_lengths = self._runner(feats, frame_lengths)
        return [log_probs[i, : int(out_lengths[i])] for i in range(len(chunks))]

    def posteriors(self, waveform: Waveform) -> np.ndarray:
        """Log posteriors ``(frames, vocab)`` of the whole input (its windows
        joined); CTC models only.

        Raises:
            ConfigError: the model is a transducer (it has no per-frame posteriors).
        """
        if self.transducer:
            raise ConfigError(
                f"{self.model_id} is a transducer: it has no CTC posteriors to align "
                "with; use a CTC model (or the whisper engine) for alignment"
            )
        windows = self._windows(self.prepare(waveform))
        parts = self._posteriors([chunk for _, chunk in windows])
        return (
            np.concatenate(parts)
            if parts
            else np.zeros((0, len(self.vocabulary)), np.float32)
        )

    def decoder(
        self, options: DecodeOptions
    ) -> (
        CtcGreedyDecoder
        | CtcPrefixBeamSearch
        | TransducerGreedyDecoder
        | TransducerBeamSearch
    ):
        """The decoder ``options`` ask for, with this engine's LM and hotword weight."""
        make = transducer_decoder if self.transducer else ctc_decoder
        return make(
            self.vocabulary,
            self.blank,
            options.beam_size,
            options.hotwords,
            lm=self.lm,
            lm_name=self.lm_path,
            lm_weight=self.lm_weight,
            word_insertion_bonus=self.word_insertion_bonus,
            hotword_weight=self.hotword_weight,
        )

    def _segments(
        self,
        waveform: Waveform,
        pieces: list[tuple[tuple[float, np.ndarray], Any]],
        options: DecodeOptions,
        decoder: Any,
    ) -> tuple[Segment, ...]:
        segments = []
        for (offset, chunk), log_probs in pieces:
            if log_probs.shape[0] == 0:
                continue
            hyp = (
                decoder.decode(self._runner.scorer, log_probs)[0]
                if self.transducer
                else decoder.decode(log_probs)[0]
            )
            text = " ".join(hyp.text.split())
            if not text:
                continue
            words = (
                hyp.to_words(self.frame_duration, offset)
                if options.word_timestamps
                else ()
            )
            end = min(waveform.duration, offset + len(chunk) / self.sample_rate)
            words = tuple(w for w in words if w.start <= end)
            segments.append(
                Segment(
                    offset,
                    end,
                    text,
                    words,
                    avg_log_prob=hyp.acoustic_score / max(1, log_probs.shape[0]),
                )
            )
        return tuple(segments)

    def default_options(self) -> DecodeOptions:
        return DecodeOptions(beam_size=8 if self.lm is not None else 1)

    def _info(self, duration: float, options: DecodeOptions) -> TranscriptionInfo:
        return self.info(
            duration,
            options,
            language="en",
            runtime=self.runtime,
            lm=self.lm_path,
            lm_weight=self.lm_weight,
        )

    def _decode_all(
        self, waveforms: Sequence[Waveform], options: DecodeOptions
    ) -> list[tuple[Segment, ...]]:
        decoder = self.decoder(options)  # option conflicts fail before any model work
        windows = [self._windows(w) for w in waveforms]
        flat = [chunk for ws in windows for _, chunk in ws]
        posteriors = iter(self._posteriors(flat))
        out = []
        for wave, ws in zip(waveforms, windows, strict=True):
            pieces = [((offset, chunk), next(posteriors)) for offset, chunk in ws]
            out.append(self._segments(wave, pieces, options, decoder))
        return out

    # -- streaming -----------------------------------------------------------------
    def new_session(self, options: DecodeOptions, **session: Any) -> StreamingSession:
        """A chunk-causal transducer streams natively
        (:class:`aural.streaming.transducer.TransducerSession`); other models
        re-decode a VAD-bounded buffer."""
        if not self._native_streaming():
            return super().new_session(options, **session)
        from aural.streaming.transducer import TransducerSession

        assert isinstance(self._runner, _TorchRunner)
        return TransducerSession(
            self._runner.model,  # type: ignore[arg-type]
            self.features,
            self.decoder(options),
            options,
            **session,
        )
