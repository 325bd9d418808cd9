"""The default engine: Whisper on faster-whisper / CTranslate2.

Paths (chosen per input by :func:`.longform.plan_input`):

* short form (``DecodeOptions.trimmed_windows``, the default): an input of at most 30 s
  whose speech (found by VAD) spans at most 29 s is decoded in one window whose encoder
  runs on the speech plus 8 s of silence, not on a padded 30 s window (:mod:`.window`).
  ``transcribe_batch`` decodes such inputs in groups of similar length with one batched
  encoder and decoder call per group.
* chunked long form (longer inputs, same conditions): VAD's speech regions merged into
  chunks of at most 29 s, decoded like short inputs, batched and side by side; each
  decode is judged (:mod:`.longform`) and continued, redone or handed to faster-whisper.
* long form: faster-whisper's sequential decoder (30 s windows, temperature fallback,
  VAD), for ``trimmed_windows=False``, ``condition_on_previous_text`` and sampling
  temperatures.

A multilingual model without a language detects it (:mod:`.language`): a short input
from its own trimmed window's encoder output (one decoder step, no extra encoder pass);
a long one by a vote of up to five chunks spread through it (their encoder outputs are
reused by the decodes); with ``language_per_segment`` chunk by chunk, with hysteresis.
The long form is given the voted language too, so ``DecodeOptions.languages`` holds on
every path.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from aural.audio.waveform import SAMPLE_RATE, Waveform
from aural.decoding.hotwords import parse_hotwords
from aural.decoding.options import DecodeOptions
from aural.engines.base import (
    Engine,
    EngineCapabilities,
    EngineSettings,
    Segments,
    single_threaded_blas,
)
from aural.engines.layout import Layout, choose_layout
from aural.engines.whisper import language as lid
from aural.engines.whisper import longform
from aural.engines.whisper.limits import LOG_PROB_THRESHOLD, NO_SPEECH_THRESHOLD
from aural.engines.whisper.longform import (
    Continue,
    Done,
    FallBack,
    Redo,
    Span,
    Verdict,
)
from aural.engines.whisper.models import DEFAULT_MODEL, resolve_whisper_model
from aural.engines.whisper.window import (
    FINAL_PAD_FRAMES,
    WhisperWindowDecoder,
    WindowResult,
)
from aural.errors import ConfigError, OptionConflictError
from aural.types import Segment, Transcript

__all__ = ["WhisperEngine", "WhisperSettings", "parallel_settings"]

logger = logging.getLogger(__name__)

FALLBACK_STEP = 0.2  # temperature increments when a window fails the quality checks
DECODERS = ("auto", "torch", "ctranslate2")
# bonus per hotword token (natural log). On LibriSpeech with 100-entry lists the tuning
# speakers' lowest WER was at 3 of 0.5-3, but 3 cost +0.5 points of WER when none of the
# listed words was spoken, and 2 cost nothing there while cutting the held-out
# speakers' listed-word WER by two thirds (benchmarks/results/hotwords.md and
# hotwords_absent.md)
DEFAULT_HOTWORD_WEIGHT = 2.0
_BIASING_CACHE = 8  # compiled hotword lists kept per engine
_WORKER_PREFIX = "aural-whisper"  # the engine's worker threads (no nested submissions)
# per-segment languages: encoder outputs kept from detection for the decodes to reuse
# (about 1.5-4 MB each for base); chunks past this many are encoded again
_MAX_KEPT_ENCODINGS = 32

SpanKey = tuple[int, float, float]  # (input, start, end): a span whatever its language
Language = tuple[str, float | None]  # a language and its probability (None: given)


@dataclass(frozen=True, slots=True)
class WhisperSettings(EngineSettings):
    """How the Whisper engine runs.

    Attributes:
        device: ``cpu``, ``cuda`` or ``auto``.
        compute_type: CTranslate2 compute type (``int8`` is fastest on a CPU).
        cpu_threads: intra-op threads per decode (None = :mod:`aural.engines.layout`).
        num_workers: decodes one instance runs at once: a server's parallel requests and
            the groups a batch or a long input is spread over (None = 1).
        hotword_weight: bonus per hotword token (natural log) for entries without their
            own ``word:weight``.
        decoder: who runs the decoder's search: ``auto`` (CTranslate2, and aural's
            PyTorch decoder when there are hotwords), ``torch`` (always aural's; for
            parity checks) or ``ctranslate2`` (never: hotwords are refused).
    """

    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int | None = None
    num_workers: int | None = None
    hotword_weight: float = DEFAULT_HOTWORD_WEIGHT
    decoder: str = "auto"

    def __post_init__(self) -> None:
        for name in ("cpu_threads", "num_workers"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int)
                or value < (0 if name == "cpu_threads" else 1)
            ):
                raise ConfigError(
                    f"WhisperSettings.{name} must be a whole number "
                    f"(cpu_threads >= 0, num_workers >= 1), got {value!r}"
                )
        if not isinstance(self.device, str) or not isinstance(self.compute_type, str):
            raise ConfigError("WhisperSettings.device and compute_type must be text")
        if self.decoder not in DECODERS:
            raise ConfigError(
                f"WhisperSettings.decoder must be one of {', '.join(DECODERS)}, "
                f"got {self.decoder!r}"
            )
        weight = self.hotword_weight
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not (0.0 <= weight < float("inf"))
        ):
            raise ConfigError(
                f"WhisperSettings.hotword_weight must be a number >= 0, got {weight!r}"
            )


@dataclass(frozen=True, slots=True)
class _Group:
    """What one batched decode of spans left: segments per input, and the whole inputs
    to redo on faster-whisper's long form."""

    segments: dict[int, list[Segment]]
    long_form: tuple[int, ...]
    # inputs whose language was detected from their own window (a short input)
    languages: dict[int, Language] = dataclasses.field(default_factory=dict)


