"""Batched speech features in torch: log-mel filterbanks, MFCC, deltas and CMVN.

Everything here is a pure function of tensors (no I/O, no hidden device moves): inputs
stay on the device they arrive on, so the same code runs on CPU and GPU.

The definitions follow librosa's conventions so results can be checked against it:

- STFT: centred frames (``n_fft // 2`` zeros on both sides), a periodic Hann window of
  ``win_length`` samples zero-padded to ``n_fft``; power spectrum ``|X|^2``.
- Mel filters: Slaney mel scale with Slaney area normalisation
  (``librosa.filters.mel(htk=False, norm="slaney")``).
- MFCC: orthonormal DCT-II of ``10 * log10(max(mel, 1e-10))`` with librosa's ``top_db``
  clipping (``librosa.feature.mfcc`` defaults).
- Deltas: the least-squares slope over ``width`` frames with edge replication
  (``librosa.feature.delta(mode="nearest")``, identical to the HTK / Kaldi formula).

Shapes: a batch of audio is ``(batch, num_samples)`` with ``lengths`` in samples;
features come back as ``(batch, num_frames, num_features)`` with ``frame_lengths``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

import torch

from aural.errors import ConfigError

__all__ = [
    "FeatureOptions",
    "GlobalCmvn",
    "add_deltas",
    "dct_matrix",
    "extract",
    "log_mel",
    "mel_filterbank",
    "mfcc",
    "num_frames",
    "power_spectrogram",
    "utterance_cmvn",
]

FeatureKind = Literal["fbank", "mfcc", "whisper"]
WHISPER_HOP_LENGTH = (
    320  # samples per Whisper encoder frame at 16 kHz (mel hop 160 x 2)
)


class PretrainedFrontend(Protocol):
    """A pretrained encoder used as features (``FeatureOptions(kind="whisper")``)."""

    dim: int  # values per frame

    def features(
        self, samples: torch.Tensor, lengths: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(batch, frames, dim)`` features of a zero-padded batch, and frame
        lengths."""
        ...


_FRONTENDS: dict[str, Callable[[str], PretrainedFrontend]] = {}


def register_frontend(kind: str, load: Callable[[str], PretrainedFrontend]) -> None:
    """Make ``FeatureOptions(kind=kind, encoder=NAME)`` use ``load(NAME)``.

    The model-loading code lives with its engine (``aural.engines.whisper.encoder``
    registers ``whisper`` when imported); ``audio`` itself loads no model.
    """
    _FRONTENDS[kind] = load


def pretrained_frontend(kind: str, encoder: str) -> PretrainedFrontend:
    """The registered front-end of ``kind`` for ``encoder`` (see
    :func:`register_frontend`)."""
    if kind not in _FRONTENDS:
        raise ConfigError(
            f"feature kind {kind!r} needs its encoder's front-end; import "
            f"aural.engines.{kind}.encoder first (the trainer and the aural engine do)"
        )
    return _FRONTENDS[kind](encoder)


CmvnKind = Literal["none", "utterance", "global"]


