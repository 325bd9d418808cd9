"""Exceptions raised by aural.

Every error aural raises on purpose derives from :class:`AuralError`. Each message
names the offending input and says what to do about it in the terms of the Python API
(``pass raw_sample_rate=16000``), never a command-line flag: the API is what every front
end shares. An error that asks for an option also lists it in
:attr:`AuralError.options`, so a front end can name its own spelling of it (the CLI's
``--raw-sample-rate``; over HTTP the field has the API's name) without parsing the
message. Context added on the way up goes in notes (``err.add_note(...)``), never into a
rebuilt exception.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "AuralError",
    "AudioDecodeError",
    "AudioTooLongError",
    "UnsupportedAudioError",
    "EmptyAudioError",
    "ConfigError",
    "OptionConflictError",
    "ModelNotFoundError",
    "MissingDependencyError",
    "EngineNotFoundError",
    "DatasetError",
]


class AuralError(Exception):
    """Base class for every error aural raises on purpose.

    Args:
        *args: the message (one string), as for any exception.
        options: names of the API arguments or fields the message asks the caller to set
            (``"raw_sample_rate"``, ``"noise_dir"``), in the order it names them.

    Attributes:
        options: as given (empty when the error asks for no option).
    """

    options: tuple[str, ...] = ()

    def __init__(self, *args: object, options: Iterable[str] = ()) -> None:
        super().__init__(*args)
        if options:
            self.options = tuple(options)


class AudioDecodeError(AuralError):
    """The audio could not be read: missing, truncated or corrupt."""


class UnsupportedAudioError(AudioDecodeError):
    """The input is not audio in a format aural can decode."""


class EmptyAudioError(AudioDecodeError):
    """The input decoded to zero samples."""


class AudioTooLongError(AudioDecodeError):
    """The input lasts longer than the caller's limit (decoding stopped at the limit).

    Attributes:
        limit: the limit in seconds.
    """

    def __init__(self, message: str, limit: float) -> None:
        super().__init__(message)
        self.limit = limit


class ConfigError(AuralError):
    """An option or configuration value is invalid."""


class OptionConflictError(ConfigError, ValueError):
    """Two options contradict each other."""


class ModelNotFoundError(AuralError):
    """A model name or path could not be resolved to weights on this machine."""


class EngineNotFoundError(ConfigError):
    """No engine is registered under the requested name."""


class MissingDependencyError(AuralError):
    """An optional dependency needed for this feature is not installed."""


class DatasetError(AuralError):
    """A dataset folder or manifest could not be read."""


def missing_dependency(
    package: str, extra: str, feature: str
) -> MissingDependencyError:
    """Build the standard message for an optional dependency that is not installed."""
    return MissingDependencyError(
        f"{feature} needs the '{package}' package, which is not installed; "
        f"install it with `pip install 'aural[{extra}]'`"
    )
