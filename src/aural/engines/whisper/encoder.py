"""A pretrained Whisper encoder as a feature extractor
(``FeatureOptions(kind="whisper")``).

Trained from scratch on an hour of speech, a Conformer-CTC learns letters but not words
(dev WER stays near 100 %). Whisper's encoder has heard 680,000 hours; its output frames
(20 ms, ``d_model`` values each: 384 for tiny.en) make a small CTC model on top of them
usable after minutes of CPU training. The encoder runs in CTranslate2 (int8 on CPU), is
not trained, and stays outside the exported ONNX graph, like the filterbank of the other
kinds.

Each utterance is encoded on its own frames only (no 30 s padding, no batch padding), so
its features do not depend on what else is in the batch. Inputs longer than Whisper's
30 s window are encoded in 30 s pieces. Encoder frames: ``num_samples // 320``.

The trainer turns on a bounded cache (:attr:`WhisperEncoderFrontend.cache_bytes`) so
that utterances seen again (every epoch, without waveform augmentation) are not
re-encoded.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from functools import lru_cache

import numpy as np
import torch

from aural.audio.features import WHISPER_HOP_LENGTH, register_frontend

__all__ = ["HOP_LENGTH", "WhisperEncoderFrontend", "frontend", "whisper_features"]

HOP_LENGTH = (
    WHISPER_HOP_LENGTH  # samples per encoder frame (mel hop 160, encoder stride 2)
)
_MAX_MEL = 3000  # Whisper's window: 30 s of 10 ms mel frames


class WhisperEncoderFrontend:
    """Encoder outputs ``(frames, d_model)`` of a CTranslate2 Whisper model.

    Args:
        encoder: Whisper model name or folder (see
            :func:`aural.engines.whisper.models.resolve_whisper_model`).
        device: ``cpu`` or ``cuda``.
    """

    def __init__(self, encoder: str, device: str = "cpu") -> None:
        from faster_whisper import WhisperModel

        from aural.engines.whisper.models import resolve_whisper_model

        folder = resolve_whisper_model(encoder)
        self.encoder = encoder
        self._model = WhisperModel(
            str(folder),
            device=device,
            compute_type="int8" if device == "cpu" else "default",
            cpu_threads=max(1, torch.get_num_threads()),
        )
        self.cache_bytes = 0  # 0 = no cache
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._cached = 0
        self._lock = threading.Lock()
        self.dim = int(
            self._encode_window(np.zeros(HOP_LENGTH * 10, np.float32)).shape[1]
        )

    def _encode_window(self, audio: np.ndarray) -> np.ndarray:
        import ctranslate2

        mel = self._model.feature_extractor(audio)
        frames = min(_MAX_MEL, (audio.size // HOP_LENGTH) * 2)
        batch = np.ascontiguousarray(mel[None, :, :frames], dtype=np.float32)
        out = self._model.model.encode(
            ctranslate2.StorageView.from_array(batch), to_cpu=True
        )
        return np.asarray(out)[0]

    def features(
        self, samples: torch.Tensor, lengths: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder frames of a zero-padded batch (see :func:`whisper_features`)."""
        return whisper_features(samples, lengths, self.encoder)

    def encode(self, audio: np.ndarray) -> np.ndarray:
        """``(len(audio) // 320, d_model)`` float32 for 16 kHz mono ``audio``."""
        audio = np.ascontiguousarray(audio, dtype=np.float32)
        total = audio.size // HOP_LENGTH
        if total == 0:
            return np.zeros((0, self.dim), np.float32)
        key = b""
        if self.cache_bytes > 0:
            key = hashlib.blake2b(audio.tobytes(), digest_size=16).digest()
            with self._lock:
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    return hit
        step = _MAX_MEL // 2 * HOP_LENGTH
        pieces = [
            self._encode_window(audio[s : s + step])
            for s in range(0, total * HOP_LENGTH, step)
            if audio[s : s + step].size >= HOP_LENGTH
        ]
        out = np.concatenate(pieces)[:total].astype(np.float32, copy=False)
        if self.cache_bytes > 0:
            with self._lock:
                self._cache[key] = out
                self._cached += out.nbytes
                while self._cached > self.cache_bytes and self._cache:
                    _, old = self._cache.popitem(last=False)
                    self._cached -= old.nbytes
        return out


@lru_cache(maxsize=4)
def frontend(encoder: str, device: str = "cpu") -> WhisperEncoderFrontend:
    """The shared front-end for ``encoder`` (loaded once per process)."""
    return WhisperEncoderFrontend(encoder, device)


def whisper_features(
    samples: torch.Tensor, lengths: torch.Tensor | None, encoder: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Encoder frames of a zero-padded batch: ``(batch, frames, d_model)`` and
    lengths."""
    if samples.dim() != 2:
        raise ValueError(
            f"expected (batch, num_samples) audio, got shape {tuple(samples.shape)}"
        )
    if lengths is None:
        lengths = torch.full((samples.shape[0],), samples.shape[1], dtype=torch.long)
    device = "cuda" if samples.is_cuda else "cpu"
    front = frontend(encoder, device)
    audio = samples.detach().float().cpu().numpy()
    encoded = [front.encode(audio[i, : int(n)]) for i, n in enumerate(lengths.tolist())]
    frame_lengths = torch.tensor([e.shape[0] for e in encoded], dtype=torch.long)
    feats = torch.zeros(len(encoded), max([1, *frame_lengths.tolist()]), front.dim)
    for i, e in enumerate(encoded):
        feats[i, : e.shape[0]] = torch.from_numpy(e)
    return feats.to(samples.device), frame_lengths.to(samples.device)


register_frontend("whisper", frontend)
