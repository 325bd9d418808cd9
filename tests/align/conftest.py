"""Real clips with reference transcripts for the alignment tests."""

from __future__ import annotations

from pathlib import Path

import pytest


def reference(flac: Path) -> str:
    """The LibriSpeech reference transcript of ``flac``."""
    trans = next(flac.parent.glob("*.trans.txt"))
    for line in trans.read_text().splitlines():
        uid, text = line.split(" ", 1)
        if uid == flac.stem:
            return text
    raise KeyError(flac.stem)


@pytest.fixture(scope="session")
def aligned_clips(dev_clean: Path) -> list[tuple[Path, str]]:
    """dev-clean clips whose audio matches their reference (1272-128104-0000 does
    not)."""
    names = [
        "1988/24833/1988-24833-0001",
        "2412/153948/2412-153948-0002",
        "3752/4944/3752-4944-0000",
    ]
    return [
        (dev_clean / f"{n}.flac", reference(dev_clean / f"{n}.flac")) for n in names
    ]


@pytest.fixture(scope="session")
def whisper_aligner():
    from aural.align import create_aligner

    return create_aligner("whisper", cpu_threads=2)


@pytest.fixture(scope="session")
def sphinx_aligner():
    from aural.align import create_aligner

    return create_aligner("sphinx")


@pytest.fixture(scope="session")
def tiny_ctc_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded, randomly initialised Wav2Vec2ForCTC + processor saved locally."""
    import json

    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    folder = tmp_path_factory.mktemp("tiny_ctc_align")
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
