"""Runtime decoding options shared by every entry point (CLI, API, batch, streaming,
server)."""

from __future__ import annotations

import os
import re
import warnings
from dataclasses import InitVar, asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from aural.audio.vad import VadOptions
from aural.errors import ConfigError, OptionConflictError

__all__ = [
    "DecodeOptions",
    "VadOptions",
    "parse_hotwords",
    "read_hotwords_file",
    "split_hotword_list",
]

# A hotword list of thousands of entries is a few tens of KiB; anything this large is
# another kind of file given by mistake (refused before it is read into memory).
MAX_HOTWORDS_FILE_BYTES = 4 << 20
_COMMENT = re.compile(r"(?:^|(?<=\s))#")  # a '#' at a line's or a word's start


@dataclass(frozen=True, slots=True)
class DecodeOptions:
    """How to decode. ``None`` always means "the engine's documented default"."""

    # ISO 639-1 code; None (or "auto") = the model's language, or detect it
    language: str | None = None
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
    # language detection may choose only these (probabilities renormalised over them);
    # () = any language the model knows
    languages: tuple[str, ...] = ()
    # detect the language of each speech chunk (code-switching; Segment.language is
    # set); a switch needs two confident chunks in a row or one very confident one
    language_per_segment: bool = False

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
            "language_per_segment",
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
        if self.language == "auto":  # the CLI's and the server's word for "detect"
            object.__setattr__(self, "language", None)
        if self.language is not None and (
            not isinstance(self.language, str) or not 2 <= len(self.language) <= 8
        ):
            raise ConfigError(
                f"language must be an ISO 639 code like 'en' (or 'auto'), got "
                f"{self.language!r}"
            )
        self._check_languages()
        if isinstance(self.hotwords, str):
            raise OptionConflictError(
                "hotwords must be a tuple of strings, not one string"
            )
        if any(not isinstance(h, str) or not h.strip() for h in self.hotwords):
            raise ConfigError(
                f"hotwords must be non-empty strings, got {self.hotwords!r}"
            )

    def _check_languages(self) -> None:
        """The allow-list: a tuple of language codes, agreeing with ``language``."""
        if isinstance(self.languages, str):
            raise OptionConflictError(
                "languages must be a tuple of codes like ('en', 'de'), not one string"
            )
        if not isinstance(self.languages, tuple):
            if not isinstance(self.languages, list):
                raise ConfigError(
                    f"languages must be a tuple of codes, got {self.languages!r}"
                )
            object.__setattr__(self, "languages", tuple(self.languages))
        if any(
            not isinstance(code, str) or not 2 <= len(code) <= 8
            for code in self.languages
        ):
            raise ConfigError(
                "languages must be ISO 639 codes like ('en', 'de'), got "
                f"{self.languages!r}"
            )
        if (
            self.language is not None
            and self.languages
            and self.language not in self.languages
        ):
            raise OptionConflictError(
                f"language={self.language!r} is not in languages="
                f"{self.languages!r}; give one of them, or language='auto'",
                options=("language", "languages"),
            )
        if self.language is not None and self.language_per_segment:
            raise OptionConflictError(
                f"language_per_segment detects each segment's language, but "
                f"language={self.language!r} fixes it; use language='auto' (optionally "
                "with languages=(...))",
                options=("language", "language_per_segment"),
            )

    def with_(self, **changes: Any) -> DecodeOptions:
        """A copy with some fields changed (validated again)."""
        changes.setdefault("short_form", None)  # the deprecated keyword: not a field
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["hotwords"] = list(self.hotwords)
        d["languages"] = list(self.languages)
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


def read_hotwords_file(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """Read a hotword list from a UTF-8 text file: one entry per line.

    An entry is a word or phrase, optionally with its own weight (``Gwynplaine:2.0``);
    a line may also hold several comma-separated entries, as
    :func:`split_hotword_list` takes them. Blank lines are skipped, and so is a ``#``
    comment: a whole line, or the rest of a line after a ``#`` that starts a word
    (``C#`` stays an entry). Repeated entries are kept once, in the order first seen.
    A byte-order mark is allowed.

    Args:
        path: the file.

    Returns:
        The entries, as ``DecodeOptions.hotwords`` holds them (weights stay on their
        entries).

    Raises:
        ConfigError: the file is missing, unreadable, too large, not UTF-8 text, or an
            entry's weight is not a non-negative number (the message names the file
            and line).

    Example:
        A file holding ``# characters``, ``Gwynplaine:2``, an empty line and ``Dea``
        gives ``("Gwynplaine:2", "Dea")``::

            options = DecodeOptions(hotwords=read_hotwords_file("names.txt"))
    """
    from aural.decoding.hotwords import parse_hotwords as parse_weighted

    file = Path(path)
    what = f"hotwords file {os.fspath(path)}"
    try:
        if file.is_dir():
            raise ConfigError(
                f"{what} is a folder; give a text file with one entry per line",
                options=("hotwords",),
            )
        with file.open("rb") as handle:
            data = handle.read(MAX_HOTWORDS_FILE_BYTES + 1)
    except FileNotFoundError as err:
        raise ConfigError(f"{what}: no such file", options=("hotwords",)) from err
    except OSError as err:
        raise ConfigError(
            f"{what}: cannot read it ({err.strerror or err})", options=("hotwords",)
        ) from err
    if len(data) > MAX_HOTWORDS_FILE_BYTES:
        raise ConfigError(
            f"{what} is larger than {MAX_HOTWORDS_FILE_BYTES >> 20} MiB; a hotword "
            "list is a text file with one entry per line",
            options=("hotwords",),
        )
    bad = data.find(b"\x00")  # NUL: a binary file, whatever the decoder says
    text = None
    if bad < 0:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            bad = err.start
    if text is None:
        raise ConfigError(
            f"{what} is not UTF-8 text (binary data at byte {bad}); give a text file "
            "with one entry per line",
            options=("hotwords",),
        )
    entries: dict[str, None] = {}
    for number, line in enumerate(text.splitlines(), 1):
        for item in split_hotword_list(_COMMENT.split(line, maxsplit=1)[0]):
            entry = " ".join(item.split())
            try:
                parse_weighted((entry,))  # a malformed weight: refused with its line
            except ConfigError as err:
                raise ConfigError(
                    f"{what}, line {number}: {err}", options=("hotwords",)
                ) from err
            entries.setdefault(entry)
    return tuple(entries)


def parse_hotwords(text: str | None) -> tuple[str, ...]:
    """Deprecated name of :func:`split_hotword_list` (kept for one release)."""
    import warnings

    warnings.warn(
        "aural.decoding.options.parse_hotwords is deprecated; use split_hotword_list",
        DeprecationWarning,
        stacklevel=2,
    )
    return split_hotword_list(text)
