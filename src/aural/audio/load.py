"""The one decoder and resampler: any source -> mono float32 :class:`Waveform`.

soundfile (libsndfile) reads WAV, FLAC, OGG/Vorbis/Opus and MP3 block by block; PyAV
(FFmpeg) reads everything else (M4A/AAC, WebM, MP4, ...). Resampling uses soxr in
streaming mode, so an hour-long file never exists in memory at its original rate or
channel count.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import soundfile as sf
import soxr

from aural.audio.waveform import SAMPLE_RATE, Waveform, pcm_to_float
from aural.errors import (
    AudioDecodeError,
    AudioTooLongError,
    ConfigError,
    EmptyAudioError,
    UnsupportedAudioError,
)

logger = logging.getLogger(__name__)

AudioSource = str | os.PathLike[str] | bytes | bytearray | BinaryIO | Waveform
RawEncoding = Literal["pcm_s16le", "pcm_s32le", "pcm_f32le", "pcm_u8"]
RAW_SUFFIXES = (".raw", ".pcm")
"""Name endings of headerless PCM: read only with a ``raw_sample_rate``."""
AUDIO_SUFFIXES = (
    ".wav",
    ".flac",
    ".mp3",
    ".ogg",
    ".opus",
    ".m4a",
    ".aac",
    ".webm",
    ".mp4",
    ".mka",
    ".wma",
    ".aiff",
    ".aif",
    ".caf",
    ".sph",
    ".nist",
    *RAW_SUFFIXES,
)
"""Every file name ending aural treats as audio (lower case): what a folder search picks
up. The one list; a name with one of these, other than :data:`RAW_SUFFIXES`, is decoded
from its header even when a raw sample rate is given."""
_RAW_DTYPES: dict[str, str] = {
    "pcm_s16le": "<i2",
    "pcm_s32le": "<i4",
    "pcm_f32le": "<f4",
    "pcm_u8": "u1",
}
RAW_ENCODINGS: tuple[str, ...] = tuple(_RAW_DTYPES)
_HEADER_BYTES = 1024  # more than a WAV/AIFF header with its usual chunks
_BLOCK_FRAMES = 1 << 16  # frames decoded per block (~4 s at 16 kHz): bounds memory
MIN_SAMPLE_RATE = (
    2_000  # below this no speech survives (and resampling up costs x8000 at 2 Hz)
)
MAX_SAMPLE_RATE = 768_000  # the highest rate audio interfaces record at
# the first bytes of the containers aural decodes: such a file is never read as
# headerless PCM
_MAGIC = (
    b"RIFF",
    b"RIFX",
    b"RF64",
    b"fLaC",
    b"OggS",
    b"ID3",
    b"FORM",
    b"caff",
    b"\x1aE\xdf\xa3",
    b".snd",
    b"wvpk",
    b"MAC ",
    b"#!AMR",
)
# more formats libsndfile reads (W64, NIST SPHERE, VOC, IRCAM, PVF, XI, MAT, WavPack)
_SNDFILE_MAGIC = (
    b"riff",
    b"NIST_1A",
    b"Creative Voice File",
    b"\x64\xa3",
    b"\x00\x01\xa3",
    b"PVF1",
    b"Extended Instrument",
    b"MATLAB",
    b"wvpk",
    b"dns.",
    b"2BIT",
)
_CONTAINER_SUFFIXES = tuple(s for s in AUDIO_SUFFIXES if s not in RAW_SUFFIXES)
SUPPORTED = (
    "WAV, FLAC, MP3, OGG/Opus, M4A/AAC, WebM, and headerless PCM with a sample rate"
)


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What a file holds, read from its header without decoding it all."""

    duration: float  # seconds
    sample_rate: int  # Hz, as stored
    channels: int
    format: str  # container/codec name as the decoder reports it


def _name(source: object) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    if isinstance(source, (bytes, bytearray)):
        return f"<{len(source)} bytes>"
    return getattr(source, "name", None) or f"<{type(source).__name__}>"


