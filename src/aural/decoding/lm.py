"""Word n-gram language models for shallow fusion in CTC beam search.

* :class:`NgramLM` reads ARPA files (any order, with back-off) in pure Python.
* :func:`estimate_kneser_ney` builds an interpolated modified Kneser-Ney model from text
  and :meth:`NgramLM.to_arpa` writes it (what ``aural lm build`` does).
* :class:`KenLM` wraps the optional ``kenlm`` module (ARPA or KenLM binary files) behind
  the same interface; :func:`load_lm` picks one by file type.

Every model offers the :class:`LanguageModel` protocol the decoders use: scores are
natural-log probabilities and states are opaque.
"""

from __future__ import annotations

import gzip
import math
import os
import re
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from aural.errors import ConfigError, MissingDependencyError, ModelNotFoundError

__all__ = [
    "BOS",
    "EOS",
    "UNK",
    "KenLM",
    "LanguageModel",
    "NgramLM",
    "SphinxLM",
    "engine_lm",
    "estimate_kneser_ney",
    "load_lm",
    "perplexity",
    "tokenize_corpus_line",
]

BOS, EOS, UNK = "<s>", "</s>", "<unk>"
LN10 = math.log(10.0)
_UNK_LOG10_FALLBACK = -7.0  # used only when an ARPA file has no <unk> entry


class LanguageModel(Protocol):
    """What the CTC beam search needs from a word language model."""

    order: int

    def begin_state(self) -> Hashable:
        """The state at the start of a sentence (after ``<s>``)."""
        ...

    def score(self, state: Any, word: str) -> tuple[float, Any]:
        """``(ln P(word | state), next state)``."""
        ...

    def end_score(self, state: Any) -> float:
        """``ln P(</s> | state)``."""
        ...


def _prefixes(words: Iterable[str]) -> frozenset[str]:
    """Every non-empty prefix of every word, lower-cased (the CTC search's
    look-ahead)."""
    out: set[str] = set()
    for word in words:
        w = word.lower()
        out.update(w[:i] for i in range(1, len(w) + 1))
    return frozenset(out)


def tokenize_corpus_line(line: str, lowercase: bool = True) -> list[str]:
    """Split one corpus line into words for LM estimation (whitespace, optional
    lowercasing)."""
    text = line.lower() if lowercase else line
    return [w for w in text.split() if w not in (BOS, EOS)]


