"""Tokenizers for CTC models: characters and SentencePiece BPE.

Both reserve id 0 for the CTC blank, normalise transcripts the same way
(:func:`normalize_transcript`) and save themselves into a folder (next to a checkpoint)
as ``tokenizer.json`` plus, for BPE, ``tokenizer.model``; :func:`load_tokenizer` reads
either back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from aural.errors import ConfigError, MissingDependencyError, ModelNotFoundError

__all__ = [
    "BLANK",
    "BpeTokenizer",
    "CharTokenizer",
    "Tokenizer",
    "TokenizerKind",
    "build_tokenizer",
    "load_tokenizer",
    "normalize_transcript",
]

BLANK = "<blank>"
TOKENIZER_FILE = "tokenizer.json"
BPE_MODEL_FILE = "tokenizer.model"
TokenizerKind = Literal["char", "bpe"]

_KEEP = re.compile(r"[^a-z0-9' ]+")
_SPACES = re.compile(r"\s+")


def normalize_transcript(text: str) -> str:
    """Lower-case, map anything but ``a-z 0-9 '`` and spaces to a space, squeeze spaces.

    Hyphens and punctuation become word breaks ("well-known," -> "well known").
    """
    text = _KEEP.sub(" ", text.lower().replace("\u2019", "'"))
    return _SPACES.sub(" ", text).strip()


class Tokenizer(Protocol):
    """What a CTC model needs from a tokenizer."""

    kind: TokenizerKind

    @property
    def vocab_size(self) -> int: ...

    @property
    def blank_id(self) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...

    def id_to_piece(self, token_id: int) -> str: ...

    def save(self, folder: str | Path) -> None: ...


@dataclass(frozen=True, slots=True)
class CharTokenizer:
    """One token per character; id 0 is the blank, ``" "`` is the word separator.

    Attributes:
        symbols: the vocabulary, ``symbols[0] == BLANK``.
    """

    symbols: tuple[str, ...]
    kind: TokenizerKind = "char"

    def __post_init__(self) -> None:
        if not self.symbols or self.symbols[0] != BLANK:
            raise ConfigError(f"character vocabulary must start with {BLANK!r}")
        if len(set(self.symbols)) != len(self.symbols):
            raise ConfigError("character vocabulary has duplicate symbols")
        if any(len(s) != 1 for s in self.symbols[1:]):
            raise ConfigError("character vocabulary symbols must be single characters")

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> CharTokenizer:
        """The characters seen in ``texts`` after normalisation (space always
        included)."""
        chars = {" "}
        for t in texts:
            chars.update(normalize_transcript(t))
        return cls((BLANK, *sorted(chars)))

    @property
    def vocab_size(self) -> int:
        return len(self.symbols)

    @property
    def blank_id(self) -> int:
        return 0

    def encode(self, text: str) -> list[int]:
        """Ids of the normalised text; characters outside the vocabulary are dropped."""
        index = {s: i for i, s in enumerate(self.symbols)}
        return [index[c] for c in normalize_transcript(text) if c in index]

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ids (blanks skipped; no CTC collapsing here)."""
        chars = [self.symbols[i] for i in ids if 0 < i < len(self.symbols)]
        return _SPACES.sub(" ", "".join(chars)).strip()

    def id_to_piece(self, token_id: int) -> str:
        return self.symbols[token_id]

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / TOKENIZER_FILE).write_text(
            json.dumps({"kind": "char", "symbols": list(self.symbols)}, indent=1) + "\n"
        )