def to_mono(samples: np.ndarray) -> np.ndarray:
    """Average the channels of ``(num_samples, num_channels)`` into ``(num_samples,)``.

    Channels that cancel out (one wired in reverse polarity: the average holds under a
    tenth of the channels' energy) give the loudest channel instead, not near-silence.
    """
    if samples.ndim == 1:
        return samples.astype(np.float32, copy=False)
    mono = samples.mean(axis=1, dtype=np.float32)
    if samples.shape[1] > 1:
        energy = np.square(samples, dtype=np.float64).mean(axis=0)
        if (
            energy.max() > 0
            and np.square(mono, dtype=np.float64).mean() < 0.1 * energy.mean()
        ):
            return np.asarray(samples[:, int(np.argmax(energy))], dtype=np.float32)
    return np.asarray(mono)


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Resample mono float32 samples with soxr (high quality).

    The output has ``round(len(samples) * to_rate / from_rate)`` samples.
    """
    if from_rate == to_rate:
        return samples.astype(np.float32, copy=False)
    out: np.ndarray = soxr.resample(
        samples.astype(np.float32, copy=False), from_rate, to_rate, "HQ"
    )
    return out


def _open_source(source: AudioSource, name: str) -> BinaryIO | str:
    """Validate a path / bytes / file-like source; return something decoders accept.
    ``name`` is what messages call it."""
    if isinstance(source, (str, os.PathLike)):
        if not os.fspath(source):
            raise ConfigError("the audio path is empty; pass a file name")
        path = Path(source)
        if not path.exists():
            raise AudioDecodeError(f"{name}: file not found")
        if path.is_dir():
            raise AudioDecodeError(f"{name}: is a directory, not an audio file")
        if path.is_fifo():
            raise AudioDecodeError(
                f"{name}: is a named pipe, not a file; save the stream to a file or "
                "pass its bytes"
            )
        if path.stat().st_size == 0:
            raise EmptyAudioError(f"{name}: file is empty (0 bytes)")
        return str(path)
    if isinstance(source, (bytes, bytearray)):
        if len(source) == 0:
            raise EmptyAudioError("audio data is empty (0 bytes)")
        return io.BytesIO(bytes(source))
    if hasattr(source, "read") and not isinstance(source, Waveform):
        return source
    raise ConfigError(
        f"cannot read audio from {type(source).__name__}; pass a path, bytes, a "
        "binary file object, or Waveform(samples, sample_rate=...) (a bare array has "
        "no sample rate)"
    )


def _iter_soundfile(
    src: BinaryIO | str,
) -> tuple[Iterator[np.ndarray], int, int, str, int]:
    # a path as bytes: names that are not valid UTF-8 (kept by Python as surrogates)
    # open too
    f = sf.SoundFile(os.fsencode(src) if isinstance(src, str) else src)

    def gen() -> Iterator[np.ndarray]:
        # read() rather than blocks(): it also works on formats libsndfile cannot seek
        # in (GSM 6.10 WAV, for one)
        with f:
            while True:
                block = f.read(_BLOCK_FRAMES, dtype="float32", always_2d=True)
                if not len(block):
                    return
                yield block

    return gen(), f.samplerate, f.channels, f"{f.format}/{f.subtype}", f.frames


def _iter_pyav(
    src: BinaryIO | str, name: str
) -> tuple[Iterator[np.ndarray], int, int, str, int]:
    import av

    if not isinstance(src, str):
        src.seek(0)
    try:
        container = av.open(src, mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, ValueError, OSError) as err:
        raise UnsupportedAudioError(
            f"{name}: not a recognised audio format ({SUPPORTED} are supported)",
            options=("raw_sample_rate",),  # the way to read headerless PCM
        ) from err
    if not container.streams.audio:
        container.close()
        raise UnsupportedAudioError(f"{name}: contains no audio stream")
    stream = container.streams.audio[0]
    codec = stream.codec_context
    if codec is None:  # FFmpeg found an audio stream but has no decoder for it
        container.close()
        raise UnsupportedAudioError(f"{name}: its audio codec is not supported")
    rate = codec.sample_rate or stream.rate or 0
    channels = codec.channels or 1
    fmt = f"{container.format.name}/{codec.name}"
    frames = (
        int(stream.duration * stream.time_base * rate)
        if stream.duration and stream.time_base
        else -1
    )

    def gen() -> Iterator[np.ndarray]:
        try:
            for frame in container.decode(stream):
                arr = pcm_to_float(frame.to_ndarray()).astype(np.float32, copy=False)
                if frame.format.is_planar:
                    yield arr.T  # (channels, n) -> (n, channels)
                else:
                    yield arr.reshape(
                        -1,
                        frame.layout.nb_channels
                        if hasattr(frame.layout, "nb_channels")
                        else len(frame.layout.channels),
                    )
        finally:
            container.close()

    return gen(), int(rate), int(channels), fmt, frames


def _iter_raw(
    src: BinaryIO | str, name: str, encoding: str, channels: int
) -> Iterator[np.ndarray]:
    dtype = np.dtype(_RAW_DTYPES[encoding])
    frame_bytes = dtype.itemsize * channels
    fh = open(src, "rb") if isinstance(src, str) else src  # noqa: SIM115 - closed below
    try:
        leftover = b""
        while True:
            data = fh.read(_BLOCK_FRAMES * frame_bytes)
            if not data:
                break
            data = leftover + data
            usable = len(data) - len(data) % frame_bytes
            leftover = data[usable:]
            arr = np.frombuffer(data[:usable], dtype=dtype).reshape(-1, channels)
            yield pcm_to_float(arr).astype(np.float32)
        if leftover:
            logger.warning(
                "%s: ignored %d trailing byte(s) of a partial sample",
                name,
                len(leftover),
            )
    finally:
        if isinstance(src, str):
            fh.close()


def _has_data_after_header(src: BinaryIO | str) -> bool:
    """True when ``src`` is longer than any audio header (a few hundred bytes)."""
    if isinstance(src, str):
        return os.path.getsize(src) > _HEADER_BYTES
    try:
        return src.seek(0, io.SEEK_END) > _HEADER_BYTES
    except (OSError, ValueError):
        return False


def _decode_blocks(
    source: AudioSource,
    raw_sample_rate: int | None,
    raw_encoding: str,
    raw_channels: int,
    name: str | None,
) -> tuple[Iterator[np.ndarray], int, int, str, int, str]:
    """Blocks of ``source`` as decoded, with its rate, channels, format, frame count (-1
    when unknown) and what messages call it (``name``, else its path or kind)."""
    stored = _name(source)  # the suffix that says what the source holds
    name = name or stored
    src = _open_source(source, name)
    is_raw = stored.lower().endswith(RAW_SUFFIXES) or (
        raw_sample_rate is not None and not _has_container_header(src, stored)
    )
    if is_raw:
        if raw_sample_rate is None:
            raise ConfigError(
                f"{name}: headerless PCM needs its sample rate; pass raw_sample_rate "
                "(e.g. 16000) and, unless it is 16-bit little-endian, raw_encoding "
                f"({', '.join(_RAW_DTYPES)})",
                options=("raw_sample_rate", "raw_encoding"),
            )
        if raw_encoding not in _RAW_DTYPES:
            raise ConfigError(
                f"unknown raw_encoding {raw_encoding!r}; use one of "
                f"{', '.join(_RAW_DTYPES)}",
                options=("raw_encoding",),
            )
        if not MIN_SAMPLE_RATE <= raw_sample_rate <= MAX_SAMPLE_RATE:
            raise ConfigError(
                f"{name}: raw_sample_rate must be {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} "
                f"Hz, got {raw_sample_rate}",
                options=("raw_sample_rate",),
            )
        if raw_channels < 1:
            raise ConfigError(
                f"{name}: raw_channels must be at least 1, got {raw_channels}",
                options=("raw_channels",),
            )
        blocks = _iter_raw(src, name, raw_encoding, raw_channels)
        return blocks, raw_sample_rate, raw_channels, f"raw/{raw_encoding}", -1, name
    try:
        if not _sndfile_reads(_peek(src, 20)):
            raise TypeError("not a libsndfile format")
        blocks, rate, channels, fmt, frames = _iter_soundfile(src)
    except (sf.LibsndfileError, RuntimeError, TypeError):
        blocks, rate, channels, fmt, frames = _iter_pyav(src, name)
    else:
        if frames == 0 and _has_data_after_header(src):
            # a WAV whose writer never filled in its sizes (a crashed recorder):
            # libsndfile trusts the header and sees nothing, FFmpeg reads the samples
            # that are there
            _close(blocks)
            with contextlib.suppress(UnsupportedAudioError):
                blocks, rate, channels, fmt, frames = _iter_pyav(src, name)
    if rate <= 0 or channels <= 0:  # FFmpeg guessed a format from bytes that hold none
        _close(blocks)
        raise AudioDecodeError(
            f"{name}: truncated or corrupt audio (no valid sample rate or channel "
            "count)"
        )
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        _close(blocks)
        raise AudioDecodeError(
            f"{name}: its header gives a sample rate of {rate} Hz; aural reads "
            f"{MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz (a corrupt or mislabelled file?)"
        )
    return blocks, rate, channels, fmt, frames, name


def _close(blocks: Iterator[np.ndarray]) -> None:
    close = getattr(blocks, "close", None)
    if close:
        close()


def _peek(src: BinaryIO | str, size: int) -> bytes:
    """The first ``size`` bytes of ``src``, leaving a file object where it was (b"" when
    it cannot be read back: a pipe)."""
    try:
        if isinstance(src, str):
            with open(src, "rb") as fh:
                return fh.read(size)
        start = src.tell()
        head = src.read(size)
        src.seek(start)
        return head
    except (OSError, ValueError, AttributeError):
        return b""


def _sndfile_reads(head: bytes) -> bool:
    """True when libsndfile should try a source that starts with ``head``: one of its
    formats, or what may be MP3. Anything else goes straight to FFmpeg, because
    libsndfile's last resort, its MP3 decoder, prints notes to stderr about every file
    it cannot make sense of (a PNG, random bytes) before aural's one-line error."""
    if not head:
        return True  # unknown: let libsndfile say
    if head.startswith(_SNDFILE_MAGIC) or head.startswith(_MAGIC):
        return True
    return (
        len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0
    )  # MPEG frame sync