class NgramLM:
    """A back-off n-gram model held in memory (log10 probabilities, as in ARPA files).

    Args:
        entries: ``ngram tuple -> (log10 prob, log10 back-off)`` for every order.
        order: the highest order.

    Word case: if every word in the model is lower case (or upper case), queries are
    mapped to that case, so an upper-case CTC vocabulary can use a lower-case LM.
    """

    def __init__(self, entries: dict[tuple[str, ...], tuple[float, float]], order: int):
        if order < 1:
            raise ConfigError(f"n-gram order must be >= 1, got {order}")
        self.order = order
        self._entries = entries
        unk = entries.get((UNK,))
        self._unk_log10 = unk[0] if unk is not None else _UNK_LOG10_FALLBACK
        words = [g[0] for g in entries if len(g) == 1 and g[0] not in (BOS, EOS, UNK)]
        alpha = [w for w in words if any(c.isalpha() for c in w)]
        if alpha and all(w == w.lower() for w in alpha):
            self._case = "lower"
        elif alpha and all(w == w.upper() for w in alpha):
            self._case = "upper"
        else:
            self._case = "mixed"
        self._cache: dict[
            tuple[tuple[str, ...], str], tuple[float, tuple[str, ...]]
        ] = {}
        self._word_prefixes: frozenset[str] | None = None
        self.oov_score = self._unk_log10 * LN10  # ln P(<unk>), before back-off

    def word_prefixes(self) -> frozenset[str]:
        """Lower-cased prefixes of the model's words (see the CTC beam search)."""
        if self._word_prefixes is None:
            self._word_prefixes = _prefixes(
                w for w in self.vocabulary if w not in (EOS, UNK)
            )
        return self._word_prefixes

    # ----------------------------------------------------------------- loading / saving
    @classmethod
    def from_arpa(cls, path: str | os.PathLike[str]) -> NgramLM:
        """Read an ARPA file (plain or ``.gz``).

        Raises:
            ModelNotFoundError: the file does not exist.
            ConfigError: the file is not a valid ARPA model.
        """
        p = Path(path)
        if not p.is_file():
            raise ModelNotFoundError(f"language model {str(p)!r} does not exist")
        opener = gzip.open if p.suffix == ".gz" else open
        try:
            with opener(p, "rt", encoding="utf-8") as fh:  # type: ignore[operator]
                return cls.from_arpa_lines(fh, source=str(p))
        except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as err:
            raise ConfigError(
                f"{p} is not an ARPA language model (not UTF-8 text: {err})"
            ) from err

    @classmethod
    def from_arpa_lines(cls, lines: Iterable[str], source: str = "<text>") -> NgramLM:
        """Parse ARPA text given as lines (see :meth:`from_arpa`)."""
        entries: dict[tuple[str, ...], tuple[float, float]] = {}
        declared: dict[int, int] = {}
        section = -1  # -1 before \data\, 0 in \data\, n in \n-grams:
        for lineno, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line:
                continue
            if line == "\\data\\":
                section = 0
            elif line == "\\end\\":
                break
            elif line.startswith("\\") and line.endswith("-grams:"):
                try:
                    section = int(line[1 : line.index("-")])
                except ValueError as err:
                    raise ConfigError(
                        f"{source}:{lineno}: bad section header {line!r}"
                    ) from err
            elif section == 0 and line.startswith("ngram "):
                n, _, count = line[6:].partition("=")
                declared[int(n)] = int(count)
            elif section > 0:
                parts = line.split()
                if len(parts) not in (section + 1, section + 2):
                    raise ConfigError(
                        f"{source}:{lineno}: expected {section} words after the "
                        f"probability, got {line[:80]!r}"
                    )
                backoff = (
                    float(parts[section + 1]) if len(parts) == section + 2 else 0.0
                )
                entries[tuple(parts[1 : section + 1])] = (float(parts[0]), backoff)
        if section < 1 or not declared:
            raise ConfigError(
                f"{source} is not an ARPA language model (no \\data\\ / n-grams)"
            )
        return cls(entries, max(declared))

    def to_arpa(self) -> str:
        """The model as ARPA text."""
        by_order: dict[int, list[tuple[tuple[str, ...], tuple[float, float]]]] = (
            defaultdict(list)
        )
        for gram, value in self._entries.items():
            by_order[len(gram)].append((gram, value))
        out = ["", "\\data\\"]
        out += [f"ngram {n}={len(by_order[n])}" for n in range(1, self.order + 1)]
        for n in range(1, self.order + 1):
            out += ["", f"\\{n}-grams:"]
            for gram, (prob, backoff) in sorted(by_order[n]):
                line = f"{prob:.6f}\t{' '.join(gram)}"
                if n < self.order and backoff != 0.0:
                    line += f"\t{backoff:.6f}"
                out.append(line)
        out += ["", "\\end\\", ""]
        return "\n".join(out)

    # ------------------------------------------------------------------------ queries
    @property
    def vocabulary(self) -> list[str]:
        """Every unigram except ``<s>``."""
        return [g[0] for g in self._entries if len(g) == 1 and g[0] != BOS]

    def _norm(self, word: str) -> str:
        if self._case == "lower":
            word = word.lower()
        elif self._case == "upper":
            word = word.upper()
        return word if (word,) in self._entries else UNK

    def log10_prob(self, word: str, context: Sequence[str] = ()) -> float:
        """log10 P(word | context) with back-off; ``context`` is oldest word first."""
        ctx = tuple(self._norm(w) if w != BOS else BOS for w in context)[
            -(self.order - 1) :
        ]
        if self.order == 1:
            ctx = ()
        return self._log10(ctx, self._norm(word) if word != EOS else EOS)

    def _log10(self, ctx: tuple[str, ...], word: str) -> float:
        backoff = 0.0
        while True:
            hit = self._entries.get(ctx + (word,))
            if hit is not None:
                return backoff + hit[0]
            if not ctx:
                return backoff + self._unk_log10
            ctx_entry = self._entries.get(ctx)
            if ctx_entry is not None:
                backoff += ctx_entry[1]
            ctx = ctx[1:]

    def _next_context(self, ctx: tuple[str, ...], word: str) -> tuple[str, ...]:
        if self.order == 1:
            return ()
        nxt = (ctx + (word,))[-(self.order - 1) :]
        while nxt and nxt not in self._entries:  # no longer n-gram can start there
            nxt = nxt[1:]
        return nxt

    def sentence_log10_prob(
        self, words: Sequence[str], bos: bool = True, eos: bool = True
    ) -> float:
        """log10 probability of a whole sentence."""
        state = self.begin_state() if bos else ()
        total = 0.0
        for w in words:
            norm = self._norm(w)
            total += self._log10(state, norm)
            state = self._next_context(state, norm)
        if eos:
            total += self._log10(state, EOS)
        return total

    def perplexity(self, sentences: Iterable[Sequence[str]]) -> float:
        """Per-word perplexity (``</s>`` counted as a word, as SRILM and KenLM do)."""
        return perplexity(self, sentences)

    # -------------------------------------------------------- LanguageModel protocol
    def begin_state(self) -> tuple[str, ...]:
        return (BOS,) if self.order > 1 and (BOS,) in self._entries else ()

    def score(self, state: tuple[str, ...], word: str) -> tuple[float, tuple[str, ...]]:
        key = (state, word)
        hit = self._cache.get(key)
        if hit is None:
            norm = self._norm(word)
            hit = (self._log10(state, norm) * LN10, self._next_context(state, norm))
            self._cache[key] = hit
        return hit

    def end_score(self, state: tuple[str, ...]) -> float:
        return self._log10(state, EOS) * LN10