class WhisperEngine(Engine):
    """Whisper through faster-whisper.

    Args:
        model: alias (``tiny.en``, ``base``), CTranslate2 folder or hub id;
            None = tiny.en.
        settings: :class:`WhisperSettings`.
    """

    name = "whisper"
    settings_type = WhisperSettings

    def __init__(
        self, model: str | None = None, settings: WhisperSettings | None = None
    ) -> None:
        from faster_whisper import WhisperModel

        settings = settings or WhisperSettings()
        threads = settings.cpu_threads
        if threads is None:
            threads = choose_layout("single").threads
        workers = settings.num_workers or 1
        path = resolve_whisper_model(model)
        single_threaded_blas()
        try:
            self._model = WhisperModel(
                str(path),
                device=settings.device,
                compute_type=settings.compute_type,
                cpu_threads=threads,
                num_workers=workers,
            )
        except ValueError as err:  # CTranslate2 rejects unknown devices/compute types
            raise ConfigError(f"cannot load Whisper {path}: {err}") from err
        self.settings = settings
        self.cpu_threads = threads  # intra-op threads per decode, as chosen
        self.device = str(getattr(self._model.model, "device", settings.device))
        self.model_id = model or DEFAULT_MODEL
        self.model_path = path
        self.compute_type = settings.compute_type
        self.is_multilingual = bool(self._model.model.is_multilingual)
        self.capabilities = EngineCapabilities(
            streaming="redecode",
            thread_safe=True,
            parallel="workers",
            multilingual=self.is_multilingual,
            languages=None if self.is_multilingual else frozenset({"en"}),
            translate=self.is_multilingual,
            hotwords=True,
            prompt=True,
            sampling=True,
            word_timestamps=True,
            reports_progress=True,
            language_detection=self.is_multilingual,
        )
        self._workers = workers
        self._decoders: dict[
            tuple[str | None, str, tuple[str, ...]], WhisperWindowDecoder
        ] = {}
        self._decoders_lock = threading.Lock()
        self._torch: Any = None  # aural's PyTorch decoder, loaded on first use
        self._biasings: dict[tuple[str, ...], Any] = {}
        self._token_classes: Any = None  # the vocabulary's token classes, for biasing
        # its threads start on first use; created here so that concurrent calls share it
        self._executor: ThreadPoolExecutor | None = (
            ThreadPoolExecutor(workers, thread_name_prefix=_WORKER_PREFIX)
            if workers > 1
            else None
        )

    @property
    def concurrency(self) -> int:
        return self._workers

    @functools.cached_property
    def model_languages(self) -> frozenset[str]:
        """The language codes the loaded model has a token for (``{"en"}`` for an
        English-only model; base has 99, large-v3 adds ``yue``)."""
        if not self.is_multilingual:
            return frozenset({"en"})
        from faster_whisper.tokenizer import _LANGUAGE_CODES

        vocab = self._model.hf_tokenizer
        return frozenset(
            code
            for code in _LANGUAGE_CODES
            if vocab.token_to_id(f"<|{code}|>") is not None
        )

    def batch_size(self, options: DecodeOptions) -> int:
        """``options.batch_size``, else 1 on a CPU: there a batched call pads every
        input to the longest and gains nothing from wider matrices (measured on 2 cores:
        16 LibriSpeech utterances one per call RTF 0.016 on two workers, four per call
        0.018; benchmarks/results/thread_layout.md), and 8 on a GPU."""
        if options.batch_size:
            return options.batch_size
        return 1 if self.device == "cpu" else 8

    @classmethod
    def layout_settings(cls, layout: Layout) -> dict[str, Any]:
        return {"cpu_threads": layout.threads, "num_workers": layout.decodes}

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    @property
    def faster_whisper_model(self) -> Any:
        """The loaded ``faster_whisper.WhisperModel`` (for alignment)."""
        return self._model

    # -- options ---------------------------------------------------------------------
    def check_options(self, options: DecodeOptions) -> None:
        super().check_options(options)
        if self.is_multilingual:
            known = self.model_languages
            for name, codes in (
                ("language", (options.language,) if options.language else ()),
                ("languages", options.languages),
            ):
                unknown = [c for c in codes if c not in known]
                if unknown:
                    raise ConfigError(
                        f"unknown {name} {', '.join(map(repr, unknown))} for "
                        f"{self.model_id!r}; use Whisper language codes such as en, "
                        "de, fr, es, zh (or auto to detect it)",
                        options=(name,),
                    )
        if options.language_per_segment and (
            not options.trimmed_windows
            or options.condition_on_previous_text
            or options.temperature > 0
        ):
            raise OptionConflictError(
                "language_per_segment decodes each speech chunk in its own trimmed "
                "window; it cannot go with trimmed_windows=False, "
                "condition_on_previous_text or a temperature above 0",
                options=("language_per_segment",),
            )
        parse_hotwords(options.hotwords)  # a malformed weight is refused now
        if options.hotwords or self.settings.decoder == "torch":
            self._check_torch(bool(options.hotwords))

    def _check_torch(self, hotwords: bool) -> None:
        """Refuse, up front, what needs aural's PyTorch decoder when it cannot run."""
        import importlib.util

        if hotwords and self.settings.decoder == "ctranslate2":
            raise ConfigError(
                "hotwords need aural's own decoder; this Whisper engine was set to "
                "decoder='ctranslate2'",
                options=("hotwords",),
            )
        missing = [
            name
            for name in ("torch", "transformers")
            if importlib.util.find_spec(name) is None
        ]
        if missing:
            raise ConfigError(
                f"hotwords on Whisper run on aural's PyTorch decoder, which needs "
                f"{' and '.join(missing)}: pip install 'aural[whisper-torch]'",
                options=("hotwords",) if hotwords else (),
            )

    # -- aural's PyTorch decoder (hotwords) --------------------------------------------
    def _generator(self, options: DecodeOptions) -> Any:
        """Who runs ``generate`` for ``options``: None for CTranslate2, else the
        CTranslate2 model with aural's PyTorch decoder and the compiled hotwords."""
        if not options.hotwords and self.settings.decoder != "torch":
            return None
        from aural.engines.whisper.torch_decoder import TorchWhisper

        return TorchWhisper(
            self._model.model, self._torch_decoder(), self._biasing(options.hotwords)
        )

    def _torch_decoder(self) -> Any:
        with self._decoders_lock:
            if self._torch is None:
                import json

                import torch

                from aural.engines.whisper.convert import torch_whisper
                from aural.engines.whisper.torch_decoder import TorchWhisperDecoder

                # PyTorch's intra-op threads are per process: one per decode, as the
                # layout rule gives CTranslate2 (two spinning pools on two busy cores
                # made a decode ten times slower)
                torch.set_num_threads(max(1, self.cpu_threads or 1))
                vocab = self._model.hf_tokenizer
                config = json.loads((self.model_path / "config.json").read_text())
                no_speech = vocab.token_to_id("<|nospeech|>")
                if no_speech is None:
                    no_speech = vocab.token_to_id("<|nocaptions|>")
                self._torch = TorchWhisperDecoder(
                    torch_whisper(self.model_path),
                    config,
                    eot=vocab.token_to_id("<|endoftext|>"),
                    sot=vocab.token_to_id("<|startoftranscript|>"),
                    no_timestamps=vocab.token_to_id("<|notimestamps|>"),
                    no_speech=no_speech,
                    int8=self.compute_type.startswith("int8"),
                )
            return self._torch

    def _biasing(self, hotwords: tuple[str, ...]) -> Any:
        """``hotwords`` compiled into a token trie (the last few lists are kept)."""
        if not hotwords:
            return None
        decoder = self._torch_decoder()
        with self._decoders_lock:
            biasing = self._biasings.get(hotwords)
            if biasing is None:
                from aural.engines.whisper.biasing import TokenBiasing, TokenClasses

                if self._token_classes is None:
                    self._token_classes = TokenClasses(
                        self._model.hf_tokenizer, decoder.vocab_size, decoder.eot
                    )
                biasing = TokenBiasing(
                    hotwords, self._token_classes, self.settings.hotword_weight
                )
                if len(self._biasings) >= _BIASING_CACHE:
                    self._biasings.pop(next(iter(self._biasings)))
                self._biasings[hotwords] = biasing
            return biasing

    def _faster_whisper(self, options: DecodeOptions) -> Any:
        """The faster-whisper model for ``options``' long form: the loaded one, or a
        shallow copy whose ``generate`` is aural's decoder (hotwords)."""
        return self._with_generator(self._generator(options))

    def _with_generator(self, generator: Any) -> Any:
        """The loaded faster-whisper model, or a shallow copy running ``generator``."""
        if generator is None:
            return self._model
        import copy

        model = copy.copy(self._model)
        model.model = generator
        return model

    def _language(self, options: DecodeOptions) -> str | None:
        return options.language if self.is_multilingual else "en"

    def _window_decoder(self, options: DecodeOptions) -> WhisperWindowDecoder | None:
        """The trimmed-window decoder for these options (one per language, task and
        allow-list, shared by every call and stream); None when only faster-whisper's
        long form can honour them (sampling, or trimmed windows turned off)."""
        if not options.trimmed_windows or options.temperature > 0:
            return None
        return self._decoder_for(self._language(options), options.task, options)

    def _decoder_for(
        self, language: str | None, task: str, options: DecodeOptions
    ) -> WhisperWindowDecoder:
        allowed = options.languages if language is None else ()
        key = (language, task, allowed)
        with self._decoders_lock:
            decoder = self._decoders.get(key)
            if decoder is None:
                decoder = self._decoders[key] = WhisperWindowDecoder(
                    self._model, language, task, allowed
                )
        return decoder

    # -- language identification -----------------------------------------------------
    def detect_language(
        self, waveform: Waveform, options: DecodeOptions | None = None
    ) -> tuple[tuple[str, float], ...]:
        """The languages spoken in ``waveform``, most probable first (see
        :meth:`aural.engines.base.Engine.detect_language`).

        Detection runs on the speech VAD finds (``options.vad``): a short input in one
        trimmed window, a long one by a vote of up to :data:`.language.MAX_VOTES`
        chunks spread through it, each weighted by its speech seconds and confidence.
        """
        options = options or self.default_options()
        self.check_language_detection()
        self.check_options(options)
        waveform = self.prepare(waveform)
        spans = self._detection_spans(waveform, options)
        if not spans:
            return ()
        decoder = self._decoder_for(None, "transcribe", options)
        probs, _ = self._vote(decoder, waveform, spans, keep=False)
        return probs

    def _detection_spans(
        self, waveform: Waveform, options: DecodeOptions
    ) -> tuple[Span, ...]:
        """Where to listen for the language: the input's speech (the short-form clip or
        the long form's chunks); () when there is none."""
        plain = options.with_(
            language=None, condition_on_previous_text=False, language_per_segment=False
        )
        return longform.plan_input(waveform, plain, 0, windows=True).spans

    def _vote(
        self,
        decoder: WhisperWindowDecoder,
        waveform: Waveform,
        spans: Sequence[Span],
        *,
        keep: bool,
        settle: DecodeOptions | None = None,
    ) -> tuple[lid.LanguageProbs, dict[SpanKey, Any]]:
        """The languages of an input by a vote of up to :data:`.language.MAX_VOTES` of
        its ``spans``, and (``keep``) their encoder outputs for the decodes to reuse.

        With ``settle`` (the decode options), an unsure vote (top below
        :data:`.language.UNSURE`) is settled by decoding: the voting window with the
        most speech is decoded in each :func:`.language.candidates` language on its
        encoder output, and the likeliest decode's language is put first (with its
        voted probability). :meth:`detect_language` does not settle: it ranks by the
        language head alone."""
        windows, kept = [], {}
        longest: tuple[float, Span, Any] | None = None
        for k in lid.pick_windows(len(spans)):
            span = spans[k]
            encoded = decoder.encode([span.samples(waveform)], FINAL_PAD_FRAMES)
            windows.append((decoder.detect(encoded)[0], span.speech_seconds))
            if keep:
                kept[_key(span)] = encoded
            if longest is None or span.speech_seconds > longest[0]:
                longest = (span.speech_seconds, span, encoded)
        voted = lid.vote(windows)
        candidates = lid.candidates(voted)
        if settle is not None and candidates and longest is not None:
            # unsure: the voting window with the most speech, decoded in each candidate
            pick = decoder.likeliest(
                longest[1].samples(waveform),
                longest[2],
                candidates,
                beam_size=settle.beam_size,
                generator=self._generator(settle),
            )
            voted = ((pick, dict(voted)[pick]),) + tuple(
                item for item in voted if item[0] != pick
            )
        return voted, kept

    def _assign_languages(
        self,
        decoder: WhisperWindowDecoder,
        waveform: Waveform,
        spans: tuple[Span, ...],
        options: DecodeOptions,
    ) -> tuple[tuple[Span, ...], dict[SpanKey, Any], Language | None]:
        """``spans`` with the language each is decoded in, the encoder outputs already
        computed, and the input's language when it was voted on here.

        A given language, or a lone span (it detects its own language from the window
        it is decoded in), is left as it is. Several spans are given the language a
        vote of chunks spread through the input chose; with ``language_per_segment``
        every chunk is detected and :func:`.language.follow_languages` decides.
        """
        if decoder.language is not None or not self.is_multilingual:
            return spans, {}, None
        if not options.language_per_segment:
            if len(spans) == 1:
                return spans, {}, None
            probs, kept = self._vote(
                decoder, waveform, spans, keep=True, settle=options
            )
            if not probs:
                return spans, kept, None
            chosen = probs[0]
            spans = tuple(dataclasses.replace(s, language=chosen[0]) for s in spans)
            return spans, kept, chosen
        windows, kept = [], {}
        for span in spans:
            encoded = decoder.encode([span.samples(waveform)], FINAL_PAD_FRAMES)
            windows.append((decoder.detect(encoded)[0], span.speech_seconds))
            if len(kept) < _MAX_KEPT_ENCODINGS:
                kept[_key(span)] = encoded
        voted = lid.vote(windows)
        if not voted:
            return spans, kept, None
        languages = lid.follow_languages(windows, voted[0][0])
        spans = tuple(
            dataclasses.replace(s, language=lang)
            for s, lang in zip(spans, languages, strict=True)
        )
        return spans, kept, voted[0]

    def _found_language(
        self, segments: Segments | None, found: Language | None, *, warn: bool = True
    ) -> None:
        """Record the language found in ``segments.info``; warn when it is unsure
        (not in per-segment mode, where a mixture of languages is expected)."""
        if found is None:
            return
        language, probability = found
        if warn and probability is not None and probability < lid.UNSURE:
            logger.warning(
                "the language detected is unsure: %s with probability %.2f; pass "
                "language=CODE, or languages=(...) to choose among a few",
                language,
                probability,
            )
        if segments is not None:
            segments.info = _with_language(segments.info, language, probability)

    # -- decoding ----------------------------------------------------------------------
    def decode(self, waveform: Waveform, options: DecodeOptions) -> Segments:
        decoder = self._window_decoder(options)
        plan = longform.plan_input(waveform, options, 0, windows=decoder is not None)
        language = self._language(options)
        info = self.info(
            waveform.duration,
            options,
            language=language,
            language_probability=None if language is None else 1.0,
        )
        if plan.kind == "empty":
            return Segments((), info)
        if plan.kind == "long_form" or decoder is None:
            return Segments.lazy(
                info, lambda segs: self._long_form(waveform, options, segs)
            )
        return Segments.lazy(
            info,
            lambda segs: self._windowed(decoder, waveform, plan.spans, options, segs),
        )

    def transcribe_batch(
        self, waveforms: Sequence[Waveform], options: DecodeOptions | None = None
    ) -> list[Transcript]:
        """Transcribe many inputs; short ones of similar length share encoder/decoder
        calls and the groups run side by side on the engine's workers."""
        options = options or DecodeOptions()
        self.check_options(options)
        waves = [self.prepare(w) for w in waveforms]
        decoder = self._window_decoder(options)
        plans = [
            longform.plan_input(w, options, i, windows=decoder is not None)
            for i, w in enumerate(waves)
        ]
        kept: dict[SpanKey, Any] = {}
        voted: dict[int, Language] = {}
        if decoder is not None:  # long inputs' languages, voted on before decoding
            for i, plan in enumerate(plans):
                assigned, found, chosen = self._assign_languages(
                    decoder, waves[i], plan.spans, options
                )
                plans[i] = dataclasses.replace(plan, spans=assigned)
                kept.update(found)
                if chosen is not None:
                    voted[i] = chosen
        spans = sorted((s for p in plans for s in p.spans), key=lambda s: s.duration)
        size = self.batch_size(options)
        groups = [spans[k : k + size] for k in range(0, len(spans), size)]
        found_segments: dict[int, list[Segment]] = {
            i: [] for i, p in enumerate(plans) if p.kind == "windows"
        }
        long_inputs = [i for i, p in enumerate(plans) if p.kind == "long_form"]
        jobs: list[tuple[float, Callable[[], Any]]] = [
            (
                sum(s.duration for s in g),
                (
                    lambda g=g: self._decode_group(
                        decoder, {s.index: waves[s.index] for s in g}, g, options, kept
                    )
                ),
            )
            for g in groups
        ]
        jobs += [
            (
                waves[i].duration,
                (lambda i=i: self._long_form_transcript(waves[i], options)),
            )
            for i in long_inputs
        ]
        results = self._run([job for _, job in jobs], [weight for weight, _ in jobs])
        long_results: dict[int, Transcript] = dict(
            zip(long_inputs, results[len(groups) :], strict=True)
        )
        for result in results[: len(groups)]:
            for i, segs in result.segments.items():
                found_segments[i].extend(segs)
            voted.update(result.languages)
            for i in result.long_form:  # a whole short input whose window failed
                long_results[i] = self._long_form_transcript(
                    waves[i], options, voted.get(i)
                )
        out: list[Transcript] = []
        for i, (w, plan) in enumerate(zip(waves, plans, strict=True)):
            if i in long_results:
                out.append(long_results[i])
                continue
            given = self._language(options)
            language, probability = voted.get(i) or (
                given,
                None if given is None or plan.kind != "windows" else 1.0,
            )
            info = self.info(
                w.duration,
                options,
                language=language,
                language_probability=probability,
            )
            out.append(
                Transcript(longform.stitch(found_segments.get(i, ()), options), info)
            )
        return out

    def _long_form_transcript(
        self, waveform: Waveform, options: DecodeOptions, found: Language | None = None
    ) -> Transcript:
        info = self.info(waveform.duration, options, language=self._language(options))
        return Segments.lazy(
            info, lambda segs: self._long_form(waveform, options, segs, found)
        ).to_transcript()

    # -- running jobs ----------------------------------------------------------------
    def _run(self, jobs: list[Callable[[], Any]], weights: list[float]) -> list[Any]:
        """Run ``jobs`` (heaviest first) on up to :attr:`concurrency` threads; their
        results in the order given."""
        order = sorted(range(len(jobs)), key=lambda k: -weights[k])
        results: list[Any] = [None] * len(jobs)
        if self._executor is None or len(jobs) < 2 or _in_worker():
            for k in order:
                results[k] = jobs[k]()
        else:
            futures = {k: self._executor.submit(jobs[k]) for k in order}
            for k in order:
                results[k] = futures[k].result()
        return results

    def _windowed(
        self,
        decoder: WhisperWindowDecoder,
        waveform: Waveform,
        spans: tuple[Span, ...],
        options: DecodeOptions,
        segments: Segments,
    ) -> Iterator[Segment]:
        """One input's spans decoded in groups of consecutive spans, side by side on the
        workers, yielded in time order as the groups finish. Without a language it is
        detected first (:meth:`_assign_languages`) and written into
        ``segments.info`` before the first segment."""
        spans, kept, voted = self._assign_languages(decoder, waveform, spans, options)
        self._found_language(segments, voted, warn=not options.language_per_segment)
        size = self.batch_size(options)
        groups = [list(spans[k : k + size]) for k in range(0, len(spans), size)]
        waves = {0: waveform}

        def run(group: list[Span]) -> _Group:
            return self._decode_group(decoder, waves, group, options, kept)

        if self._executor is None or len(groups) < 2 or _in_worker():
            pending: Iterator[_Group] = (run(g) for g in groups)
            futures: list[Future[_Group]] = []
        else:
            futures = [self._executor.submit(run, g) for g in groups]
            pending = (f.result() for f in futures)
        try:
            for group in pending:
                if voted is None and 0 in group.languages:  # a lone span found it
                    voted = group.languages[0]
                    self._found_language(segments, voted)
                if group.long_form:  # a whole input: only when it was one window
                    yield from self._long_form(waveform, options, segments, voted)
                    continue
                yield from longform.stitch(group.segments.get(0, ()), options)
        finally:
            for future in futures:
                future.cancel()

    def _decode_group(
        self,
        decoder: WhisperWindowDecoder,
        waves: dict[int, Waveform],
        group: Sequence[Span],
        options: DecodeOptions,
        kept: Mapping[SpanKey, Any] | None = None,
    ) -> _Group:
        """Decode ``group`` in one batched call, then judge each decode and decode what
        it leaves (continuations and redone regions, batched with the rest) for up to
        :data:`.longform.MAX_CONTINUATIONS` further rounds; what still fails goes to
        faster-whisper. Each span is decoded in its own language (detected from its
        window when it has none); a lone span whose encoder output is in ``kept`` reuses
        it. Returns the segments found, the whole inputs to redo and the languages
        detected."""
        found: dict[int, list[Segment]] = {}
        languages: dict[int, Language] = {}
        long_form: list[int] = []
        fallback_kwargs: dict[str, Any] | None = None
        generator = self._generator(options)
        todo, rounds = list(group), 0
        while todo:
            windows = decoder.decode_many(
                [span.samples(waves[span.index]) for span in todo],
                beam_size=options.beam_size,
                prompt=options.initial_prompt,
                generator=generator,
                word_timestamps=True,  # also for the completeness check
                pad_frames=FINAL_PAD_FRAMES,
                languages=[span.language for span in todo],
                encoded=(kept or {}).get(_key(todo[0])) if len(todo) == 1 else None,
            )
            rest: list[Span] = []
            for span, window in zip(todo, windows, strict=True):
                if span.language is None and window.language is not None:
                    if window.language_probability is not None:  # detected here
                        languages[span.index] = (
                            window.language,
                            window.language_probability,
                        )
                    span = dataclasses.replace(span, language=window.language)
                verdict = _judge(window, span, waves[span.index].duration)
                if isinstance(verdict, FallBack) and verdict.span.regions is None:
                    long_form.append(span.index)
                    continue
                segments = found.setdefault(span.index, [])
                if isinstance(verdict, (Done, Continue)):
                    segments.extend(_tagged(verdict.segments, span, options))
                more = (
                    (verdict.rest,)
                    if isinstance(verdict, Continue)
                    else verdict.spans
                    if isinstance(verdict, Redo)
                    else ()
                )
                if more and rounds < longform.MAX_CONTINUATIONS:
                    rest += more
                    continue
                failed = more or (
                    (verdict.span,) if isinstance(verdict, FallBack) else ()
                )
                if failed:
                    fallback_kwargs = fallback_kwargs or self._long_form_kwargs(options)
                    for piece in failed:
                        pieces = self._decode_piece(
                            waves[span.index],
                            piece.start,
                            piece.end,
                            {**fallback_kwargs, "language": span.language},
                            self._with_generator(generator),
                        )[0]
                        segments += _tagged(pieces, span, options)
            todo, rounds = rest, rounds + 1
        return _Group(found, tuple(long_form), languages)

    # -- faster-whisper's long form --------------------------------------------------
    def _long_form(
        self,
        waveform: Waveform,
        options: DecodeOptions,
        segments: Segments | None = None,
        found: Language | None = None,
    ) -> Iterator[Segment]:
        """faster-whisper's sequential decoder: 30 s windows, temperature fallback, VAD.

        Inputs longer than :data:`.longform.PIECE_S` go in pieces cut at their quietest
        moment near each boundary: faster-whisper computes the features of its whole
        input at once (about 2 GB for 30 minutes), so pieces keep memory flat. An engine
        with several workers decodes the pieces side by side, unless
        ``condition_on_previous_text`` chains them (each piece is then prompted with the
        end of the last). The language found is written into ``segments.info``.

        Without a language, aural detects it first (a vote over the input's speech,
        as :meth:`detect_language`), unless the caller already ``found`` it, and
        faster-whisper is told it.
        """
        pieces = longform.plan_pieces(waveform.samples)
        kwargs = self._long_form_kwargs(options)
        if kwargs["language"] is None and self.is_multilingual:
            if found is None:
                spans = self._detection_spans(waveform, options)
                decoder = self._decoder_for(None, options.task, options)
                probs = self._vote(
                    decoder, waveform, spans, keep=False, settle=options
                )[0]
                found = probs[0] if probs else None
            if found is not None:
                kwargs["language"] = found[0]
                self._found_language(segments, found)
        model = self._faster_whisper(options)
        parallel = (
            len(pieces) > 1
            and self._executor is not None
            and not options.condition_on_previous_text
            and not _in_worker()
        )
        if parallel:
            assert self._executor is not None
            decoded: Iterator[tuple[list[Segment], tuple[str | None, float | None]]] = (
                self._executor.map(
                    lambda p: self._decode_piece(
                        waveform, p[0] / SAMPLE_RATE, p[1] / SAMPLE_RATE, kwargs, model
                    ),
                    pieces,
                )
            )
        else:
            decoded = self._sequential_pieces(waveform, pieces, kwargs, options, model)
        first = True
        for piece_segments, (language, probability) in decoded:
            if first and segments is not None and found is None:
                segments.info = _with_language(segments.info, language, probability)
            first = False
            yield from piece_segments

    def _sequential_pieces(
        self,
        waveform: Waveform,
        pieces: list[tuple[int, int]],
        kwargs: dict[str, Any],
        options: DecodeOptions,
        model: Any,
    ) -> Iterator[tuple[list[Segment], tuple[str | None, float | None]]]:
        for a, b in pieces:
            found, language = self._decode_piece(
                waveform, a / SAMPLE_RATE, b / SAMPLE_RATE, kwargs, model
            )
            yield found, language
            if options.condition_on_previous_text and found:
                kwargs = {
                    **kwargs,
                    "initial_prompt": " ".join(s.text for s in found[-3:]),
                }

    def _decode_piece(
        self,
        waveform: Waveform,
        start: float,
        end: float,
        kwargs: dict[str, Any],
        model: Any,
    ) -> tuple[list[Segment], tuple[str | None, float | None]]:
        """``waveform`` from ``start`` to ``end`` s through faster-whisper ``model``:
        its segments on the input's clock, and the language it detected."""
        a, b = round(start * SAMPLE_RATE), round(end * SAMPLE_RATE)
        found, info = model.transcribe(
            np.ascontiguousarray(waveform.samples[a:b], dtype=np.float32), **kwargs
        )
        segments = list(
            longform.convert_segments(found, a / SAMPLE_RATE, waveform.duration)
        )
        return segments, (info.language, info.language_probability)

    def _long_form_kwargs(self, options: DecodeOptions) -> dict[str, Any]:
        temperatures = tuple(
            round(t, 2)
            for t in np.arange(options.temperature, 1.0 + 1e-6, FALLBACK_STEP)
        )
        vad = options.vad_options
        return {
            "language": self._language(options),
            "task": options.task,
            "beam_size": options.beam_size,
            "word_timestamps": options.word_timestamps,
            "initial_prompt": options.initial_prompt,
            "temperature": temperatures,
            "condition_on_previous_text": options.condition_on_previous_text,
            "vad_filter": options.vad,
            "vad_parameters": {
                "threshold": vad.threshold,
                "min_speech_duration_ms": vad.min_speech_duration_ms,
                "min_silence_duration_ms": vad.min_silence_duration_ms,
                "speech_pad_ms": vad.speech_pad_ms,
            },
            "no_speech_threshold": NO_SPEECH_THRESHOLD,
            "log_prob_threshold": LOG_PROB_THRESHOLD,
        }

    # -- streaming -------------------------------------------------------------------
    def buffer_decoder(self, options: DecodeOptions) -> Any:
        from aural.engines.whisper.stream import WhisperBufferDecoder

        return WhisperBufferDecoder(
            self,
            self._window_decoder(options.with_(trimmed_windows=True)),
            self._generator(options),
            per_segment=options.language_per_segment,
        )


