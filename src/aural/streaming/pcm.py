"""Turn the caller's PCM chunks (any size, any supported rate) into 16 kHz float32."""

from __future__ import annotations

from typing import Literal

import numpy as np

from aural.audio.waveform import SAMPLE_RATE
from aural.errors import ConfigError

__all__ = ["ENCODINGS", "MAX_SAMPLE_RATE", "MIN_SAMPLE_RATE", "PcmEncoding", "PcmInput"]

PcmEncoding = Literal["pcm_s16le", "pcm_f32le"]
ENCODINGS: dict[str, np.dtype] = {
    "pcm_s16le": np.dtype("<i2"),
    "pcm_f32le": np.dtype("<f4"),
}
MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 192_000


class PcmInput:
    """Incremental decoder and resampler for one stream of mono PCM chunks.

    Bytes chunks may end in the middle of a sample; the leftover bytes are kept and
    completed by the next chunk. float32 numpy chunks are taken as samples in [-1, 1].

    Args:
        sample_rate: rate of the caller's audio (Hz).
        encoding: layout of bytes chunks, ``pcm_s16le`` or ``pcm_f32le``.
        out_rate: rate of the samples :meth:`push` returns (Hz).

    Raises:
        ConfigError: unsupported rate or encoding.
    """

    def __init__(
        self, sample_rate: int, encoding: str = "pcm_s16le", out_rate: int = SAMPLE_RATE
    ) -> None:
        if isinstance(sample_rate, bool) or not isinstance(
            sample_rate, (int, np.integer)
        ):
            raise ConfigError(
                "stream sample_rate must be an integer number of Hz, got "
                f"{sample_rate!r}"
            )
        if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
            raise ConfigError(
                f"stream sample_rate {sample_rate} Hz is outside the supported range "
                f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz; send audio at e.g. 16000 Hz"
            )
        if encoding not in ENCODINGS:
            raise ConfigError(
                f"stream encoding {encoding!r} is not supported; use one of "
                f"{', '.join(sorted(ENCODINGS))}"
            )
        self.sample_rate = int(sample_rate)
        self.encoding = encoding
        self.out_rate = out_rate
        self._dtype = ENCODINGS[encoding]
        self._leftover = b""
        self._resampler = None
        if self.sample_rate != out_rate:
            import soxr

            self._resampler = soxr.ResampleStream(
                self.sample_rate, out_rate, 1, dtype="float32", quality="HQ"
            )

    def push(self, chunk: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
        """Decode and resample one chunk; returns float32 samples at ``out_rate``.

        Raises:
            ConfigError: the chunk is neither bytes nor a 1-D float32 array.
        """
        samples = self._decode(chunk)
        if self._resampler is None or samples.size == 0:
            return samples if self._resampler is None else np.zeros(0, np.float32)
        return np.asarray(self._resampler.resample_chunk(samples), dtype=np.float32)

    def flush(self) -> np.ndarray:
        """End of input: the resampler's pending tail (a partial trailing sample is
        dropped)."""
        self._leftover = b""
        if self._resampler is None:
            return np.zeros(0, np.float32)
        tail = self._resampler.resample_chunk(np.zeros(0, np.float32), last=True)
        return np.asarray(tail, dtype=np.float32)

    @property
    def pending_bytes(self) -> int:
        """Bytes of an incomplete sample waiting for the next chunk."""
        return len(self._leftover)

    def _decode(self, chunk: bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
        if isinstance(chunk, np.ndarray):
            if chunk.dtype != np.float32 or chunk.ndim != 1:
                raise ConfigError(
                    "array chunks must be 1-D float32 mono samples in [-1, 1], got "
                    f"dtype {chunk.dtype} with shape {chunk.shape}; convert with "
                    "samples.astype(np.float32) (mix channels to mono first) or send "
                    "bytes"
                )
            return np.ascontiguousarray(chunk)
        if isinstance(chunk, (bytes, bytearray, memoryview)):
            data = self._leftover + bytes(chunk)
            usable = len(data) - len(data) % self._dtype.itemsize
            self._leftover = data[usable:]
            raw = np.frombuffer(data[:usable], dtype=self._dtype)
            if self._dtype.kind == "i":
                return raw.astype(np.float32) / 32768.0
            return raw.astype(np.float32)
        raise ConfigError(
            f"stream chunks must be bytes ({self.encoding}) or a float32 numpy array, "
            f"got {type(chunk).__name__}"
        )


def to_pcm16(samples: np.ndarray) -> bytes:
    """float32 in [-1, 1] -> little-endian 16-bit PCM bytes (clipped). The one PCM16
    encoder: PocketSphinx consumes it, the microphone and tests produce it."""
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