class KenLM:
    """The optional ``kenlm`` module behind the :class:`LanguageModel` protocol.

    KenLM's Python API cannot list a model's words, so the CTC search's unknown-word
    look-ahead needs them from elsewhere: ``vocabulary`` is the ARPA file the binary was
    built from, or a word list (the first token of each line), as pyctcdecode's
    ``unigrams``. Without it the look-ahead is off.

    Raises:
        MissingDependencyError: ``kenlm`` is not installed.
        ModelNotFoundError: the file (or the vocabulary file) does not exist.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        vocabulary: str | os.PathLike[str] | None = None,
    ):
        try:
            import kenlm  # type: ignore[import-not-found]
        except ImportError as err:
            raise MissingDependencyError(
                f"reading the KenLM binary {str(path)!r} needs the 'kenlm' package; "
                "install it with `pip install kenlm`, or use an ARPA file (aural lm "
                "build writes one)"
            ) from err
        if not Path(path).is_file():
            raise ModelNotFoundError(f"language model {str(path)!r} does not exist")
        self._kenlm = kenlm
        try:
            self._model = kenlm.Model(str(path))
        except (
            OSError,
            RuntimeError,
            ValueError,
        ) as err:  # OSError, UnicodeDecodeError..
            raise ConfigError(
                f"cannot read the language model {str(path)!r}: not an ARPA file or a "
                "KenLM binary "
                f"({str(err).splitlines()[0] if str(err) else type(err).__name__})"
            ) from err
        self.order = int(self._model.order)
        self._spelling: dict[str, str] = {}
        self._vocabulary = Path(vocabulary) if vocabulary is not None else None
        if self._vocabulary is not None and not self._vocabulary.is_file():
            raise ModelNotFoundError(
                f"LM vocabulary {str(vocabulary)!r} does not exist"
            )
        self._word_prefixes: frozenset[str] | None = None
        state, out = kenlm.State(), kenlm.State()
        self._model.NullContextWrite(state)
        self.oov_score = self._model.BaseScore(state, UNK, out) * LN10

    def word_prefixes(self) -> frozenset[str] | None:
        """Prefixes of the vocabulary's words that the model knows; None without one."""
        if self._vocabulary is None:
            return None
        if self._word_prefixes is None:
            known = [
                w
                for w in _vocabulary_words(self._vocabulary)
                if w not in (BOS, EOS, UNK) and self._word(w) in self._model
            ]
            if not known:
                raise ConfigError(
                    f"the LM vocabulary {str(self._vocabulary)!r} has no word "
                    "the language model knows"
                )
            self._word_prefixes = _prefixes(known)
        return self._word_prefixes

    def _word(self, word: str) -> str:
        """``word`` as the model spells it: acoustic vocabularies are often upper case
        (wav2vec2) while ``aural lm build`` lower-cases, as NgramLM also allows."""
        known = self._spelling.get(word)
        if known is None:
            known = next(
                (w for w in (word, word.lower(), word.upper()) if w in self._model),
                word,
            )
            if len(self._spelling) > 100_000:  # beam search invents many one-off words
                self._spelling.clear()
            self._spelling[word] = known
        return known

    def begin_state(self) -> Any:
        state = self._kenlm.State()
        self._model.BeginSentenceWrite(state)
        return state

    def score(self, state: Any, word: str) -> tuple[float, Any]:
        out = self._kenlm.State()
        log10 = self._model.BaseScore(state, self._word(word), out)
        return log10 * LN10, out

    def end_score(self, state: Any) -> float:
        out = self._kenlm.State()
        return self._model.BaseScore(state, EOS, out) * LN10


