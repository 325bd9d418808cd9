"""Shared fixtures. Real recordings come from ../shared/data through `shared_data`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def find_shared_data() -> Path | None:
    """The one place tests look for ../shared/data (override with AURAL_TEST_DATA)."""
    env = os.environ.get("AURAL_TEST_DATA")
    candidates = [Path(env)] if env else []
    candidates += [REPO.parent / "shared" / "data"]
    for c in candidates:
        if (c / "LibriSpeech").is_dir():
            return c
    return None


@pytest.fixture(scope="session", autouse=True)
def _private_state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Servers the tests start (in-process or as `aural serve` subprocesses) keep their
    job store under a throwaway XDG_STATE_HOME, never in the user's ~/.local/state."""
    old = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))
    yield
    if old is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = old


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = find_shared_data()
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("../shared/data is missing under CI (set AURAL_TEST_DATA)")
        pytest.skip("real recordings not found: set AURAL_TEST_DATA to shared/data")
    return path


@pytest.fixture(scope="session")
def misc_dir(shared_data: Path) -> Path:
    return shared_data / "misc"


@pytest.fixture(scope="session")
def dev_clean(shared_data: Path) -> Path:
    return shared_data / "LibriSpeech" / "dev-clean"


@pytest.fixture(scope="session")
def jfk_flac(misc_dir: Path) -> Path:
    return misc_dir / "jfk.flac"


@pytest.fixture(scope="session")
def goforward_raw(misc_dir: Path) -> Path:
    return misc_dir / "goforward.raw"


@pytest.fixture(scope="session")
def libri_8k(misc_dir: Path) -> Path:
    return misc_dir / "1272-128104-0004-8k.wav"


@pytest.fixture(scope="session")
def ldc_wav(misc_dir: Path) -> Path:
    return misc_dir / "LDC93S1.wav"


@pytest.fixture(scope="session")
def whisper_engine():
    """Whisper tiny.en from the installed registry package, loaded once per session."""
    from aural.engines import create_engine

    return create_engine("whisper")


@pytest.fixture(scope="session")
def sphinx_engine():
    """PocketSphinx en-us, loaded once per session."""
    from aural.engines import create_engine

    return create_engine("sphinx")


def write_tone(
    path: Path,
    seconds: float = 1.0,
    sample_rate: int = 16000,
    channels: int = 1,
    subtype: str = "PCM_16",
    fmt: str | None = None,
) -> Path:
    """A 440 Hz tone fixture (generated, never committed)."""
    import numpy as np
    import soundfile as sf

    t = np.arange(int(seconds * sample_rate)) / sample_rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t).astype(np.float32)
    if channels > 1:
        x = np.stack([x] * channels, axis=1)
    sf.write(path, x, sample_rate, subtype=subtype, format=fmt)
    return path


@pytest.fixture(scope="session")
def tiny_ctc_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded, randomly initialised Wav2Vec2ForCTC + processor saved locally (the
    aligner and the alignment picture need a CTC model; none is downloaded in tests)."""
    import json

    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("tiny_ctc")
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4}
    vocab.update({c: 5 + i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ'")})
    (folder / "vocab.json").write_text(json.dumps(vocab))
    tokenizer = transformers.Wav2Vec2CTCTokenizer(str(folder / "vocab.json"))
    extractor = transformers.Wav2Vec2FeatureExtractor(return_attention_mask=True)
    torch.manual_seed(0)
    config = transformers.Wav2Vec2Config(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(16,) * 7,
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        feat_extract_norm="layer",
        do_stable_layer_norm=True,
    )
    transformers.Wav2Vec2ForCTC(config).save_pretrained(folder)
    transformers.Wav2Vec2Processor(
        feature_extractor=extractor, tokenizer=tokenizer
    ).save_pretrained(folder)
    return folder
