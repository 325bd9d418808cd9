"""The evaluation runner: decode a manifest with several engines and score the
hypotheses.

:func:`evaluate` decodes every audio file once, degrades it for each noise condition,
feeds every engine (in batches through ``transcribe_batch``) and scores the results with
:mod:`aural.evaluation.metrics` after the chosen text normaliser. Raw hypotheses are
kept in a :class:`HypothesisCache` (one JSON line per utterance, appended as it
finishes), so an interrupted run resumes and a finished one is scored again without
touching an engine.

Example:
    >>> results = evaluate(load_dataset("LibriSpeech/dev-clean"),
    ...                    [("whisper", "tiny.en"), ("sphinx", None)],
    ...                    EvalOptions(snrs=(None, 10.0), noise_dir=Path("noise")),
    ...                    cache_dir=Path("out"))
    >>> results.engine("whisper:tiny.en").primary.counts.wer
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from aural.audio.effects import NoiseBank
from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.options import DecodeOptions
from aural.engines.base import Engine
from aural.errors import AuralError, ConfigError
from aural.evaluation.report import EngineResults, score_engine
from aural.evaluation.robustness import Condition, Degrader
from aural.text.normalizers import NORMALIZER_NAMES, NormalizerName

__all__ = [
    "CACHE_FILE",
    "EngineSpec",
    "EvalOptions",
    "EvalProgress",
    "EvalResults",
    "EvalTiming",
    "UtteranceHypothesis",
    "HypothesisCache",
    "evaluate",
]

logger = logging.getLogger(__name__)

CACHE_FILE = "hypotheses.jsonl"
"""Name of the hypothesis cache inside the cache folder."""

EngineSpec = tuple[str, "str | None | Engine"]
"""``(engine name, model)``: the model is an alias/path, ``None`` (default) or a
loaded engine."""


@dataclass(frozen=True, slots=True)
class EvalOptions:
    """What an evaluation run does besides decoding.

    Attributes:
        normalizer: text normaliser applied to references and hypotheses before scoring.
        snrs: noise conditions in dB; ``None`` is the clean input. The first clean entry
            (else the first entry) is the primary condition reported at the top level.
        noise_dir: folder of noise recordings (needed for any SNR that is not ``None``).
        rir_dir: folder of room impulse responses; when set, every condition is
            reverberated.
        seed: base seed of the per-utterance noise and room choices.
        decode: decoding options passed to every engine.
        vocabulary: known words for the out-of-vocabulary statistics (normalised before
            use).
        bootstrap_samples: resamples of the 95 % confidence interval.
        chunk_size: utterances passed to one ``transcribe_batch`` call (how many inputs
            share one batched decoder call is ``decode.batch_size``).
        calibration_bins: equal-width confidence bins of the calibration curve.
        top_k: how many confusion pairs of each kind to keep.
        language_from_dataset: decode each utterance in its own labelled language
            (``extra["language"]``, see :func:`aural.data.utterance_language`) instead
            of ``decode.language``; utterances without a label are detected.
    """

    normalizer: NormalizerName = "auto"
    snrs: tuple[Condition, ...] = (None,)
    noise_dir: Path | None = None
    rir_dir: Path | None = None
    seed: int = 0
    decode: DecodeOptions = field(default_factory=DecodeOptions)
    vocabulary: frozenset[str] | None = None
    bootstrap_samples: int = 1000
    chunk_size: int = 8
    calibration_bins: int = 10
    top_k: int = 20
    language_from_dataset: bool = False

    def __post_init__(self) -> None:
        if self.normalizer not in NORMALIZER_NAMES:
            raise ConfigError(
                f"unknown normalizer {self.normalizer!r}; use one of "
                f"{', '.join(NORMALIZER_NAMES)}",
                options=("normalizer",),
            )
        if not self.snrs:
            raise ConfigError(
                "snrs is empty; give at least one condition (None = clean)"
            )
        if len(set(self.snrs)) != len(self.snrs):
            raise ConfigError(f"snrs repeats a condition: {self.snrs!r}")
        if any(s is not None and not math.isfinite(s) for s in self.snrs):
            raise ConfigError(
                f"snrs must be finite dB values or None, got {self.snrs!r}"
            )
        if any(s is not None for s in self.snrs) and self.noise_dir is None:
            raise ConfigError(
                "a noisy condition (an SNR in dB) needs noise recordings; set "
                "noise_dir to a folder of them, e.g. ../shared/data/noise",
                options=("noise_dir",),
            )
        for name in ("bootstrap_samples", "chunk_size", "calibration_bins", "top_k"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or self.seed < 0
        ):
            raise ConfigError(f"seed must be an integer >= 0, got {self.seed!r}")
        if not isinstance(self.language_from_dataset, bool):
            raise ConfigError(
                "language_from_dataset must be True or False, got "
                f"{self.language_from_dataset!r}"
            )
        if self.language_from_dataset and self.decode.language is not None:
            raise ConfigError(
                "language_from_dataset decodes each utterance in its own language; "
                f"decode.language={self.decode.language!r} would fix one: drop one",
                options=("language",),
            )

    @property
    def detects_language(self) -> bool:
        """Whether the engines identify the language themselves (nothing fixes it)."""
        return self.decode.language is None and not self.language_from_dataset

    @property
    def primary(self) -> Condition:
        """The condition reported at the top level (clean when evaluated)."""
        return None if None in self.snrs else self.snrs[0]

    def decode_key(self, condition: Condition) -> dict[str, Any]:
        """Everything besides the engine that changes a hypothesis in ``condition``.

        The noise folder matters only to noisy conditions and the seed only where noise
        or room responses are drawn, so changing them keeps clean hypotheses cached.
        """
        # decode.batch_size is part of the key: batched decoding may change hypotheses
        key: dict[str, Any] = {"decode": self.decode.to_dict(), "snr": condition}
        if self.language_from_dataset:  # absent otherwise: older caches stay valid
            key["language_from_dataset"] = True
        if condition is not None:
            key["noise_dir"] = _resolved(self.noise_dir)
        if self.rir_dir is not None:
            key["rir_dir"] = _resolved(self.rir_dir)
        if condition is not None or self.rir_dir is not None:
            key["seed"] = self.seed
        return key

    def to_dict(self) -> dict[str, Any]:
        return {
            "normalizer": self.normalizer,
            "snrs": list(self.snrs),
            "noise_dir": None if self.noise_dir is None else str(self.noise_dir),
            "rir_dir": None if self.rir_dir is None else str(self.rir_dir),
            "seed": self.seed,
            "decode": self.decode.to_dict(),
            "vocabulary_size": None
            if self.vocabulary is None
            else len(self.vocabulary),
            "bootstrap_samples": self.bootstrap_samples,
            "chunk_size": self.chunk_size,
            "language_from_dataset": self.language_from_dataset,
        }


def _resolved(path: Path | None) -> str | None:
    return None if path is None else str(Path(path).expanduser().resolve())


@dataclass(frozen=True, slots=True)
class UtteranceHypothesis:
    """What an engine produced for one utterance in one condition (what the cache
    keeps).

    Attributes:
        text: the transcript text.
        words: ``(word, probability)`` per recognised word, in order.
        engine_seconds: time spent inside the engine for this utterance.
        duration: seconds of audio decoded.
        language: the language the engine reported (detected or given; None when it
            says nothing).
        language_probability: its probability, when detected.
    """

    text: str
    words: tuple[tuple[str, float], ...]
    engine_seconds: float
    duration: float
    language: str | None = None
    language_probability: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "words": [list(w) for w in self.words],
            "engine_seconds": self.engine_seconds,
            "duration": self.duration,
            "language": self.language,
            "language_probability": self.language_probability,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> UtteranceHypothesis:
        language = d.get("language")
        probability = d.get("language_probability")
        return cls(
            str(d["text"]),
            tuple((str(w), float(p)) for w, p in d["words"]),
            float(d["engine_seconds"]),
            float(d["duration"]),
            None if language is None else str(language),
            None if probability is None else float(probability),
        )


class HypothesisCache:
    """Hypotheses keyed by (condition key, utterance key), stored as JSON lines.

    Each :meth:`put` appends one line and flushes it, so an interrupted run loses at
    most the utterance in flight; a torn last line is ignored on the next load. Lines of
    other keys (older options) stay in the file and are simply not looked up.

    Args:
        path: the ``.jsonl`` file, or ``None`` to keep hypotheses in memory only.
    """

    __slots__ = ("_entries", "_file", "path")

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[tuple[str, str], UtteranceHypothesis] = {}
        self._file: IO[str] | None = None
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        """Read the hypotheses; unreadable lines (torn, corrupt, not UTF-8) stay in the
        file but are skipped, so those utterances are decoded again."""
        if not path.is_file():
            raise ConfigError(
                f"hypothesis cache {str(path)!r} is not a file; move it away"
            )
        bad: list[int] = []
        try:
            with path.open("rb") as f:
                for lineno, raw in enumerate(f, 1):
                    try:
                        d = json.loads(raw.decode("utf-8"))
                        self._entries[(d["cond"], d["utt"])] = (
                            UtteranceHypothesis.from_dict(d)
                        )
                    except (
                        ValueError,
                        KeyError,
                        TypeError,
                    ):  # UnicodeDecodeError included
                        if raw.strip():
                            bad.append(lineno)
        except OSError as err:
            raise ConfigError(
                f"cannot read the hypothesis cache {str(path)!r}: {err.strerror}"
            ) from err
        if bad:
            logger.warning(
                "ignoring %d unreadable line(s) of %s (line %s%s); those "
                "hypotheses are decoded again",
                len(bad),
                path,
                bad[0],
                " and more" if len(bad) > 1 else "",
            )

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, cond: str, utt: str) -> UtteranceHypothesis | None:
        return self._entries.get((cond, utt))

    def put(
        self, cond: str, utt: str, hypothesis: UtteranceHypothesis, label: str = ""
    ) -> None:
        """Store one hypothesis (appended to the file at once when there is one)."""
        self._entries[(cond, utt)] = hypothesis
        if self.path is None:
            return
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            torn = (
                self.path.is_file()
                and self.path.stat().st_size > 0
                and not _ends_with_newline(self.path)
            )
            self._file = self.path.open("a", encoding="utf-8")
            if torn:  # an interrupted write left half a line: start a fresh one
                self._file.write("\n")
        line = {"cond": cond, "utt": utt, "label": label, **hypothesis.to_dict()}
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1) == b"\n"


@dataclass(frozen=True, slots=True)
class EvalProgress:
    """How far a run is: sent to the ``progress`` callback after each batch."""

    utterances_done: int
    utterances_total: int
    audio_seconds_done: float
    audio_seconds_total: float
    decoded: int  # engine decodes run so far (one per engine, condition and utterance)
    cached: int  # decodes answered from the cache


@dataclass(frozen=True, slots=True)
class EvalTiming:
    """Where the time of this run went (seconds).

    Attributes:
        wall_seconds: the whole :func:`evaluate` call.
        engine_seconds: inside engine ``transcribe_batch`` calls during this run.
        load_seconds: creating engines (model loading).
        audio_seconds: decoding audio files and adding noise / reverberation.
        scoring_seconds: normalising, aligning and summarising.
        decoded: engine decodes run (engine x condition x utterance).
        cached: decodes answered from the cache instead.
        audio_duration: seconds of audio decoded by the engines during this run.
    """

    wall_seconds: float
    engine_seconds: float
    load_seconds: float
    audio_seconds: float
    scoring_seconds: float
    decoded: int
    cached: int
    audio_duration: float

    @property
    def overhead_seconds(self) -> float:
        """Wall time not spent inside engines or loading models."""
        return max(0.0, self.wall_seconds - self.engine_seconds - self.load_seconds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "wall_seconds": self.wall_seconds,
            "engine_seconds": self.engine_seconds,
            "load_seconds": self.load_seconds,
            "audio_seconds": self.audio_seconds,
            "scoring_seconds": self.scoring_seconds,
            "overhead_seconds": self.overhead_seconds,
            "decoded": self.decoded,
            "cached": self.cached,
            "audio_duration": self.audio_duration,
        }


@dataclass(frozen=True, slots=True)
class EvalResults:
    """Everything one evaluation produced: per-engine results plus how the run went.

    Attributes:
        engines: one :class:`EngineResults` per engine, in the order given.
        options: the options of the run.
        dataset: a description of the evaluated manifest (its path or name).
        timing: timings and decode counts of this run.
        failures: ``(utterance id, message)`` for utterances that could not be
            evaluated.
    """

    engines: tuple[EngineResults, ...]
    options: EvalOptions
    dataset: str
    timing: EvalTiming
    failures: tuple[tuple[str, str], ...] = ()

    def engine(self, label: str) -> EngineResults:
        """The results of the engine called ``label`` (``name`` or ``name:model``)."""
        for e in self.engines:
            if e.label == label:
                return e
        raise KeyError(f"no engine {label!r}; have {[e.label for e in self.engines]}")


class _EngineSlot:
    """One engine of the run: created on its first cache miss, so re-renders load
    nothing."""

    __slots__ = ("_engine", "label", "model_key", "name", "spec_model")

    def __init__(self, name: str, model: str | None | Engine) -> None:
        self.name = name
        if isinstance(model, Engine):
            self._engine: Engine | None = model
            self.spec_model: str | None = model.model_id
            self.model_key = model.model_id or "default"
        else:
            self._engine = None
            self.spec_model = model
            self.model_key = model or "default"
        self.label = name if model is None else f"{name}:{self.spec_model}"

    def get(self) -> tuple[Engine, float]:
        """The engine, and the seconds it took to create it now (0 when already
        loaded)."""
        if self._engine is not None:
            return self._engine, 0.0
        from aural.engines import create_engine

        start = time.perf_counter()
        self._engine = create_engine(self.name, self.spec_model)
        return self._engine, time.perf_counter() - start

    @property
    def engine_model(self) -> str:
        return self._engine.model_id if self._engine is not None else self.model_key


def _condition_key(
    slot: _EngineSlot, condition: Condition, options: EvalOptions
) -> str:
    payload = {
        "engine": slot.name,
        "model": slot.model_key,
        **options.decode_key(condition),
    }
    files = _model_files_key(slot.model_key)
    if files is not None:
        payload["model_files"] = files
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def _model_files_key(model: str) -> str | None:
    """For a model given as a local file or folder: the name, size and modification
    time of its files, so that a model re-trained or re-exported in the same place is
    decoded again rather than served from the hypothesis cache; None for an alias."""
    path = Path(model).expanduser()
    try:
        if path.is_file():
            entries = [path]
        elif path.is_dir():
            entries = sorted(p for p in path.iterdir() if p.is_file())
        else:
            return None
        stamp = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in entries]
    except OSError:
        return None
    return hashlib.sha256(json.dumps(stamp).encode()).hexdigest()[:20]


def _utterance_key(utt: Any) -> str:
    start = getattr(utt, "start", None)
    end = getattr(utt, "end", None)
    span = "" if start is None and end is None else f"@{start}-{end}"
    return f"{utt.id}|{utt.audio}{span}"


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _hypothesis_from(
    transcript: Any, engine_seconds: float, duration: float
) -> UtteranceHypothesis:
    words = tuple(
        (w.text.strip(), min(1.0, max(0.0, float(w.probability))))
        for w in transcript.words
        if w.text.strip()
    )
    info = transcript.info
    probability = info.language_probability
    return UtteranceHypothesis(
        transcript.text,
        words,
        engine_seconds,
        duration,
        info.language,
        None if probability is None else float(probability),
    )


@dataclass(slots=True)
class _Counters:
    engine: float = 0.0
    load: float = 0.0
    audio: float = 0.0
    decoded: int = 0
    cached: int = 0
    audio_duration: float = 0.0
    failures: dict[str, str] = field(default_factory=dict)


def _banks(options: EvalOptions) -> Degrader:
    noisy = any(s is not None for s in options.snrs)
    noise = (
        NoiseBank(
            options.noise_dir, label="noise folder (noise_dir)", option="noise_dir"
        )
        if noisy and options.noise_dir is not None
        else None
    )
    rirs = _rir_bank(options.rir_dir) if options.rir_dir is not None else None
    degrader = Degrader(seed=options.seed, noise=noise, rirs=rirs)
    degrader.check(options.snrs)
    return degrader


def _rir_bank(folder: Path) -> NoiseBank:
    return NoiseBank(folder, label="room-response folder (rir_dir)", option="rir_dir")


def _load_utterance(utt: Any) -> Waveform:
    from aural.data.manifest import load_utterance_audio

    return load_utterance_audio(utt, SAMPLE_RATE)


def _transcribe(
    engine: Engine,
    waveforms: list[Waveform],
    options: DecodeOptions,
    ids: list[str],
    counters: _Counters,
) -> list[tuple[int, Any, float]]:
    """Run one batch; on an error, retry one by one so one bad input fails alone.

    Returns ``(index, transcript, engine seconds)`` for each input that succeeded.
    """
    start = time.perf_counter()
    try:
        transcripts = engine.transcribe_batch(waveforms, options)
    except AuralError as err:
        counters.engine += time.perf_counter() - start
        if len(waveforms) == 1:
            counters.failures[ids[0]] = f"{engine.name}: {err}"
            return []
        out: list[tuple[int, Any, float]] = []
        for i, w in enumerate(waveforms):
            for _, t, dt in _transcribe(engine, [w], options, [ids[i]], counters):
                out.append((i, t, dt))
        return out
    elapsed = time.perf_counter() - start
    counters.engine += elapsed
    total = sum(w.duration for w in waveforms) or 1.0
    # A batch is timed as a whole; each utterance is charged its share of the audio.
    return [
        (i, t, elapsed * w.duration / total)
        for i, (t, w) in enumerate(zip(transcripts, waveforms, strict=True))
    ]


def _decode_batch(
    batch: Sequence[Any],
    slots: Sequence[_EngineSlot],
    keys: dict[tuple[str, Condition], str],
    options: EvalOptions,
    cache: HypothesisCache,
    degraders: Callable[[], Degrader],
    counters: _Counters,
) -> None:
    """Fill the cache for every (engine, condition) of ``batch`` that misses."""
    missing = {
        (s.label, c, _utterance_key(u))
        for u in batch
        for s in slots
        for c in options.snrs
        if cache.get(keys[(s.label, c)], _utterance_key(u)) is None
    }
    counters.cached += len(batch) * len(slots) * len(options.snrs) - len(missing)
    if not missing:
        return
    t0 = time.perf_counter()
    degrader = degraders()  # noise and room banks load on the first miss only
    clean: dict[str, tuple[Any, Waveform]] = {}
    for u in batch:
        key = _utterance_key(u)
        if any(m[2] == key for m in missing):
            try:
                clean[key] = (u, degrader.reverberate(_load_utterance(u), str(u.id)))
            except AuralError as err:
                counters.failures[str(u.id)] = str(err)
    counters.audio += time.perf_counter() - t0
    for condition in options.snrs:
        t0 = time.perf_counter()
        noisy = {
            k: (u, degrader.degrade(w, str(u.id), condition))
            for k, (u, w) in clean.items()
            if any(m[1] == condition and m[2] == k for m in missing)
        }
        counters.audio += time.perf_counter() - t0
        for slot in slots:
            todo = [k for k in noisy if (slot.label, condition, k) in missing]
            if not todo:
                continue
            engine, load_seconds = slot.get()
            counters.load += load_seconds
            for decode, group in _language_groups(
                todo, {k: noisy[k][0] for k in todo}, options
            ):
                waves = [_for_engine(engine, noisy[k][1]) for k in group]
                ids = [str(noisy[k][0].id) for k in group]
                for i, transcript, seconds in _transcribe(
                    engine, waves, decode, ids, counters
                ):
                    hyp = _hypothesis_from(transcript, seconds, waves[i].duration)
                    cache.put(
                        keys[(slot.label, condition)],
                        group[i],
                        hyp,
                        label=f"{slot.label}@{condition}",
                    )
                    counters.decoded += 1
                    counters.audio_duration += hyp.duration


def _language_groups(
    keys: list[str], utterances: dict[str, Any], options: EvalOptions
) -> list[tuple[DecodeOptions, list[str]]]:
    """The decoding options of each group of ``keys``: one group with
    ``options.decode``, or with ``language_from_dataset`` one per labelled language
    (unlabelled utterances are detected)."""
    if not options.language_from_dataset:
        return [(options.decode, keys)]
    from aural.data.readers import utterance_language

    groups: dict[str | None, list[str]] = {}
    for k in keys:
        u = utterances[k]
        language = utterance_language(u) if hasattr(u, "extra") else None
        groups.setdefault(language, []).append(k)
    return [
        (
            options.decode
            if language is None
            else options.decode.with_(language=language, languages=()),
            group,
        )
        for language, group in groups.items()
    ]


def _for_engine(engine: Engine, wave: Waveform) -> Waveform:
    if engine.sample_rate == wave.sample_rate:
        return wave
    from aural.audio import resample

    return Waveform(
        resample(wave.samples, wave.sample_rate, engine.sample_rate), engine.sample_rate
    )


def _make_slots(engines: Iterable[EngineSpec]) -> list[_EngineSlot]:
    slots = [_EngineSlot(name, model) for name, model in engines]
    if not slots:
        raise ConfigError(
            "no engine to evaluate; pass at least one in engines, e.g. "
            '[("whisper", None)]',
            options=("engines",),
        )
    labels = [s.label for s in slots]
    if len(set(labels)) != len(labels):
        raise ConfigError(
            f"an engine is listed twice: {labels}; list each NAME:MODEL once"
        )
    from aural.engines import available_engines

    unknown = [s.name for s in slots if s.name not in available_engines()]
    if unknown:
        from aural.errors import EngineNotFoundError

        raise EngineNotFoundError(
            f"unknown engine {unknown[0]!r}; available engines: "
            f"{', '.join(available_engines())}"
        )
    return slots


def evaluate(
    manifest: Iterable[Any],
    engines: Sequence[EngineSpec],
    options: EvalOptions | None = None,
    *,
    cache_dir: Path | None = None,
    progress: Callable[[EvalProgress], None] | None = None,
    dataset: str = "",
) -> EvalResults:
    """Decode ``manifest`` with every engine in every condition and score the results.

    Each audio file is decoded (and reverberated) once per batch and shared by every
    engine and noise condition. Hypotheses already in the cache are not decoded again.

    Args:
        manifest: utterances (``aural.data.Utterance``) with ``id``, ``audio``,
            ``text``, ``speaker`` and ``duration``; a ``Manifest`` iterates over them.
        engines: ``(name, model)`` pairs; the model is an alias or path, ``None`` for
            the engine's default, or an already loaded :class:`~aural.engines.Engine`.
        options: what to evaluate (None = defaults: clean audio, Whisper normaliser).
        cache_dir: folder of the hypothesis cache (``hypotheses.jsonl``); None = no
            cache.
        progress: called after each batch with an :class:`EvalProgress`.
        dataset: a description recorded in the results (e.g. the dataset path).

    Returns:
        The scored :class:`EvalResults`.

    Raises:
        ConfigError: invalid options, no engines, an engine listed twice or unknown.
        DatasetError: the noise or room-response folder cannot be used.
    """
    start = time.perf_counter()
    options = options or EvalOptions()
    utterances = list(manifest)
    slots = _make_slots(engines)
    degraders = functools.cache(lambda: _banks(options))
    keys = {
        (s.label, c): _condition_key(s, c, options) for s in slots for c in options.snrs
    }
    cache = HypothesisCache(None if cache_dir is None else Path(cache_dir) / CACHE_FILE)
    counters = _Counters()
    total_seconds = sum(float(u.duration or 0.0) for u in utterances)
    done_seconds = 0.0
    try:
        for i, batch in enumerate(_chunks(utterances, options.chunk_size)):
            _decode_batch(batch, slots, keys, options, cache, degraders, counters)
            done_seconds += sum(float(u.duration or 0.0) for u in batch)
            if progress is not None:
                progress(
                    EvalProgress(
                        min(len(utterances), (i + 1) * options.chunk_size),
                        len(utterances),
                        done_seconds,
                        total_seconds,
                        counters.decoded,
                        counters.cached,
                    )
                )
    finally:
        cache.close()
    t0 = time.perf_counter()
    scored = tuple(
        score_engine(
            label=s.label,
            engine=s.name,
            model=s.engine_model,
            utterances=utterances,
            hypotheses={
                c: _hypotheses_for(cache, keys[(s.label, c)], utterances, counters)
                for c in options.snrs
            },
            options=options,
        )
        for s in slots
    )
    scoring = time.perf_counter() - t0
    timing = EvalTiming(
        wall_seconds=time.perf_counter() - start,
        engine_seconds=counters.engine,
        load_seconds=counters.load,
        audio_seconds=counters.audio,
        scoring_seconds=scoring,
        decoded=counters.decoded,
        cached=counters.cached,
        audio_duration=counters.audio_duration,
    )
    return EvalResults(
        scored, options, dataset, timing, tuple(sorted(counters.failures.items()))
    )


def _hypotheses_for(
    cache: HypothesisCache,
    cond_key: str,
    utterances: Sequence[Any],
    counters: _Counters,
) -> dict[str, UtteranceHypothesis]:
    out: dict[str, UtteranceHypothesis] = {}
    for u in utterances:
        if str(u.id) in counters.failures:
            continue
        hyp = cache.get(cond_key, _utterance_key(u))
        if hyp is not None:
            out[str(u.id)] = hyp
    return out


def __getattr__(name: str) -> object:
    if name == "Hypothesis":  # renamed in issue 17; the old name stays for a release
        import warnings

        warnings.warn(
            "aural.evaluation.runner.Hypothesis is deprecated; use UtteranceHypothesis",
            DeprecationWarning,
            stacklevel=2,
        )
        return UtteranceHypothesis
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
