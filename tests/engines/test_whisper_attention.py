"""Whisper cross-attention maps: a tiny random model for shapes and data flow, the real
tiny.en for agreement with CTranslate2's own alignment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from aural.errors import ConfigError, OptionConflictError

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tests.engines.tiny_whisper import tiny_whisper  # noqa: E402

from aural.engines.whisper import AttentionMap, attention_map  # noqa: E402
from aural.engines.whisper.attention import (  # noqa: E402
    alignment_matrix,
    dtw_path,
)


@pytest.fixture(scope="module")
def tiny_en_folder() -> Path:
    from aural.engines.whisper import resolve_whisper_model

    return resolve_whisper_model("tiny.en")


@pytest.fixture(scope="module")
def hf_tokenizer(tiny_en_folder: Path) -> Any:
    import tokenizers

    return tokenizers.Tokenizer.from_file(str(tiny_en_folder / "tokenizer.json"))


@pytest.fixture(scope="module")
def random_whisper() -> Any:
    """A seeded, randomly initialised Whisper: d_model 64, 2+2 layers, 4 heads."""
    model = tiny_whisper(0, attn_implementation="eager")
    model.generation_config.alignment_heads = [[1, 0], [1, 2]]
    return model


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    rng = np.random.default_rng(0)
    return (0.1 * rng.standard_normal(16000 * 3)).astype(np.float32)


def test_dtw_path_diagonal_matrix_gives_diagonal() -> None:
    cost = np.where(np.eye(6, dtype=bool), -1.0, 1.0)
    rows, columns = dtw_path(cost)
    assert rows.tolist() == list(range(6))
    assert columns.tolist() == list(range(6))


def _dtw_by_cells(cost: np.ndarray) -> tuple[list[int], list[int]]:
    """The textbook DTW, one cell at a time (ties: right, as Whisper)."""
    n, m = cost.shape
    acc = np.full((n + 1, m + 1), np.inf)
    acc[0, 0] = 0.0
    step = np.full((n + 1, m + 1), 2)
    step[1:, 0] = 1
    for j in range(1, m + 1):
        for i in range(1, n + 1):
            moves = [acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1]]
            if moves[0] < moves[1] and moves[0] < moves[2]:
                best = 0
            elif moves[1] < moves[0] and moves[1] < moves[2]:
                best = 1
            else:
                best = 2
            acc[i, j] = cost[i - 1, j - 1] + moves[best]
            step[i, j] = best
    path = []
    i, j = n, m
    while i > 0 or j > 0:
        path.append((i - 1, j - 1))
        i, j = [(i - 1, j - 1), (i - 1, j), (i, j - 1)][step[i, j]]
    rows, columns = zip(*path[::-1], strict=True)
    return list(rows), list(columns)


@pytest.mark.parametrize("seed", range(5))
def test_dtw_path_matches_cell_by_cell_dtw(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cost = rng.standard_normal((rng.integers(1, 9), rng.integers(1, 40)))
    rows, columns = dtw_path(cost)
    assert (rows.tolist(), columns.tolist()) == _dtw_by_cells(cost)


def test_dtw_path_blocks_follow_the_cheap_cells() -> None:
    # three rows, each cheap on its own block of four columns
    cost = np.ones((3, 12))
    for k in range(3):
        cost[k, 4 * k : 4 * k + 4] = -1.0
    rows, columns = dtw_path(cost)
    jumps = np.pad(np.diff(rows), (1, 0), constant_values=1).astype(bool)
    assert columns[jumps].tolist() == [0, 4, 8]
    assert columns[-1] == 11 and rows[-1] == 2
    assert np.all(np.diff(rows) >= 0) and np.all(np.diff(columns) >= 0)


def test_alignment_matrix_picks_out_the_attended_frames() -> None:
    probs = np.full((2, 3, 30), 0.01)
    for k in range(3):
        probs[:, k, 10 * k : 10 * k + 10] = 1.0
    probs /= probs.sum(-1, keepdims=True)
    matrix = alignment_matrix(probs)
    assert matrix.shape == (3, 30)
    assert matrix.argmax(axis=0).tolist() == [k for k in range(3) for _ in range(10)]


def test_attention_map_random_model_shapes(
    random_whisper: Any, hf_tokenizer: Any, noise: np.ndarray
) -> None:
    amap = attention_map(
        random_whisper, noise, "hello there, my friend", tokenizer=hf_tokenizer
    )
    assert isinstance(amap, AttentionMap)
    num_tokens = len(amap.tokens)
    assert amap.tokens[-1] == 50256  # the end-of-text row
    assert len(amap.token_texts) == num_tokens
    assert amap.weights.shape == (num_tokens, 150)  # 3 s at 50 frames a second
    assert amap.weights.dtype == np.float32
    assert amap.head_weights.shape == (2, num_tokens, 150)
    np.testing.assert_allclose(amap.head_weights.sum(-1), 1.0, rtol=1e-4)
    assert amap.heads == ((1, 0), (1, 2))
    assert amap.mel.shape == (80, 300)
    assert amap.token_probabilities.shape == (num_tokens - 1,)
    assert amap.path.shape[0] == 2 and amap.path[:, -1].tolist() == [
        num_tokens - 1,
        149,
    ]
    assert not amap.weights.flags.writeable
    assert amap.duration == pytest.approx(3.0)
    assert (amap.frames_per_second, amap.mel_frames_per_second) == (50.0, 100.0)


def test_attention_map_random_model_words_monotonic(
    random_whisper: Any, hf_tokenizer: Any, noise: np.ndarray
) -> None:
    text = "hello there, my friend"
    amap = attention_map(random_whisper, noise, text, tokenizer=hf_tokenizer)
    assert [w.text for w in amap.words] == text.split()
    for word in amap.words:
        assert 0.0 <= word.start <= word.end <= amap.duration
        assert 0.0 <= word.probability <= 1.0
    starts = [w.start for w in amap.words]
    assert starts == sorted(starts)
    ends = [w.end for w in amap.words]
    assert all(a <= b for a, b in zip(ends, starts[1:], strict=False))


def test_attention_map_tokens_equal_text(
    random_whisper: Any, hf_tokenizer: Any, noise: np.ndarray
) -> None:
    by_text = attention_map(
        random_whisper, noise, "good morning", tokenizer=hf_tokenizer
    )
    by_tokens = attention_map(
        random_whisper, noise, tokens=by_text.tokens[:-1], tokenizer=hf_tokenizer
    )
    np.testing.assert_array_equal(by_text.weights, by_tokens.weights)
    assert by_text.words == by_tokens.words


def test_attention_map_default_heads_are_the_second_half(
    hf_tokenizer: Any, noise: np.ndarray
) -> None:
    model = tiny_whisper(1, attn_implementation="eager")
    amap = attention_map(model, noise[:16000], "yes", tokenizer=hf_tokenizer)
    assert amap.heads == ((1, 0), (1, 1), (1, 2), (1, 3))


@pytest.mark.parametrize(
    ("kwargs", "error", "named"),
    [
        ({}, ConfigError, "no text"),
        ({"text": "a", "tokens": [1]}, OptionConflictError, "not both"),
        ({"text": "a", "language": "de"}, OptionConflictError, "'de'"),
        ({"tokens": [50257]}, ConfigError, "50257"),
        ({"text": "word " * 500}, ConfigError, "tokens long"),
    ],
)
def test_attention_map_refuses_bad_input(
    random_whisper: Any,
    hf_tokenizer: Any,
    noise: np.ndarray,
    kwargs: dict[str, Any],
    error: type[Exception],
    named: str,
) -> None:
    with pytest.raises(error, match=named):
        attention_map(random_whisper, noise, tokenizer=hf_tokenizer, **kwargs)


def test_attention_map_refuses_long_and_tiny_audio(
    random_whisper: Any, hf_tokenizer: Any
) -> None:
    with pytest.raises(ConfigError, match="31.0 s"):
        attention_map(
            random_whisper,
            np.zeros(31 * 16000, np.float32),
            "a",
            tokenizer=hf_tokenizer,
        )
    with pytest.raises(ConfigError, match="under one attention frame"):
        attention_map(
            random_whisper, np.zeros(100, np.float32), "a", tokenizer=hf_tokenizer
        )


def test_attention_map_refuses_sdpa_model(hf_tokenizer: Any, noise: np.ndarray) -> None:
    model = tiny_whisper(0, layers=1, heads=2)
    with pytest.raises(ConfigError, match="eager"):
        attention_map(model, noise, "a", tokenizer=hf_tokenizer)


# -- the real tiny.en -------------------------------------------------------------

# Every other dev-clean utterance (all are under 30 s): 6 clips, 97 words.
AGREEMENT_CLIPS = [
    "1272/128104/1272-128104-0000",
    "1988/24833/1988-24833-0000",
    "1988/24833/1988-24833-0002",
    "2412/153948/2412-153948-0000",
    "2412/153948/2412-153948-0002",
    "3752/4944/3752-4944-0001",
]
JFK_TEXT = (
    "And so my fellow Americans, ask not what your country can do for you, ask what "
    "you can do for your country."
)


def _reference(flac: Path) -> str:
    trans = next(flac.parent.glob("*.trans.txt"))
    for line in trans.read_text().splitlines():
        uid, text = line.split(" ", 1)
        if uid == flac.stem:
            return text.lower()  # Whisper's tokens are trained on normal casing
    raise KeyError(flac.stem)


def _ctranslate2_words(
    model: Any, tokens: list[int], mel: np.ndarray, num_mel_frames: int
) -> list[dict[str, Any]]:
    """CTranslate2's own alignment (faster-whisper's ``find_alignment``) of ``tokens``
    on the same log-mel, punctuation joined as in aural's word timestamps."""
    import ctranslate2
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import merge_punctuations

    tok = Tokenizer(model.hf_tokenizer, False, task="transcribe", language="en")
    encoded = model.model.encode(ctranslate2.StorageView.from_array(mel[None]))
    words = model.find_alignment(tok, [tokens], encoded, num_mel_frames)[0]
    merge_punctuations(words, "\"'“¿([{-", "\"'.。,，!！?？:：”)]}、")
    return [w for w in words if w["word"].strip()]