def _has_container_header(src: BinaryIO | str, name: str) -> bool:
    """True when ``src`` starts like an audio container or is named like one: it is
    decoded from its header even when a raw sample rate was given for other inputs."""
    if name.lower().endswith(_CONTAINER_SUFFIXES):
        return True
    head = _peek(src, 12)
    if head[4:8] == b"ftyp":  # MP4 / M4A
        return True
    return bool(head) and head.startswith(_MAGIC)


def iter_load(
    source: AudioSource,
    sample_rate: int = SAMPLE_RATE,
    *,
    raw_sample_rate: int | None = None,
    raw_encoding: str = "pcm_s16le",
    raw_channels: int = 1,
    name: str | None = None,
) -> Iterator[np.ndarray]:
    """Decode ``source`` block by block into mono float32 at ``sample_rate``.

    Memory stays bounded whatever the length of the input.

    Raises:
        AudioDecodeError: missing, truncated or corrupt input.
        UnsupportedAudioError: not audio aural can decode.
    """
    blocks, rate, _channels, _fmt, _frames, shown = _decode_blocks(
        source, raw_sample_rate, raw_encoding, raw_channels, name
    )
    return _resampled(blocks, rate, sample_rate, shown)


def _finite(samples: np.ndarray) -> np.ndarray:
    """NaN and +-inf (corrupt float files, or their overflow in the
    resampler) -> silence, not full-scale clicks."""
    if np.isfinite(samples).all():
        return samples
    return np.asarray(np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0))


