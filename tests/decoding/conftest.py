"""Helpers that build CTC posteriors with known answers."""

from __future__ import annotations

import numpy as np
import pytest

CHAR_VOCAB = ["<pad>", "|", "A", "B", "C", "D", "E", "G", "L", "O", "S", "T", "<unk>"]


def peaked(labels: list[str], vocab: list[str], p: float = 0.9) -> np.ndarray:
    """Log posteriors with one row per label ('' = blank), that label at probability
    p."""
    rows = np.full((len(labels), len(vocab)), (1.0 - p) / (len(vocab) - 1))
    for t, lab in enumerate(labels):
        rows[t, vocab.index(lab) if lab else 0] = p
    return np.log(rows)


def spell(text: str, frames_per_char: int = 2, gap: int = 1) -> list[str]:
    """Frame labels for `text`: each character for some frames then blank frames."""
    labels: list[str] = []
    for ch in text:
        labels += ["|" if ch == " " else ch] * frames_per_char + [""] * gap
    return labels


@pytest.fixture
def char_vocab() -> list[str]:
    return list(CHAR_VOCAB)