@pytest.mark.slow
def test_attention_map_tiny_en_agrees_with_ctranslate2(
    dev_clean: Path, tiny_en_folder: Path
) -> None:
    """Word boundaries from our DTW against CTranslate2's ``align`` on the same
    audio, text and log-mel.

    Both run the same method on the same weights, so they may differ only where
    float arithmetic tips a near-tie in the DTW by an attention frame (20 ms). The
    limit is therefore below one frame for the median, and a frame for nearly every
    boundary. Measured on all 12 dev-clean utterances (458 boundaries): identical to
    CTranslate2 in float32 (every boundary); against CTranslate2 at int8 compute (the
    engine's default on a CPU) median 0, mean 3.6 ms, 90th percentile 20 ms, max
    140 ms.
    """
    from faster_whisper import WhisperModel

    from aural.audio import load
    from aural.engines.whisper.attention import _log_mel

    models = {
        kind: WhisperModel(
            str(tiny_en_folder), device="cpu", compute_type=kind, cpu_threads=2
        )
        for kind in ("float32", "int8")
    }
    differences: dict[str, list[float]] = {kind: [] for kind in models}
    for name in AGREEMENT_CLIPS:
        flac = dev_clean / f"{name}.flac"
        samples = load(flac).samples
        amap = attention_map("tiny.en", samples, _reference(flac))
        mel = _log_mel(samples, 80)
        for kind, model in models.items():
            theirs = _ctranslate2_words(
                model, list(amap.tokens[:-1]), mel, samples.size // 160
            )
            assert [w["word"].strip() for w in theirs] == [w.text for w in amap.words]
            for ours, other in zip(amap.words, theirs, strict=True):
                differences[kind] += [
                    abs(ours.start - other["start"]),
                    abs(ours.end - other["end"]),
                ]
    for kind, values in differences.items():
        gaps = np.array(values)
        assert gaps.size > 150
        assert np.median(gaps) < 0.02, kind  # below one attention frame
        assert np.mean(gaps <= 0.02 + 1e-6) >= 0.85, kind
        assert np.max(gaps) <= 0.3, kind


@pytest.mark.slow
def test_attention_map_tiny_en_words_match_the_text(jfk_flac: Path) -> None:
    from aural.audio import load

    waveform = load(jfk_flac)
    amap = attention_map("tiny.en", waveform, JFK_TEXT)
    assert [w.text for w in amap.words] == JFK_TEXT.split()
    assert amap.heads == (
        (1, 0),
        (2, 0),
        (2, 5),
        (3, 0),
        (3, 1),
        (3, 2),
        (3, 3),
        (3, 4),
    )
    starts = [w.start for w in amap.words]
    assert starts == sorted(starts)
    assert all(0.0 <= w.start <= w.end <= amap.duration for w in amap.words)
    # the model hears this text: its tokens are likely
    assert np.mean([w.probability for w in amap.words]) > 0.5
    # "ask not" comes after the pause that follows "Americans," (about 3.5 s in)
    ask = amap.words[5]
    assert ask.text == "ask" and 3.0 < ask.start < 4.5
    assert amap.mel.shape == (80, waveform.samples.size // 160)
    assert amap.weights.shape == (len(amap.tokens), waveform.samples.size // 320)