def _vocabulary_words(path: Path) -> Iterator[str]:
    """Words of an ARPA file's 1-gram section, or the first token of each line."""
    with path.open(encoding="utf-8", errors="replace") as fh:
        lines = iter(fh)
        for line in lines:
            if line.strip():
                break
        else:
            return
        if line.strip() != "\\data\\":
            yield line.split()[0]
            yield from (ln.split()[0] for ln in lines if ln.strip())
            return
        for line in lines:
            if line.strip() == "\\1-grams:":
                break
        for line in lines:
            parts = line.split()
            if not parts:
                continue
            if parts[0].startswith("\\"):
                return
            if len(parts) >= 2:
                yield parts[1]


class SphinxLM:
    """A CMU Sphinx n-gram model read by pocketsphinx, behind the :class:`LanguageModel`
    protocol: the Sphinx binary ("Trie Language Model", ``.lm.bin``) and DMP formats,
    such as the general English 3-gram LM that ships with pocketsphinx
    (``en-us.lm.bin``).

    Sphinx models spell words in lower case; queries are lower-cased. Words the model
    lacks (it has no ``<unk>``) score ``oov_log10`` (log10), not Sphinx's log-zero.

    Raises:
        MissingDependencyError: ``pocketsphinx`` is not installed.
        ModelNotFoundError: the file does not exist.
        ConfigError: pocketsphinx cannot read the file.
    """

    _LOG_BASE = math.log(1.0001)  # pocketsphinx scores are integer logs in base 1.0001
    _LOG_ZERO = -536870912

    def __init__(self, path: str | os.PathLike[str], oov_log10: float = -10.0):
        try:
            import pocketsphinx
        except ImportError as err:
            raise MissingDependencyError(
                f"reading the Sphinx LM {str(path)!r} needs 'pocketsphinx'; install "
                "it with `pip install pocketsphinx`"
            ) from err
        if not Path(path).is_file():
            raise ModelNotFoundError(f"language model {str(path)!r} does not exist")
        try:
            self._model = pocketsphinx.NGramModel.readfile(str(path))
        except (OSError, RuntimeError, ValueError) as err:
            raise ConfigError(
                f"cannot read the Sphinx language model {str(path)!r}: {err}"
            ) from err
        self.order = int(self._model.size())
        self._oov = self.oov_score = oov_log10 * LN10
        self._path = Path(path)
        self._word_prefixes: frozenset[str] | None = None

    def word_prefixes(self) -> frozenset[str] | None:
        """Prefixes of the dictionary words (a ``*.dict`` file beside the model, as
        pocketsphinx ships) that the model knows; None without a dictionary."""
        if self._word_prefixes is None:
            words: set[str] = set()
            for dic in sorted(self._path.parent.glob("*.dict")):
                for line in dic.read_text(
                    encoding="utf-8", errors="replace"
                ).splitlines():
                    if line.strip():
                        words.add(re.sub(r"\(\d+\)$", "", line.split()[0]).lower())
            known = [w for w in words if self._model.prob([w]) > self._LOG_ZERO]
            if not known:
                return None
            self._word_prefixes = _prefixes(known)
        return self._word_prefixes

    def _ln_prob(self, words: list[str]) -> float:
        raw = self._model.prob(words)  # [word, previous word, the one before, ...]
        return self._oov if raw <= self._LOG_ZERO else raw * self._LOG_BASE

    def begin_state(self) -> tuple[str, ...]:
        return (BOS,)

    def score(self, state: tuple[str, ...], word: str) -> tuple[float, tuple[str, ...]]:
        word = word.lower()
        ln_p = self._ln_prob([word, *reversed(state)])
        return ln_p, (*state, word)[-(self.order - 1) :] if self.order > 1 else ()

    def end_score(self, state: tuple[str, ...]) -> float:
        return self._ln_prob([EOS, *reversed(state)])


