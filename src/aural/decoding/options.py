"""Runtime decoding options shared by every entry point (CLI, API, batch, streaming,
server)."""

from __future__ import annotations

import warnings
from dataclasses import InitVar, asdict, dataclass, field, replace
from typing import Any

from aural.audio.vad import VadOptions
from aural.errors import ConfigError, OptionConflictError

__all__ = ["DecodeOptions", "VadOptions", "parse_hotwords", "split_hotword_list"]


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """How to decode. ``None`` always means "the engine's documented default"."""

    language: str | None = None  # ISO 639-1 code; None = the model's language / detect
    beam_size: int = 5  # 1 = greedy
    temperature: float = 0.0  # first sampling temperature (fallback raises it)
    vad: bool = True  # skip non-speech with VAD (guards against invented text)
    vad_options: VadOptions = field(default_factory=VadOptions)
    word_timestamps: bool = True  # word start/end/probability
    hotwords: tuple[str, ...] = ()  # words/phrases the decoder should favour
    initial_prompt: str | None = None  # text that conditions the first window
    condition_on_previous_text: bool = False  # feed each window's text to the next
    # inputs per batched decoder call; None = the engine's choice for its device
    # (Whisper: 1 on a CPU, where padding costs more than batching saves; see
    # engines.layout)
    batch_size: int | None = None
    # Whisper: decode in windows trimmed to the speech (plus 8 s of silence; long inputs
    # in chunks of up to 29 s) instead of padded 30 s windows (False = faster-whisper's
    # way)
    trimmed_windows: bool = True
    task: str = "transcribe"  # "transcribe" or "translate" (Whisper)
    # deprecated name of trimmed_windows (until the next release):
    # DecodeOptions(short_form=)
    short_form: InitVar[bool | None] = None

    def __post_init__(self, short_form: bool | None) -> None:
        if isinstance(short_form, bool):
            warnings.warn(
                "DecodeOptions(short_form=...) is deprecated; use trimmed_windows",
                DeprecationWarning,
                stacklevel=3,
            )
            object.__setattr__(self, "trimmed_windows", short_form)
        elif short_form is not None:
            raise ConfigError(f"short_form must be True or False, got {short_form!r}")
        for name in (
            "vad",
            "word_timestamps",
            "condition_on_previous_text",
            "trimmed_windows",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(
                    f"{name} must be True or False, got {getattr(self, name)!r}"
                )
        for name in ("beam_size", "batch_size"):
            value = getattr(self, name)
            if name == "batch_size" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if (
            isinstance(self.temperature, bool)
            or not isinstance(self.temperature, (int, float))
            or not 0.0 <= self.temperature <= 1.0
        ):
            raise ConfigError(
                f"temperature must be a number in [0, 1], got {self.temperature!r}"
            )
        if self.initial_prompt is not None and not isinstance(self.initial_prompt, str):
            raise ConfigError(
                f"initial_prompt must be text, got {self.initial_prompt!r}"
            )
        if self.task not in ("transcribe", "translate"):
            raise ConfigError(
                f"task must be 'transcribe' or 'translate', got {self.task!r}"
            )
        if self.language is not None and (
            not isinstance(self.language, str) or not 2 <= len(self.language) <= 8
        ):
            raise ConfigError(
                f"language must be an ISO 639 code like 'en', got {self.language!r}"
            )
        if isinstance(self.hotwords, str):
            raise OptionConflictError(
                "hotwords must be a tuple of strings, not one string"
            )
        if any(not isinstance(h, str) or not h.strip() for h in self.hotwords):
            raise ConfigError(
                f"hotwords must be non-empty strings, got {self.hotwords!r}"
            )

    def with_(self, **changes: Any) -> DecodeOptions:
        """A copy with some fields changed (validated again)."""
        changes.setdefault("short_form", None)  # the deprecated keyword: not a field
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hotwords"] = list(self.hotwords)
        return d


def _short_form(self: DecodeOptions) -> bool:
    warnings.warn(
        "DecodeOptions.short_form is deprecated; use trimmed_windows",
        DeprecationWarning,
        stacklevel=2,
    )
    return self.trimmed_windows


# reading the old name gives the new field, with a warning (set after the class is
# built: the dataclass keeps None as the constructor's default for the deprecated
# keyword)
DecodeOptions.short_form = property(_short_form)  # type: ignore[attr-defined]


def split_hotword_list(text: str | None) -> tuple[str, ...]:
    """Split a comma-separated hotword list (``"word:2.5, a phrase"``) into the entries
    ``DecodeOptions.hotwords`` holds; weights stay on their entries for the decoders
    (:func:`aural.decoding.hotwords.parse_hotwords` reads them)."""
    if not text:
        return ()
    return tuple(p.strip() for p in text.split(",") if p.strip())


def parse_hotwords(text: str | None) -> tuple[str, ...]:
    """Deprecated name of :func:`split_hotword_list` (kept for one release)."""
    import warnings

    warnings.warn(
        "aural.decoding.options.parse_hotwords is deprecated; use split_hotword_list",
        DeprecationWarning,
        stacklevel=2,
    )
    return split_hotword_list(text)