def _resampled(
    blocks: Iterator[np.ndarray], rate: int, sample_rate: int, name: str
) -> Generator[np.ndarray, None, None]:
    stream = (
        None
        if rate == sample_rate
        else soxr.ResampleStream(rate, sample_rate, 1, dtype="float32", quality="HQ")
    )
    try:
        for block in blocks:
            mono = to_mono(block)
            yield _finite(
                mono if stream is None else stream.resample_chunk(_finite(mono))
            )
        if stream is not None:
            yield _finite(stream.resample_chunk(np.zeros(0, np.float32), last=True))
    except (sf.LibsndfileError, RuntimeError, EOFError, OSError, ValueError) as err:
        raise AudioDecodeError(f"{name}: truncated or corrupt audio ({err})") from err
    except (
        Exception
    ) as err:  # PyAV's decode errors have no common public base besides this
        if type(err).__module__.startswith("av"):
            raise AudioDecodeError(
                f"{name}: truncated or corrupt audio ({err})"
            ) from err
        raise


def load(
    source: AudioSource,
    sample_rate: int = SAMPLE_RATE,
    *,
    raw_sample_rate: int | None = None,
    raw_encoding: str = "pcm_s16le",
    raw_channels: int = 1,
    max_duration: float | None = None,
    name: str | None = None,
) -> Waveform:
    """Decode any supported source to mono float32 at ``sample_rate``.

    Args:
        source: a path, bytes, a binary file object, or a :class:`Waveform` (mixed to
            mono and resampled). A bare numpy array is rejected: it carries no sample
            rate.
        sample_rate: the output rate in Hz (16 kHz for every built-in engine).
        raw_sample_rate: for headerless PCM (``.raw``/``.pcm`` or any source when
            given), the rate it was recorded at.
        raw_encoding: sample format of headerless PCM.
        raw_channels: interleaved channels of headerless PCM.
        max_duration: stop decoding and raise :class:`AudioTooLongError` once the audio
            passes this many seconds (None = no limit). Unlike a check of the header's
            duration, a file that lies about its length cannot get past it.
        name: what error messages call the source (e.g. the file name a client sent,
            not the server's temporary copy); None = its path, or ``<N bytes>``.

    Returns:
        The decoded :class:`Waveform`, shape ``(num_samples,)``.

    Raises:
        AudioDecodeError, UnsupportedAudioError, EmptyAudioError, AudioTooLongError,
        ConfigError.

    Example:
        >>> wav = load("talk.mp3")
        >>> wav.sample_rate
        16000
    """
    if isinstance(source, np.ndarray):
        raise ConfigError(
            "a bare numpy array has no sample rate; wrap it as "
            "Waveform(samples, sample_rate=...)"
        )
    if (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, int)
        or sample_rate <= 0
    ):
        raise ConfigError(
            f"sample_rate must be a positive integer (Hz), got {sample_rate!r}"
        )
    if isinstance(source, Waveform):
        mono = to_mono(source.samples.astype(np.float32, copy=False))
        out = resample(mono, source.sample_rate, sample_rate)
        if out.size == 0:
            raise EmptyAudioError("waveform has no samples")
        return Waveform(out, sample_rate)
    blocks, rate, _ch, _fmt, frames, name = _decode_blocks(
        source, raw_sample_rate, raw_encoding, raw_channels, name
    )
    limit_s = None if max_duration is None else float(max_duration)
    parts: list[np.ndarray] = []
    total = 0
    resampled = _resampled(blocks, rate, sample_rate, name)
    for part in resampled:
        parts.append(part)
        total += part.size
        if limit_s is not None and total > limit_s * sample_rate:
            resampled.close()
            _close(blocks)
            raise AudioTooLongError(
                f"{name}: longer than the limit of {limit_s:g} s", limit_s
            )
    samples = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    if samples.size == 0:
        if frames > 0:
            raise EmptyAudioError(
                f"{name}: too short to hold audio ({frames} sample(s) at {rate} Hz)"
            )
        raise EmptyAudioError(f"{name}: contains no audio samples (zero length)")
    return Waveform(samples, sample_rate)


def probe(
    source: AudioSource,
    *,
    raw_sample_rate: int | None = None,
    raw_encoding: str = "pcm_s16le",
    raw_channels: int = 1,
    name: str | None = None,
) -> AudioInfo:
    """Read duration, rate and channels from the header (decodes only if it must).

    The keyword arguments are those of :func:`load`.
    """
    if isinstance(source, Waveform):
        return AudioInfo(
            source.duration, source.sample_rate, source.num_channels, "waveform"
        )
    blocks, rate, channels, fmt, frames, _shown = _decode_blocks(
        source, raw_sample_rate, raw_encoding, raw_channels, name
    )
    if fmt.startswith("raw/") and isinstance(source, (str, os.PathLike)):
        size = Path(source).stat().st_size
        frames = size // (np.dtype(_RAW_DTYPES[raw_encoding]).itemsize * raw_channels)
    if frames < 0:
        frames = sum(b.shape[0] for b in blocks)
    else:
        _close(blocks)
    return AudioInfo(frames / float(rate), rate, channels, fmt)
