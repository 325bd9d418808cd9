"""aural.audio.load on real shared recordings, every format, and hostile inputs."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given, settings
from hypothesis import strategies as st

from aural.audio import Waveform, load, probe, resample
from aural.errors import (
    AudioDecodeError,
    AudioTooLongError,
    AuralError,
    ConfigError,
    EmptyAudioError,
    UnsupportedAudioError,
)


def _check(w: Waveform, duration: float, tol: float = 0.02) -> None:
    assert w.sample_rate == 16000
    assert w.samples.dtype == np.float32 and w.samples.ndim == 1
    assert abs(w.duration - duration) < tol
    assert np.abs(w.samples).max() <= 1.0 + 1e-3
    assert np.abs(w.samples).max() > 0.01  # real speech, not silence


def test_load_44k_stereo_flac(jfk_flac: Path) -> None:
    info = probe(jfk_flac)
    assert (info.sample_rate, info.channels) == (44100, 2)
    _check(load(jfk_flac), 11.0)


def test_load_8k_wav(libri_8k: Path) -> None:
    assert probe(libri_8k).sample_rate == 8000
    _check(load(libri_8k), 29.4)


def test_load_22k_wav(shared_data: Path) -> None:
    p = shared_data / "LJSpeech-1.1" / "wavs" / "LJ001-0001.wav"
    assert probe(p).sample_rate == 22050
    _check(load(p), sf.info(p).duration)


def test_load_headerless_pcm(goforward_raw: Path) -> None:
    w = load(goforward_raw, raw_sample_rate=16000)
    _check(w, goforward_raw.stat().st_size / 2 / 16000)
    with pytest.raises(ConfigError, match="goforward.raw.*sample rate"):
        load(goforward_raw)


def test_raw_errors_name_api_arguments_not_cli_flags(goforward_raw: Path) -> None:
    """The library says what to pass in API terms and lists the options structurally;
    the CLI adds its own flags (aural.cli.common.cli_message), the server sends it as
    is."""
    with pytest.raises(ConfigError) as no_rate:
        load(goforward_raw)
    assert "pass raw_sample_rate" in str(no_rate.value) and "raw_encoding" in str(
        no_rate.value
    )
    assert no_rate.value.options == ("raw_sample_rate", "raw_encoding")
    with pytest.raises(ConfigError) as bad_encoding:
        load(goforward_raw, raw_sample_rate=16000, raw_encoding="pcm_s24be")
    assert bad_encoding.value.options == ("raw_encoding",)
    with pytest.raises(UnsupportedAudioError, match="not a recognised") as unsupported:
        load(b"\x13not audio at all" * 200)
    assert unsupported.value.options == ("raw_sample_rate",)
    for err in (no_rate.value, bad_encoding.value, unsupported.value):
        assert "--" not in str(err) and "CLI" not in str(err)


def test_load_bytes_and_filelike_equal_path(ldc_wav: Path) -> None:
    a = load(ldc_wav)
    b = load(ldc_wav.read_bytes())
    with open(ldc_wav, "rb") as f:
        c = load(f)
    np.testing.assert_array_equal(a.samples, b.samples)
    np.testing.assert_array_equal(a.samples, c.samples)


def test_load_waveform_resamples_and_mixes() -> None:
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (48000, 2)).astype(np.float32)
    w = load(Waveform(x, 48000))
    assert w.sample_rate == 16000 and w.samples.shape == (16000,)


def test_waveform_from_integer_pcm(ldc_wav: Path) -> None:
    pcm, rate = sf.read(ldc_wav, dtype="int16")
    floats, _ = sf.read(ldc_wav, dtype="float32")
    np.testing.assert_allclose(Waveform(pcm, rate).samples, floats, atol=1e-6)
    wide = Waveform(pcm.astype(np.int32) << 16, rate).samples
    np.testing.assert_allclose(wide, floats, atol=1e-6)
    u8 = Waveform(np.array([0, 128, 255], np.uint8), 8000).samples
    np.testing.assert_allclose(u8, [-1.0, 0.0, 127 / 128])
    with pytest.raises(ConfigError, match="float or integer PCM"):
        Waveform(np.array([1j, 2j]), 16000)


def test_stereo_with_an_inverted_channel_is_not_cancelled(
    tmp_path: Path, ldc_wav: Path
) -> None:
    x, rate = sf.read(ldc_wav, dtype="float32")
    sf.write(tmp_path / "inverted.wav", np.stack([x, -x], 1), rate)
    np.testing.assert_allclose(load(tmp_path / "inverted.wav").samples, x, atol=1e-4)
    sf.write(tmp_path / "half.wav", np.stack([x, np.zeros_like(x)], 1), rate)
    np.testing.assert_allclose(
        load(tmp_path / "half.wav").samples, x / 2, atol=1e-4
    )  # averaged
    inverted = Waveform(np.stack([x, -x], 1), rate)
    np.testing.assert_allclose(load(inverted).samples, x, atol=1e-4)


def test_bare_array_rejected() -> None:
    with pytest.raises(ConfigError, match="sample rate"):
        load(np.zeros(16000, np.float32))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "fmt,ext", [("OGG", ".ogg"), ("FLAC", ".flac"), ("WAV", ".wav")]
)
def test_load_formats_written_by_libsndfile(
    tmp_path: Path, ldc_wav: Path, fmt: str, ext: str
) -> None:
    ref = load(ldc_wav)
    out = tmp_path / f"clip{ext}"
    sf.write(out, ref.samples, 16000, format=fmt)
    _check(load(out), ref.duration, tol=0.05)


@pytest.mark.parametrize(
    "codec,ext",
    [
        ("libmp3lame", ".mp3"),
        ("aac", ".m4a"),
        ("libopus", ".webm"),
        ("libopus", ".opus"),
    ],
)
def test_load_lossy_formats_via_pyav(
    tmp_path: Path, jfk_flac: Path, codec: str, ext: str
) -> None:
    import av

    ref = load(jfk_flac, sample_rate=48000)
    out = tmp_path / f"jfk{ext}"
    try:
        with av.open(str(out), "w") as c:
            s = c.add_stream(codec, rate=48000)
            s.layout = "mono"
            frame = av.AudioFrame.from_ndarray(
                ref.samples[None, :], format="flt", layout="mono"
            )
            frame.sample_rate = 48000
            for pkt in s.encode(frame):
                c.mux(pkt)
            for pkt in s.encode(None):
                c.mux(pkt)
    except (
        av.error.FFmpegError
    ) as err:  # pragma: no cover - encoder missing in this FFmpeg
        pytest.skip(f"PyAV cannot encode {codec}: {err}")
    w = load(out)
    _check(w, 11.0, tol=0.1)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="nope.wav: file not found"):
        load(tmp_path / "nope.wav")


def test_zero_byte_file(tmp_path: Path) -> None:
    p = tmp_path / "empty.wav"
    p.write_bytes(b"")
    with pytest.raises(EmptyAudioError, match="empty.wav"):
        load(p)


def test_header_only_wav_is_empty(tmp_path: Path) -> None:
    p = tmp_path / "zero.wav"
    sf.write(p, np.zeros(0, np.float32), 16000)
    with pytest.raises(EmptyAudioError, match="zero.wav"):
        load(p)


def _wav_header(rate: int, riff_size: int, data_size: int) -> bytes:
    import struct

    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", riff_size)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", data_size)
    )


@pytest.mark.parametrize("size", [0, 0xFFFFFFFF])
def test_wav_with_unfilled_sizes_reads_every_sample(
    tmp_path: Path, ldc_wav: Path, size: int
) -> None:
    # what a crashed recorder (0) or a piped `ffmpeg -f wav` (0xFFFFFFFF) leaves behind
    pcm, rate = sf.read(ldc_wav, dtype="int16")
    p = tmp_path / "unfinished.wav"
    p.write_bytes(_wav_header(rate, size, size) + pcm.tobytes())
    expected = len(pcm) / rate
    _check(load(p), expected)
    _check(load(io.BytesIO(p.read_bytes())), expected)


@pytest.mark.parametrize("rate", [1, 100, 1_000_000])
def test_implausible_header_rate_refused_before_decoding(
    tmp_path: Path, rate: int
) -> None:
    # a 1 Hz header made the resampler produce 16000 samples per stored sample (GBs)
    p = tmp_path / "rate.wav"
    p.write_bytes(_wav_header(rate, 36 + 32_000, 32_000) + bytes(32_000))
    with pytest.raises(AudioDecodeError, match=f"rate.wav: .*{rate} Hz"):
        load(p)


@pytest.mark.parametrize("rate", [0, 1, 1999, 800_000])
def test_implausible_raw_rate_is_a_usage_error(goforward_raw: Path, rate: int) -> None:
    with pytest.raises(ConfigError, match="2000-768000 Hz"):
        load(goforward_raw, raw_sample_rate=rate)


def test_raw_rate_leaves_files_with_headers_alone(
    goforward_raw: Path, jfk_flac: Path, tmp_path: Path
) -> None:
    # one --raw-sample-rate for a mixed batch: the FLAC is still read from its header,
    # by name or (bytes, a file without a suffix) by its first bytes
    expected = sf.info(str(jfk_flac)).duration
    _check(load(jfk_flac, raw_sample_rate=16000), expected)
    _check(load(jfk_flac.read_bytes(), raw_sample_rate=16000), expected)
    bare = tmp_path / "recording"
    shutil.copy(jfk_flac, bare)
    _check(load(bare, raw_sample_rate=16000), expected)
    raw = load(goforward_raw, raw_sample_rate=16000)
    assert raw.duration == pytest.approx(
        goforward_raw.stat().st_size / 2 / 16000, abs=1e-3
    )


def test_name_is_what_messages_call_the_source(
    goforward_raw: Path, tmp_path: Path
) -> None:
    """A server decodes a temporary copy; its errors must name the client's file, with
    no rewriting of the message afterwards (issue 17)."""
    copy = tmp_path / "aural-upload-x1y2.raw"
    shutil.copy(goforward_raw, copy)
    with pytest.raises(ConfigError) as caught:
        load(copy, name="meeting.raw")
    assert str(caught.value).startswith("meeting.raw: ") and str(tmp_path) not in str(
        caught.value
    )
    broken = tmp_path / "aural-upload-z9.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt not audio")
    with pytest.raises(AudioDecodeError, match=r"^talk\.wav: ") as caught_decode:
        probe(broken, name="talk.wav")
    assert str(tmp_path) not in str(caught_decode.value)
    with pytest.raises(AudioTooLongError, match=r"^talk\.raw: longer than"):
        load(copy, raw_sample_rate=16000, max_duration=0.5, name="talk.raw")
    # what the source holds is still judged by the real file, not by the name shown
    assert load(copy, raw_sample_rate=16000, name="talk").duration == pytest.approx(
        copy.stat().st_size / 2 / 16000, abs=1e-3
    )


def test_raw_rate_leaves_nist_sphere_alone(tmp_path: Path, jfk_flac: Path) -> None:
    # .sph is audio with a header: a raw rate given for a batch must not read it as PCM
    samples, rate = sf.read(jfk_flac, dtype="float32")
    sph = tmp_path / "talk.sph"
    sf.write(sph, samples, rate, format="NIST", subtype="PCM_16")
    _check(load(sph, raw_sample_rate=8000), len(samples) / rate)


def test_one_list_of_audio_suffixes() -> None:
    from aural.audio import effects
    from aural.audio.load import AUDIO_SUFFIXES, RAW_SUFFIXES

    assert set(RAW_SUFFIXES) < set(AUDIO_SUFFIXES)
    assert all(s == s.lower() and s.startswith(".") for s in AUDIO_SUFFIXES)
    assert effects.AUDIO_SUFFIXES is AUDIO_SUFFIXES  # effects reads the same list


def test_max_duration_stops_decoding(jfk_flac: Path) -> None:
    duration = sf.info(str(jfk_flac)).duration  # 11 s
    with pytest.raises(AudioTooLongError, match="longer than the limit of 5 s") as info:
        load(jfk_flac, max_duration=5)
    assert info.value.limit == 5
    _check(load(jfk_flac, max_duration=duration + 0.5), duration)


def test_file_name_that_is_not_utf8(
    tmp_path: Path, jfk_flac: Path, ldc_wav: Path
) -> None:
    # Python keeps such names as surrogates, which libsndfile's path encoding refused
    flac = tmp_path / os.fsdecode(b"bad\xff name.flac")
    shutil.copy(jfk_flac, flac)
    _check(load(flac), sf.info(str(jfk_flac)).duration)
    assert probe(flac).sample_rate == 44100
    m4a = tmp_path / os.fsdecode(b"bad\xfe.m4a")
    _encode_m4a(ldc_wav, m4a)
    assert load(m4a).duration == pytest.approx(sf.info(str(ldc_wav)).duration, abs=0.1)


def _encode_m4a(src: Path, dst: Path) -> None:
    import av

    samples, rate = sf.read(src, dtype="float32")
    with av.open(str(dst), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=rate)
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(
            samples[None, :], format="fltp", layout="mono"
        )
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def test_gsm_wav_that_libsndfile_cannot_seek(tmp_path: Path, ldc_wav: Path) -> None:
    x, rate = sf.read(ldc_wav, dtype="float32")
    p = tmp_path / "phone.wav"
    sf.write(p, resample(x, rate, 8000), 8000, subtype="GSM610")
    _check(load(p), len(x) / rate, tol=0.05)


def test_infinite_samples_become_silence(tmp_path: Path) -> None:
    x = np.full(16000, 0.1, np.float32)
    x[::400] = np.inf
    x[200::400] = -np.inf
    p = tmp_path / "inf.wav"
    sf.write(p, x, 16000, subtype="FLOAT")
    y = load(p).samples
    assert y[0] == 0 and y[200] == 0 and np.abs(y).max() <= 0.1 + 1e-6


def test_too_short_to_hold_audio(tmp_path: Path) -> None:
    p = tmp_path / "blip.wav"
    sf.write(p, np.full(1, 0.5, np.float32), 44100)
    with pytest.raises(EmptyAudioError, match="blip.wav: too short"):
        load(p)


def test_not_audio(tmp_path: Path) -> None:
    p = tmp_path / "notes.wav"
    p.write_text("this is not audio at all\n" * 50)
    with pytest.raises(UnsupportedAudioError, match="notes.wav"):
        load(p)


def test_truncated_flac(tmp_path: Path, jfk_flac: Path) -> None:
    data = jfk_flac.read_bytes()
    p = tmp_path / "cut.flac"
    p.write_bytes(data[: len(data) // 3])
    try:
        w = load(p)
    except AudioDecodeError as err:
        assert "cut.flac" in str(err)
    else:  # decoders may return the intact prefix; it must be shorter than the original
        assert w.duration < 11.0


def test_corrupt_header(tmp_path: Path, ldc_wav: Path) -> None:
    data = bytearray(ldc_wav.read_bytes())
    data[:12] = b"\x00" * 12
    p = tmp_path / "bad.wav"
    p.write_bytes(bytes(data))
    with pytest.raises(AudioDecodeError, match="bad.wav"):
        load(p)


def test_empty_path_and_bad_output_rate(ldc_wav: Path) -> None:
    with pytest.raises(ConfigError, match="path is empty"):
        load("")  # was "is a directory" (Path("") is ".")
    with pytest.raises(ConfigError, match="sample_rate must be a positive integer"):
        load(load(ldc_wav), sample_rate=0)  # was soxr's ValueError


def test_named_pipe_rejected_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "stream.wav"
    os.mkfifo(fifo)  # was reported as an empty file
    with pytest.raises(AudioDecodeError, match="stream.wav: is a named pipe"):
        load(fifo)


def test_directory_rejected(tmp_path: Path) -> None:
    with pytest.raises(AudioDecodeError, match="directory"):
        load(tmp_path)


@pytest.fixture(scope="module")
def encoded_samples(
    tmp_path_factory: pytest.TempPathFactory, ldc_wav: Path
) -> list[bytes]:
    """The same real recording as float WAV, u8 WAV, FLAC, OGG Vorbis and MP3 bytes."""
    x, rate = sf.read(ldc_wav, dtype="float32")
    d = tmp_path_factory.mktemp("fuzz")
    out = []
    for name, kw in [
        ("f.wav", {"subtype": "FLOAT"}),
        ("u.wav", {"subtype": "PCM_U8"}),
        ("x.flac", {}),
        ("x.ogg", {"format": "OGG", "subtype": "VORBIS"}),
        ("x.mp3", {"format": "MP3"}),
    ]:
        sf.write(d / name, x[:16000], rate, **kw)
        out.append((d / name).read_bytes())
    return out


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_damaged_files_load_or_fail_cleanly(encoded_samples: list[bytes], data) -> None:
    """Flipped header bytes, truncation or spliced noise in real encoded audio: ``load``
    returns finite samples or raises an AuralError, never anything else."""
    raw = bytearray(data.draw(st.sampled_from(encoded_samples)))
    how = data.draw(st.sampled_from(["header", "anywhere", "truncate", "splice"]))
    if how == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    elif how == "splice":
        at = data.draw(st.integers(0, len(raw)))
        raw[at : at + 400] = data.draw(st.binary(min_size=400, max_size=400))
    else:
        limit = min(len(raw), 200) if how == "header" else len(raw)
        for at in data.draw(
            st.lists(st.integers(0, limit - 1), min_size=1, max_size=20)
        ):
            raw[at] = data.draw(st.integers(0, 255))
    try:
        w = load(io.BytesIO(bytes(raw)))
    except AuralError:
        return
    assert np.isfinite(w.samples).all()


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 50_000), rate=st.sampled_from([8000, 11025, 22050, 44100, 48000])
)
def test_resample_length_rule(n: int, rate: int) -> None:
    out = resample(np.zeros(n, np.float32), rate, 16000)
    assert abs(len(out) - round(n * 16000 / rate)) <= 1


def test_resample_preserves_tone() -> None:
    t = np.arange(44100) / 44100
    x = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    y = resample(x, 44100, 16000)
    spectrum = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spectrum) * 16000 / len(y) - 1000) < 2


def test_long_file_bounded_memory(tmp_path: Path) -> None:
    """A 20-minute 48 kHz stereo file decodes block by block (peak well below 2x
    input)."""
    import tracemalloc

    p = tmp_path / "long.flac"
    rng = np.random.default_rng(0)
    with sf.SoundFile(p, "w", 48000, 2, format="FLAC") as f:
        for _ in range(20):
            f.write((rng.standard_normal((48000 * 60, 2)) * 0.05).astype(np.float32))
    tracemalloc.start()
    w = load(p)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert abs(w.duration - 1200) < 0.01
    in_memory_at_source_rate = 48000 * 1200 * 2 * 4
    assert peak < 0.5 * in_memory_at_source_rate
