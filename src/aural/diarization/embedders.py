"""Speaker embedders: one vector per window of audio, behind one interface.

``resemblyzer`` (GE2E d-vectors, weights inside its wheel, fully offline) is the
default. ``speechbrain`` (ECAPA-TDNN, ``speechbrain/spkrec-ecapa-voxceleb``) and
``pyannote`` (``pyannote/wespeaker-voxceleb-resnet34-LM``) load where users have the
package and the weights (a hub download or a local folder); both need a network the
first time.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

import numpy as np
from numpy.typing import NDArray

from aural.errors import (
    ConfigError,
    MissingDependencyError,
    ModelNotFoundError,
    missing_dependency,
)

__all__ = [
    "EmbedderName",
    "EMBEDDERS",
    "Embedder",
    "ResemblyzerEmbedder",
    "SpeechBrainEmbedder",
    "PyannoteEmbedder",
    "load_embedder",
]

EmbedderName = Literal["resemblyzer", "speechbrain", "pyannote"]
EMBEDDERS: tuple[str, ...] = get_args(EmbedderName)
Window = tuple[int, int]  # [start, end) in samples at 16 kHz

_BATCH = 256  # windows per forward pass: bounded memory on long inputs


class Embedder(Protocol):
    """Speaker embeddings of windows of one 16 kHz mono signal."""

    name: str

    def embed(
        self, samples: NDArray[np.float32], windows: Sequence[Window]
    ) -> NDArray[np.float32]:
        """L2-normalised embeddings, shape ``(len(windows), dim)``.

        Args:
            samples: mono float32 audio at 16 kHz, shape ``(num_samples,)``.
            windows: ``(start, end)`` sample indices, ``end > start``.
        """
        ...


def _not_bundled(name: str, package: str) -> MissingDependencyError:
    return MissingDependencyError(
        f"the {name} speaker embedder needs the '{package}' package, which is not "
        f"installed and not part of aural[diarize]; install it with `pip install "
        f"{package}`, or use embedder='resemblyzer'"
    )


def _normalise(x: NDArray[np.floating]) -> NDArray[np.float32]:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class ResemblyzerEmbedder:
    """GE2E d-vectors (256 dims) from resemblyzer's pretrained LSTM encoder.

    Only the weights come from the resemblyzer wheel (``pretrained.pt``); the network
    (3-layer LSTM, 40 mel bands in, 256 out, then linear + ReLU + L2 norm) and its mel
    spectrogram (librosa, 25 ms windows, 10 ms hop, 40 bands: resemblyzer's
    ``wav_to_mel_spectrogram``) are rebuilt here, so resemblyzer's own imports
    (``webrtcvad``, which needs ``pkg_resources``) are never needed. The spectrogram of
    the whole signal is computed once; each window is a slice of its frames, so
    overlapping windows cost only the LSTM.
    """

    name = "resemblyzer"
    _HOP = 160  # samples per mel frame (10 ms)

    def __init__(self, device: str = "cpu", num_threads: int = 1) -> None:
        self.num_threads = num_threads
        try:
            import librosa
            import torch
        except ImportError as err:
            raise missing_dependency(
                "torch and librosa", "diarize", "diarization"
            ) from err
        self._torch, self._librosa = torch, librosa
        self._encoder = _load_ge2e(device)

    def _mel(self, wav: NDArray[np.float32]) -> NDArray[np.float32]:
        frames = self._librosa.feature.melspectrogram(
            y=wav, sr=16_000, n_fft=400, hop_length=self._HOP, n_mels=40
        )
        return np.ascontiguousarray(frames.astype(np.float32).T)

    def embed(
        self, samples: NDArray[np.float32], windows: Sequence[Window]
    ) -> NDArray[np.float32]:
        if not windows:
            return np.zeros((0, 256), dtype=np.float32)
        # resemblyzer was trained on audio normalised to -30 dBFS
        rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)) + 1e-12))
        wav = samples * (10 ** (-30 / 20) / rms) if rms > 0 else samples
        mel = self._mel(np.asarray(wav, dtype=np.float32))  # (num_frames, 40)
        spans = [
            (s // self._HOP, max(s // self._HOP + 1, min(e // self._HOP, len(mel))))
            for s, e in windows
        ]
        torch = self._torch
        result = np.zeros((len(spans), 256), dtype=np.float32)
        # windows of equal length batch together: the LSTM needs no padding
        order = sorted(range(len(spans)), key=lambda i: spans[i][1] - spans[i][0])
        groups: list[list[int]] = []
        for i in order:
            length = spans[i][1] - spans[i][0]
            last = groups[-1] if groups else None
            if (
                last is not None
                and len(last) < _BATCH
                and spans[last[0]][1] - spans[last[0]][0] == length
            ):
                last.append(i)
            else:
                groups.append([i])
        # One thread: the LSTM's per-frame matrix products are small, and on a shared
        # 2-core machine two threads spent more time waiting for each other than
        # computing (128 windows: 0.48 s with one thread, 5.9 s with two, issue 21).
        # torch's thread count is process-wide, so it is restored afterwards.
        previous = torch.get_num_threads()
        torch.set_num_threads(self.num_threads)
        try:
            with torch.inference_mode():
                for group in groups:
                    batch = np.stack([mel[spans[g][0] : spans[g][1]] for g in group])
                    result[group] = self._encoder(torch.from_numpy(batch)).numpy()
        finally:
            torch.set_num_threads(previous)
        return _normalise(result)


class SpeechBrainEmbedder:
    """ECAPA-TDNN x-vectors (192 dims) from SpeechBrain.

    Args:
        source: a hub id or a local folder with ``hyperparams.yaml`` and the weights.
        savedir: where SpeechBrain keeps its copy (None = its default).
    """

    name = "speechbrain"

    def __init__(
        self,
        source: str = "speechbrain/spkrec-ecapa-voxceleb",
        savedir: str | None = None,
        device: str = "cpu",
    ) -> None:
        try:
            import torch
            from speechbrain.inference.speaker import EncoderClassifier
        except ImportError as err:
            raise _not_bundled("speechbrain", "speechbrain") from err
        self._torch = torch
        try:
            self._model = EncoderClassifier.from_hparams(
                source=source, savedir=savedir, run_opts={"device": device}
            )
        except (OSError, ValueError) as err:
            raise ModelNotFoundError(
                f"could not load the SpeechBrain speaker model {source!r} ({err}); "
                "give a local folder or connect to the Hugging Face hub once"
            ) from err

    def embed(
        self, samples: NDArray[np.float32], windows: Sequence[Window]
    ) -> NDArray[np.float32]:
        torch = self._torch
        vectors = []
        with torch.inference_mode():
            for start in range(0, len(windows), _BATCH):
                chunk = windows[start : start + _BATCH]
                longest = max(e - s for s, e in chunk)
                batch = np.zeros((len(chunk), longest), dtype=np.float32)
                lengths = np.zeros(len(chunk), dtype=np.float32)
                for i, (s, e) in enumerate(chunk):
                    batch[i, : e - s] = samples[s:e]
                    lengths[i] = (e - s) / longest
                out = self._model.encode_batch(
                    torch.from_numpy(batch), torch.from_numpy(lengths)
                )
                vectors.append(out.reshape(len(chunk), -1).cpu().numpy())
        if not vectors:
            return np.zeros((0, 192), dtype=np.float32)
        return _normalise(np.concatenate(vectors))


class PyannoteEmbedder:
    """WeSpeaker ResNet34 embeddings through pyannote.audio.

    Args:
        source: a hub id or a local checkpoint path.
        token: a Hugging Face token where the model is gated (None = none).
    """

    name = "pyannote"

    def __init__(
        self,
        source: str = "pyannote/wespeaker-voxceleb-resnet34-LM",
        token: str | None = None,
        device: str = "cpu",
    ) -> None:
        try:
            import torch
            from pyannote.audio import Inference, Model
        except ImportError as err:
            raise _not_bundled("pyannote", "pyannote.audio") from err
        self._torch = torch
        try:
            model = Model.from_pretrained(source, use_auth_token=token)
        except (OSError, ValueError) as err:
            raise ModelNotFoundError(
                f"could not load the pyannote model {source!r} ({err}); give a local "
                "checkpoint or a hub token for a gated model"
            ) from err
        if model is None:
            raise ModelNotFoundError(f"pyannote found no model at {source!r}")
        self._inference = Inference(model, window="whole", device=torch.device(device))

    def embed(
        self, samples: NDArray[np.float32], windows: Sequence[Window]
    ) -> NDArray[np.float32]:
        torch = self._torch
        vectors = [
            np.asarray(
                self._inference(
                    {
                        "waveform": torch.from_numpy(samples[s:e][None, :]),
                        "sample_rate": 16_000,
                    }
                )
            ).reshape(-1)
            for s, e in windows
        ]
        if not vectors:
            return np.zeros((0, 256), dtype=np.float32)
        return _normalise(np.stack(vectors))


def _load_ge2e(device: str) -> Any:
    """resemblyzer's GE2E encoder with the weights from its wheel, found without
    importing the package."""
    import importlib.util

    import torch

    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        err = missing_dependency("resemblyzer", "diarize", "diarization")
        raise type(err)(
            f"{err} and `pip install --no-deps resemblyzer==0.1.4` (its speaker "
            "encoder's weights; its own dependencies are not needed)"
        )
    weights = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"
    if not weights.is_file():
        raise ModelNotFoundError(
            f"resemblyzer's encoder weights are missing ({weights}); reinstall it with "
            "`pip install --no-deps --force-reinstall resemblyzer==0.1.4`"
        )

    class GE2E(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = torch.nn.LSTM(40, 256, 3, batch_first=True)
            self.linear = torch.nn.Linear(256, 256)

        def forward(self, mels: torch.Tensor) -> torch.Tensor:
            _, (hidden, _) = self.lstm(mels)
            out = torch.relu(self.linear(hidden[-1]))
            return out / torch.norm(out, dim=1, keepdim=True).clamp_min(1e-12)

    model = GE2E()
    state = torch.load(weights, map_location="cpu", weights_only=True)["model_state"]
    missing = model.load_state_dict(state, strict=False).missing_keys
    if missing:
        raise ModelNotFoundError(f"{weights} lacks the encoder weights {missing}")
    return model.to(device).eval()


@functools.lru_cache(maxsize=4)
def load_embedder(name: str = "resemblyzer", device: str = "cpu") -> Embedder:
    """The embedder registered as ``name``, loaded once per ``(name, device)``.

    Raises:
        ConfigError: unknown name.
        MissingDependencyError: its package is not installed.
        ModelNotFoundError: its weights cannot be found.
    """
    if name == "resemblyzer":
        return ResemblyzerEmbedder(device)
    if name == "speechbrain":
        return SpeechBrainEmbedder(device=device)
    if name == "pyannote":
        return PyannoteEmbedder(device=device)
    raise ConfigError(
        f"unknown speaker embedder {name!r}; use one of {', '.join(EMBEDDERS)}"
    )
