"""Character and BPE tokenizers on real LibriSpeech transcripts."""

from __future__ import annotations

from pathlib import Path

import pytest

from aural.errors import ConfigError, ModelNotFoundError
from aural.text.tokenizers import (
    BLANK,
    BpeTokenizer,
    CharTokenizer,
    build_tokenizer,
    load_tokenizer,
    normalize_transcript,
)


@pytest.fixture(scope="module")
def transcripts(shared_data: Path) -> list[str]:
    texts = []
    for f in sorted(
        (shared_data / "LibriSpeech" / "train-clean-100").rglob("*.trans.txt")
    ):
        for line in f.read_text().splitlines():
            texts.append(line.split(" ", 1)[1])
    assert len(texts) > 200
    return texts


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HELLO WORLD", "hello world"),
        ("  Well-known,  isn't it? ", "well known isn't it"),
        ("It\u2019s 1865.", "it's 1865"),
        ("", ""),
    ],
)
def test_normalize_transcript_cases(raw: str, expected: str) -> None:
    assert normalize_transcript(raw) == expected


def test_char_tokenizer_round_trip(transcripts: list[str], tmp_path: Path) -> None:
    tok = CharTokenizer.from_texts(transcripts)
    assert tok.symbols[0] == BLANK and tok.blank_id == 0
    assert set("abcdefghijklmnopqrstuvwxyz '") <= set(tok.symbols)
    for text in transcripts[:20]:
        ids = tok.encode(text)
        assert 0 not in ids
        assert tok.decode(ids) == normalize_transcript(text)
    tok.save(tmp_path)
    again = load_tokenizer(tmp_path)
    assert again == tok


def test_char_tokenizer_drops_unknown_characters() -> None:
    tok = CharTokenizer.from_texts(["ab"])
    assert tok.decode(tok.encode("abc ba")) == "ab ba"


def test_bpe_tokenizer_trains_and_reloads(
    transcripts: list[str], tmp_path: Path
) -> None:
    tok = BpeTokenizer.train(transcripts, vocab_size=200)
    assert 100 < tok.vocab_size <= 201
    text = transcripts[3]
    ids = tok.encode(text)
    assert ids and min(ids) >= 1 and max(ids) < tok.vocab_size
    assert len(ids) < len(
        normalize_transcript(text)
    )  # pieces are longer than characters
    assert tok.decode(ids) == normalize_transcript(text)
    tok.save(tmp_path)
    again = load_tokenizer(tmp_path)
    assert isinstance(again, BpeTokenizer)
    assert again.encode(text) == ids
    assert again.id_to_piece(0) == BLANK


def test_tokenizer_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="wordpiece"):
        build_tokenizer("wordpiece", ["a"])  # type: ignore[arg-type]
    with pytest.raises(ModelNotFoundError, match=str(tmp_path)):
        load_tokenizer(tmp_path)
    with pytest.raises(ConfigError, match="no non-empty"):
        BpeTokenizer.train(["!!!", ""], vocab_size=50)
    with pytest.raises(ConfigError, match="blank"):
        CharTokenizer(("a", "b"))