def perplexity(lm: LanguageModel, sentences: Iterable[Sequence[str]]) -> float:
    """Per-word perplexity of any :class:`LanguageModel` (``</s>`` counts as a word)."""
    total, count = 0.0, 0
    for words in sentences:
        state = lm.begin_state()
        for word in words:
            ln_p, state = lm.score(state, word)
            total += ln_p
        total += lm.end_score(state)
        count += len(words) + 1
    return math.exp(-total / max(count, 1))


SPHINX_EN_US = "sphinx-en-us"  # the general English 3-gram that ships with pocketsphinx


def packaged_lm_path(name: str) -> Path | None:
    """The file behind a packaged LM name (``sphinx-en-us``), or None for other
    names."""
    if name != SPHINX_EN_US:
        return None
    try:
        import pocketsphinx
    except ImportError as err:
        raise MissingDependencyError(
            f"the {SPHINX_EN_US} LM ships with pocketsphinx; `pip install pocketsphinx`"
        ) from err
    return Path(pocketsphinx.get_model_path()) / "en-us" / "en-us.lm.bin"


def engine_lm(
    lm: str | os.PathLike[str] | LanguageModel | None,
    vocabulary: str | os.PathLike[str] | None = None,
) -> tuple[str | None, LanguageModel | None]:
    """A CTC engine's ``lm`` setting -> (its name for results, the loaded LM).

    ``lm`` is a path or packaged name (:func:`load_lm`, with ``vocabulary``), an LM
    already loaded (shared between engines), or None.

    Raises:
        ConfigError: a ``vocabulary`` without an LM file to go with it.
    """
    if lm is None or lm == "":
        if vocabulary is not None:
            raise ConfigError(
                "lm_vocabulary is the word list of a KenLM binary: give lm too"
            )
        return None, None
    if isinstance(lm, (str, os.PathLike)):
        return str(lm), load_lm(lm, vocabulary)
    if vocabulary is not None:
        raise ConfigError(
            "lm_vocabulary goes with an LM file, not an LM already loaded"
        )
    return type(lm).__name__, lm


def load_lm(
    path: str | os.PathLike[str], vocabulary: str | os.PathLike[str] | None = None
) -> NgramLM | KenLM | SphinxLM:
    """Load an ARPA file with :class:`NgramLM`, a Sphinx binary / DMP model with
    :class:`SphinxLM`, anything else (KenLM binary) with :class:`KenLM`. The name
    ``sphinx-en-us`` loads pocketsphinx's general English 3-gram. ``vocabulary`` (KenLM
    binaries only: the others list their words) turns on the CTC search's look-ahead.

    Raises:
        ModelNotFoundError: the file does not exist.
        MissingDependencyError: a binary model was given and ``kenlm`` is not installed.
        ConfigError: a vocabulary for a model that is not a KenLM binary.
    """
    p = packaged_lm_path(str(path)) or Path(path)
    if not p.is_file():
        raise ModelNotFoundError(
            f"language model {str(p)!r} does not exist; build one with "
            "`aural lm build CORPUS.txt -o lm.arpa`"
        )
    with open(p, "rb") as fh:
        head = fh.read(64)
    kind = (
        "arpa"
        if p.name.endswith((".arpa", ".arpa.gz")) or b"\\data\\" in head
        else "sphinx"
        if head.startswith(b"Trie Language Model") or b"Darpa Trigram LM" in head[:32]
        else "kenlm"
    )
    if vocabulary is not None and kind != "kenlm":
        raise ConfigError(
            f"an LM vocabulary is for KenLM binaries; {p.name} is an "
            f"{'ARPA' if kind == 'arpa' else 'Sphinx'} model, which lists its "
            "own words"
        )
    if kind == "arpa":
        return NgramLM.from_arpa(p)
    if kind == "sphinx":
        return SphinxLM(p)  # Sphinx binary / DMP
    return KenLM(p, vocabulary)