@dataclass(frozen=True, slots=True)
class FeatureOptions:
    """How to turn audio into features.

    Attributes:
        kind: ``fbank`` (log-mel), ``mfcc``, or ``whisper``: the frames of a pretrained
            Whisper encoder (see :mod:`aural.engines.whisper.encoder`; 20 ms hop, mel
            and cepstral options unused).
        sample_rate: rate of the input audio (Hz).
        n_fft: FFT size in samples (400 = 25 ms at 16 kHz).
        win_length: analysis window in samples (None = ``n_fft``).
        hop_length: frame shift in samples (160 = 10 ms at 16 kHz).
        num_mels: mel bands.
        f_min: lowest filter edge (Hz).
        f_max: highest filter edge (Hz; None = Nyquist).
        num_ceps: cepstra kept for MFCC.
        deltas: append delta and delta-delta (MFCC and fbank alike).
        delta_width: frames in the delta regression window (odd, >= 3).
        log_floor: floor applied before the logarithm of the mel energies.
        top_db: MFCC only: clip the dB mel spectrum this far below its maximum
            (None = off).
        cmvn: ``none``, ``utterance`` (per-utterance mean and variance) or ``global``
            (statistics gathered over the training set, see :class:`GlobalCmvn`).
        encoder: ``whisper`` only: the Whisper model (name or folder) whose encoder
            runs.
    """

    kind: FeatureKind = "fbank"
    sample_rate: int = 16_000
    n_fft: int = 400
    win_length: int | None = None
    hop_length: int = 160
    num_mels: int = 80
    f_min: float = 0.0
    f_max: float | None = None
    num_ceps: int = 13
    deltas: bool = False
    delta_width: int = 9
    log_floor: float = 1e-10
    top_db: float | None = 80.0
    cmvn: CmvnKind = "utterance"
    encoder: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("fbank", "mfcc", "whisper"):
            raise ConfigError(
                f"feature kind must be 'fbank', 'mfcc' or 'whisper', got {self.kind!r}"
            )
        if self.kind == "whisper":
            if not self.encoder:
                raise ConfigError(
                    "whisper features need an encoder model, e.g. 'tiny.en'"
                )
            if (self.sample_rate, self.hop_length) != (16_000, WHISPER_HOP_LENGTH):
                raise ConfigError(
                    f"whisper features are 16 kHz with hop_length "
                    f"{WHISPER_HOP_LENGTH}, "
                    f"got {self.sample_rate} Hz, hop {self.hop_length}"
                )
        if self.cmvn not in ("none", "utterance", "global"):
            raise ConfigError(
                f"cmvn must be 'none', 'utterance' or 'global', got {self.cmvn!r}"
            )
        for name in ("sample_rate", "n_fft", "hop_length", "num_mels", "num_ceps"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(
                    f"feature option {name} must be a positive integer, got {value!r}"
                )
        win = self.win_length if self.win_length is not None else self.n_fft
        if not 0 < win <= self.n_fft:
            raise ConfigError(
                f"win_length must be in (0, n_fft={self.n_fft}], got {win}"
            )
        nyquist = self.sample_rate / 2
        f_max = self.f_max if self.f_max is not None else nyquist
        if not 0.0 <= self.f_min < f_max <= nyquist:
            raise ConfigError(
                f"need 0 <= f_min < f_max <= {nyquist} Hz, got f_min={self.f_min}, "
                f"f_max={f_max}"
            )
        if self.kind == "mfcc" and self.num_ceps > self.num_mels:
            raise ConfigError(
                f"num_ceps ({self.num_ceps}) cannot exceed num_mels ({self.num_mels})"
            )
        if self.delta_width < 3 or self.delta_width % 2 == 0:
            raise ConfigError(
                f"delta_width must be odd and >= 3, got {self.delta_width}"
            )
        if self.log_floor <= 0:
            raise ConfigError(f"log_floor must be > 0, got {self.log_floor}")

    @property
    def num_features(self) -> int:
        """Features per frame, deltas included."""
        if self.kind == "whisper":
            base = pretrained_frontend(self.kind, str(self.encoder)).dim
        else:
            base = self.num_ceps if self.kind == "mfcc" else self.num_mels
        return base * (3 if self.deltas else 1)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureOptions:
        return cls(**d)


def num_frames(num_samples: torch.Tensor | int, hop_length: int) -> torch.Tensor | int:
    """Frames a centred STFT yields for ``num_samples`` samples: ``1 + n // hop``."""
    return 1 + num_samples // hop_length


def _hz_to_mel(freq: torch.Tensor) -> torch.Tensor:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    linear = freq / f_sp
    log = (
        min_log_mel
        + torch.log(torch.clamp(freq, min=min_log_hz) / min_log_hz) / logstep
    )
    return torch.where(freq >= min_log_hz, log, linear)


def _mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    linear = mel * f_sp
    log = min_log_hz * torch.exp(logstep * (mel - min_log_mel))
    return torch.where(mel >= min_log_mel, log, linear)


@functools.lru_cache(maxsize=32)
def _mel_filterbank_cpu(
    num_mels: int, n_fft: int, sample_rate: int, f_min: float, f_max: float
) -> torch.Tensor:
    fft_freqs = torch.linspace(
        0.0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64
    )
    mel_min = _hz_to_mel(torch.tensor(f_min, dtype=torch.float64))
    mel_max = _hz_to_mel(torch.tensor(f_max, dtype=torch.float64))
    mel_points = _mel_to_hz(
        torch.linspace(
            float(mel_min), float(mel_max), num_mels + 2, dtype=torch.float64
        )
    )
    widths = mel_points[1:] - mel_points[:-1]  # (num_mels + 1,)
    ramps = mel_points[:, None] - fft_freqs[None, :]  # (num_mels + 2, n_freq)
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = torch.clamp(torch.minimum(lower, upper), min=0.0)
    enorm = 2.0 / (mel_points[2:] - mel_points[:-2])  # Slaney area normalisation
    return (weights * enorm[:, None]).to(torch.float32)


def mel_filterbank(
    num_mels: int,
    n_fft: int,
    sample_rate: int,
    f_min: float = 0.0,
    f_max: float | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Slaney-normalised triangular mel filters, shape
    ``(num_mels, n_fft // 2 + 1)``."""
    f_max = sample_rate / 2 if f_max is None else f_max
    fb = _mel_filterbank_cpu(num_mels, n_fft, sample_rate, float(f_min), float(f_max))
    return fb if device is None else fb.to(device)


@functools.lru_cache(maxsize=32)
def _window_cpu(n_fft: int, win_length: int) -> torch.Tensor:
    win = torch.hann_window(win_length, periodic=True, dtype=torch.float32)
    left = (n_fft - win_length) // 2
    return torch.nn.functional.pad(win, (left, n_fft - win_length - left))


@functools.lru_cache(maxsize=8)
def _dct_cpu(num_ceps: int, num_mels: int) -> torch.Tensor:
    n = torch.arange(num_mels, dtype=torch.float64)
    k = torch.arange(num_ceps, dtype=torch.float64)[:, None]
    basis = torch.cos(math.pi / num_mels * (n + 0.5) * k) * math.sqrt(2.0 / num_mels)
    basis[0] /= math.sqrt(2.0)
    return basis.to(torch.float32)


def dct_matrix(
    num_ceps: int, num_mels: int, device: torch.device | str | None = None
) -> torch.Tensor:
    """Orthonormal DCT-II basis, shape ``(num_ceps, num_mels)``."""
    m = _dct_cpu(num_ceps, num_mels)
    return m if device is None else m.to(device)


def _check_audio(
    samples: torch.Tensor, lengths: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    if samples.ndim == 1:
        samples = samples[None]
    if samples.ndim != 2:
        raise ConfigError(
            f"audio must have shape (batch, num_samples) or (num_samples,), got "
            f"{tuple(samples.shape)}"
        )
    if lengths is None:
        lengths = torch.full(
            (samples.shape[0],),
            samples.shape[1],
            dtype=torch.long,
            device=samples.device,
        )
    if lengths.shape != (samples.shape[0],):
        raise ConfigError(
            f"lengths must have shape ({samples.shape[0]},), got {tuple(lengths.shape)}"
        )
    return samples.float(), lengths.long()


def _frame_mask(frame_lengths: torch.Tensor, total: int) -> torch.Tensor:
    return (
        torch.arange(total, device=frame_lengths.device)[None, :]
        < frame_lengths[:, None]
    )


def power_spectrogram(samples: torch.Tensor, options: FeatureOptions) -> torch.Tensor:
    """``|STFT|^2`` of a batch, shape ``(batch, num_frames, n_fft // 2 + 1)``."""
    win_length = options.win_length or options.n_fft
    window = _window_cpu(options.n_fft, win_length).to(samples.device)
    spec = torch.stft(
        samples,
        n_fft=options.n_fft,
        hop_length=options.hop_length,
        window=window,
        center=True,
        pad_mode="constant",
        return_complex=True,
    )
    return (spec.real.square() + spec.imag.square()).transpose(1, 2)


def _mel_energies(samples: torch.Tensor, options: FeatureOptions) -> torch.Tensor:
    fb = mel_filterbank(
        options.num_mels,
        options.n_fft,
        options.sample_rate,
        options.f_min,
        options.f_max,
        device=samples.device,
    )
    return power_spectrogram(samples, options) @ fb.T


def log_mel(
    samples: torch.Tensor,
    lengths: torch.Tensor | None,
    options: FeatureOptions,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Natural-log mel energies ``log(max(mel, log_floor))`` (no deltas, no CMVN).

    Args:
        samples: ``(batch, num_samples)`` float audio, zero-padded.
        lengths: valid samples per row, ``(batch,)`` (None = all).
        options: the feature definition.

    Returns:
        ``(features (batch, num_frames, num_mels), frame_lengths (batch,))``.
    """
    samples, lengths = _check_audio(samples, lengths)
    mel = _mel_energies(samples, options)
    return torch.log(torch.clamp(mel, min=options.log_floor)), num_frames(
        lengths, options.hop_length
    )


def mfcc(
    samples: torch.Tensor,
    lengths: torch.Tensor | None,
    options: FeatureOptions,
) -> tuple[torch.Tensor, torch.Tensor]:
    """MFCC as librosa defines them (no deltas, no CMVN).

    Returns:
        ``(features (batch, num_frames, num_ceps), frame_lengths (batch,))``.
    """
    samples, lengths = _check_audio(samples, lengths)
    frame_lengths = num_frames(lengths, options.hop_length)
    mel = _mel_energies(samples, options)
    db = 10.0 * torch.log10(torch.clamp(mel, min=options.log_floor))
    if options.top_db is not None:
        mask = _frame_mask(frame_lengths, db.shape[1])[:, :, None]
        peak = torch.where(mask, db, torch.full_like(db, -torch.inf)).amax(dim=(1, 2))
        db = torch.maximum(db, (peak - options.top_db)[:, None, None])
    dct = dct_matrix(options.num_ceps, options.num_mels, device=samples.device)
    return db @ dct.T, frame_lengths


def add_deltas(
    features: torch.Tensor, frame_lengths: torch.Tensor | None = None, width: int = 9
) -> torch.Tensor:
    """Append delta and delta-delta (the delta of the delta) along the feature axis.

    The delta at frame t is ``sum_n n * (x[t+n] - x[t-n]) / (2 * sum_n n^2)`` for
    ``n = 1..width // 2``, with the first and last valid frame repeated at the edges.

    Args:
        features: ``(batch, num_frames, dim)``.
        frame_lengths: valid frames per row (None = all); padding is not read.
        width: odd window size.

    Returns:
        ``(batch, num_frames, 3 * dim)``.
    """
    d1 = _delta(features, frame_lengths, width)
    d2 = _delta(d1, frame_lengths, width)
    return torch.cat([features, d1, d2], dim=-1)


def _delta(
    x: torch.Tensor, frame_lengths: torch.Tensor | None, width: int
) -> torch.Tensor:
    half = width // 2
    batch, total, _ = x.shape
    if frame_lengths is None:
        frame_lengths = torch.full((batch,), total, dtype=torch.long, device=x.device)
    t = torch.arange(total, device=x.device)
    last = (frame_lengths - 1).clamp(min=0)[:, None]  # (batch, 1)
    denom = 2.0 * sum(n * n for n in range(1, half + 1))
    out = torch.zeros_like(x)
    for n in range(1, half + 1):
        ahead = torch.minimum((t + n)[None, :].expand(batch, -1), last)
        behind = torch.clamp(t - n, min=0)[None, :].expand(batch, -1)
        idx_a = ahead[:, :, None].expand(-1, -1, x.shape[2])
        idx_b = behind[:, :, None].expand(-1, -1, x.shape[2])
        out = out + n * (x.gather(1, idx_a) - x.gather(1, idx_b))
    return out / denom


def utterance_cmvn(
    features: torch.Tensor,
    frame_lengths: torch.Tensor | None = None,
    variance: bool = True,
    eps: float = 1e-5,
) -> torch.Tensor:
    """Normalise each utterance to zero mean (and unit variance) over its valid frames.

    Padding frames come back as zeros.
    """
    batch, total, _ = features.shape
    if frame_lengths is None:
        frame_lengths = torch.full(
            (batch,), total, dtype=torch.long, device=features.device
        )
    mask = _frame_mask(frame_lengths, total)[:, :, None].to(features.dtype)
    count = mask.sum(dim=1, keepdim=True).clamp(min=1.0)
    mean = (features * mask).sum(dim=1, keepdim=True) / count
    centred = (features - mean) * mask
    if not variance:
        return centred
    std = torch.sqrt(centred.square().sum(dim=1, keepdim=True) / count + eps)
    return centred / std


@dataclass(frozen=True, slots=True, eq=False)
class GlobalCmvn:
    """Mean and standard deviation of each feature over a whole training set.

    Build it with :meth:`from_batches`, save it with :meth:`to_dict`, apply it with
    :meth:`apply`.
    """

    mean: torch.Tensor  # (dim,)
    std: torch.Tensor  # (dim,)

    @classmethod
    def from_batches(cls, batches: Any, eps: float = 1e-5) -> GlobalCmvn:
        """Accumulate statistics over ``(features, frame_lengths)`` pairs (float64
        sums)."""
        total = 0.0
        s1: torch.Tensor | None = None
        s2: torch.Tensor | None = None
        for feats, lengths in batches:
            mask = _frame_mask(lengths, feats.shape[1])
            valid = feats[mask].double()
            s1 = valid.sum(0) if s1 is None else s1 + valid.sum(0)
            s2 = valid.square().sum(0) if s2 is None else s2 + valid.square().sum(0)
            total += valid.shape[0]
        if s1 is None or s2 is None or total == 0:
            raise ConfigError(
                "GlobalCmvn needs at least one non-empty batch of features"
            )
        mean = s1 / total
        var = (s2 / total - mean.square()).clamp(min=0.0)
        return cls(mean.float(), torch.sqrt(var + eps).float())

    def apply(
        self, features: torch.Tensor, frame_lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        out = (features - self.mean.to(features.device)) / self.std.to(features.device)
        if frame_lengths is not None:
            out = out * _frame_mask(frame_lengths, features.shape[1])[:, :, None]
        return out

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, d: dict[str, list[float]]) -> GlobalCmvn:
        return cls(
            torch.tensor(d["mean"], dtype=torch.float32),
            torch.tensor(d["std"], dtype=torch.float32),
        )


def extract(
    samples: torch.Tensor,
    lengths: torch.Tensor | None,
    options: FeatureOptions,
    global_cmvn: GlobalCmvn | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The full feature pipeline: fbank, MFCC or Whisper encoder, optional deltas, then
    CMVN.

    Args:
        samples: ``(batch, num_samples)`` audio at ``options.sample_rate``, zero-padded.
        lengths: valid samples per row (None = all).
        options: the feature definition.
        global_cmvn: statistics for ``cmvn="global"`` (required then).

    Returns:
        ``(features (batch, num_frames, options.num_features), frame_lengths
        (batch,))``.

    Raises:
        ConfigError: bad shapes, or ``cmvn="global"`` without statistics.
    """
    if options.kind == "whisper":
        feats, frame_lengths = pretrained_frontend(
            options.kind, str(options.encoder)
        ).features(samples, lengths)
    elif options.kind == "mfcc":
        feats, frame_lengths = mfcc(samples, lengths, options)
    else:
        feats, frame_lengths = log_mel(samples, lengths, options)
    if options.deltas:
        feats = add_deltas(feats, frame_lengths, options.delta_width)
    if options.cmvn == "utterance":
        feats = utterance_cmvn(feats, frame_lengths)
    elif options.cmvn == "global":
        if global_cmvn is None:
            raise ConfigError(
                "cmvn='global' needs GlobalCmvn statistics; compute them with "
                "GlobalCmvn.from_batches or use cmvn='utterance'"
            )
        feats = global_cmvn.apply(feats, frame_lengths)
    else:
        feats = feats * _frame_mask(frame_lengths, feats.shape[1])[:, :, None]
    return feats, frame_lengths