class BpeTokenizer:
    """SentencePiece BPE pieces; CTC id = SentencePiece id + 1, so 0 stays the blank.

    Build one with :meth:`train` from training transcripts, or :meth:`load` a saved one.
    """

    kind: TokenizerKind = "bpe"

    def __init__(self, model_proto: bytes) -> None:
        spm = _sentencepiece()
        self._proto = model_proto
        self._sp = spm.SentencePieceProcessor()
        self._sp.LoadFromSerializedProto(model_proto)

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 256) -> BpeTokenizer:
        """Train a BPE model on normalised ``texts`` (in memory; nothing is written).

        Args:
            texts: training transcripts.
            vocab_size: target number of pieces (the model may stop below it on tiny
                corpora; the CTC vocabulary is one larger, for the blank).
        """
        spm = _sentencepiece()
        import io

        sentences = [n for n in (normalize_transcript(t) for t in texts) if n]
        if not sentences:
            raise ConfigError("cannot train a BPE tokenizer: no non-empty transcripts")
        if vocab_size < 8:
            raise ConfigError(f"BPE vocab_size must be >= 8, got {vocab_size}")
        buf = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sentences),
            model_writer=buf,
            vocab_size=vocab_size,
            model_type="bpe",
            character_coverage=1.0,
            hard_vocab_limit=False,
            unk_id=0,
            bos_id=-1,
            eos_id=-1,
            pad_id=-1,
            num_threads=1,
            minloglevel=2,
        )
        return cls(buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> BpeTokenizer:
        return cls(Path(path).read_bytes())

    @property
    def vocab_size(self) -> int:
        return int(self._sp.GetPieceSize()) + 1

    @property
    def blank_id(self) -> int:
        return 0

    def encode(self, text: str) -> list[int]:
        return [i + 1 for i in self._sp.EncodeAsIds(normalize_transcript(text))]

    def decode(self, ids: Sequence[int]) -> str:
        pieces = [int(i) - 1 for i in ids if 0 < int(i) < self.vocab_size]
        return _SPACES.sub(" ", str(self._sp.DecodeIds(pieces))).strip()

    def id_to_piece(self, token_id: int) -> str:
        return BLANK if token_id == 0 else str(self._sp.IdToPiece(token_id - 1))

    def save(self, folder: str | Path) -> None:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / BPE_MODEL_FILE).write_bytes(self._proto)
        (folder / TOKENIZER_FILE).write_text(
            json.dumps({"kind": "bpe", "model": BPE_MODEL_FILE}, indent=1) + "\n"
        )


def _sentencepiece():  # type: ignore[no-untyped-def]
    try:
        import sentencepiece
    except ImportError as err:
        raise MissingDependencyError(
            "BPE tokenizers need the 'sentencepiece' package; install it with "
            "`pip install 'aural[train]'`"
        ) from err
    return sentencepiece


def build_tokenizer(
    kind: TokenizerKind, texts: Iterable[str], vocab_size: int = 256
) -> CharTokenizer | BpeTokenizer:
    """Build a tokenizer of ``kind`` from training transcripts."""
    if kind == "char":
        return CharTokenizer.from_texts(texts)
    if kind == "bpe":
        return BpeTokenizer.train(texts, vocab_size)
    raise ConfigError(f"tokenizer kind must be 'char' or 'bpe', got {kind!r}")


def load_tokenizer(folder: str | Path) -> CharTokenizer | BpeTokenizer:
    """Read a tokenizer saved by ``save(folder)``.

    Raises:
        ModelNotFoundError: the folder has no ``tokenizer.json``.
        ConfigError: the file is malformed.
    """
    folder = Path(folder)
    path = folder / TOKENIZER_FILE
    if not path.is_file():
        raise ModelNotFoundError(
            f"no {TOKENIZER_FILE} in {folder}; is it a checkpoint folder?"
        )
    try:
        spec = json.loads(path.read_text())
        kind = spec["kind"]
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"{path} is not a valid tokenizer file: {err}") from err
    if kind == "char":
        return CharTokenizer(tuple(spec["symbols"]))
    if kind == "bpe":
        return BpeTokenizer.load(folder / spec.get("model", BPE_MODEL_FILE))
    raise ConfigError(
        f"{path}: unknown tokenizer kind {kind!r} (expected 'char' or 'bpe')"
    )