# ------------------------------------------------------------------------- estimation
def _count_ngrams(
    sentences: Iterable[Sequence[str]], order: int
) -> list[dict[tuple[str, ...], int]]:
    counts: list[dict[tuple[str, ...], int]] = [
        defaultdict(int) for _ in range(order + 1)
    ]
    for words in sentences:
        seq = (BOS, *words, EOS)
        for n in range(1, order + 1):
            table = counts[n]
            for i in range(len(seq) - n + 1):
                table[seq[i : i + n]] += 1
    return counts


def _adjusted_counts(
    counts: list[dict[tuple[str, ...], int]], order: int
) -> list[dict[tuple[str, ...], int]]:
    """Kneser-Ney counts: raw at the top order and for n-grams starting with <s>,
    otherwise the number of distinct words seen before the n-gram."""
    adjusted: list[dict[tuple[str, ...], int]] = [{} for _ in range(order + 1)]
    adjusted[order] = dict(counts[order])
    for n in range(order - 1, 0, -1):
        left: dict[tuple[str, ...], int] = defaultdict(int)
        for gram in counts[n + 1]:
            left[gram[1:]] += 1
        adjusted[n] = {
            g: (c if g[0] == BOS else left.get(g, c)) for g, c in counts[n].items()
        }
    return adjusted


def _discounts(adjusted: dict[tuple[str, ...], int]) -> tuple[float, float, float]:
    """Modified Kneser-Ney discounts D1, D2, D3+ from counts of counts (Chen &
    Goodman)."""
    t = [0] * 5
    for c in adjusted.values():
        if c <= 4:
            t[c] += 1
    fallback = (0.5, 1.0, 1.5)
    if min(t[1:5]) == 0:
        return fallback
    y = t[1] / (t[1] + 2 * t[2])
    d = (1 - 2 * y * t[2] / t[1], 2 - 3 * y * t[3] / t[2], 3 - 4 * y * t[4] / t[3])
    return tuple(d[k] if 0.0 < d[k] < k + 1 else fallback[k] for k in range(3))  # type: ignore[return-value]


def estimate_kneser_ney(sentences: Iterable[Sequence[str]], order: int = 3) -> NgramLM:
    """Estimate an interpolated modified Kneser-Ney n-gram model.

    Args:
        sentences: tokenised sentences (no ``<s>``/``</s>``; they are added).
        order: highest n-gram order (>= 1).

    Returns:
        The model; ``<unk>`` receives the unigram level's share of the uniform
        distribution.

    Raises:
        ConfigError: ``order`` < 1 or the corpus has no words.
    """
    if order < 1:
        raise ConfigError(f"n-gram order must be >= 1, got {order}")
    counts = _count_ngrams(sentences, order)
    if not any(g != (BOS,) and g != (EOS,) for g in counts[1]):
        raise ConfigError(
            "the corpus has no words: nothing to estimate a language model from"
        )
    adjusted = _adjusted_counts(counts, order)
    vocab = [g for g in adjusted[1] if g != (BOS,)]
    if (UNK,) not in adjusted[1]:
        vocab.append((UNK,))
    lower: dict[tuple[str, ...], float] = {}
    entries: dict[tuple[str, ...], tuple[float, float]] = {}
    gammas: dict[tuple[str, ...], float] = {}
    for n in range(1, order + 1):
        table = {g: c for g, c in adjusted[n].items() if g != (BOS,)}
        d = _discounts(table)
        totals: dict[tuple[str, ...], list[float]] = defaultdict(lambda: [0.0, 0.0])
        for gram, c in table.items():
            slot = totals[gram[:-1]]
            slot[0] += c
            slot[1] += d[min(c, 3) - 1]
        probs: dict[tuple[str, ...], float] = {}
        grams = vocab if n == 1 else list(table)
        for gram in grams:
            c = table.get(gram, 0)
            denom, mass = totals[gram[:-1]]
            gamma = mass / denom
            gammas[gram[:-1]] = gamma
            base = 1.0 / len(vocab) if n == 1 else lower[gram[1:]]
            disc = max(c - d[min(c, 3) - 1], 0.0) / denom if c else 0.0
            probs[gram] = disc + gamma * base
        for gram, p in probs.items():
            entries[gram] = (math.log10(p), 0.0)
        lower = probs
    entries[(BOS,)] = (-99.0, 0.0)
    for ctx, gamma in gammas.items():
        if ctx and ctx in entries and len(ctx) < order:
            entries[ctx] = (entries[ctx][0], math.log10(gamma) if gamma > 0 else -99.0)
    return NgramLM(entries, order)