def _key(span: Span) -> SpanKey:
    return (span.index, span.start, span.end)


def _tagged(
    segments: Sequence[Segment], span: Span, options: DecodeOptions
) -> Sequence[Segment]:
    """``segments`` with ``language`` set to their span's in per-segment mode."""
    if not options.language_per_segment or span.language is None:
        return segments
    return [dataclasses.replace(s, language=span.language) for s in segments]


def _judge(window: WindowResult, span: Span, duration: float) -> Verdict:
    if span.regions is None:
        return longform.judge_whole(window, span, duration)
    return longform.judge_chunk(window, span, duration)


def _in_worker() -> bool:
    """True in one of the engine's worker threads (they never submit nested work)."""
    return threading.current_thread().name.startswith(_WORKER_PREFIX)


def _with_language(info: Any, language: str | None, probability: float | None) -> Any:
    return dataclasses.replace(
        info, language=language, language_probability=probability
    )


def parallel_settings(workers: int = 0, threads: int = 0) -> dict[str, int]:
    """Deprecated: use ``WhisperSettings`` with
    :func:`aural.engines.layout.choose_layout`.

    Engine settings for ``workers`` decodes at once (0 = the layout rule's count for a
    batch) of ``threads`` threads each (0 = the rule's).
    """
    import warnings

    warnings.warn(
        "parallel_settings is deprecated; use WhisperSettings(num_workers=..., "
        "cpu_threads=...) with aural.engines.layout.choose_layout",
        DeprecationWarning,
        stacklevel=2,
    )
    layout = choose_layout("batch", decodes=workers or None, threads=threads or None)
    return {"num_workers": layout.decodes, "cpu_threads": layout.threads}
