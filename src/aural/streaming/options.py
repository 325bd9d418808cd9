"""Knobs of a streaming session that have no offline counterpart (latency
trade-offs)."""

from __future__ import annotations

from dataclasses import dataclass

from aural.errors import ConfigError

__all__ = ["StreamingOptions"]


@dataclass(frozen=True, slots=True)
class StreamingOptions:
    """How a streaming session trades latency for accuracy and compute.

    Decoding options (beam size, language, VAD threshold, padding) come from the
    :class:`~aural.decoding.options.DecodeOptions` given to the session; these fields
    are the streaming-only policy.

    Attributes:
        partial_interval_s: re-decode the open utterance after this much new audio
            (seconds) to refresh the partial hypothesis.
        first_partial_s: speech needed (seconds) before the first partial decode of an
            utterance; smaller gives an earlier first partial.
        endpoint_silence_s: silence (seconds) after speech that ends an utterance and
            triggers its final decode; smaller gives earlier finals and more, shorter
            segments.
        max_buffer_s: longest audio (seconds) re-decoded at once; beyond it the
            committed words (agreed by two consecutive hypotheses) become final and are
            trimmed off.
        max_lag_s: compute backlog (seconds behind real time) beyond which partial
            decodes are skipped, the buffer is shortened and finals are decoded
            greedily. Half of it already halves the partial rate.
        partials: emit partial hypotheses at all (False = finals only, least compute).
        speculative_final: start the final decode after half of ``endpoint_silence_s``
            (at least the VAD's speech padding) of silence, so that the final is ready
            when the endpoint confirms; a pause that turns out to be mid-utterance
            wastes that decode. Off when the session is behind real time.
    """

    partial_interval_s: float = 0.5
    first_partial_s: float = 0.2
    endpoint_silence_s: float = 0.4
    max_buffer_s: float = 12.0
    max_lag_s: float = 2.0
    partials: bool = True
    speculative_final: bool = True

    def __post_init__(self) -> None:
        checks = {
            "partial_interval_s": (0.05, 30.0),
            "first_partial_s": (0.0, 30.0),
            "endpoint_silence_s": (0.05, 10.0),
            "max_buffer_s": (2.0, 28.0),
            "max_lag_s": (0.1, 600.0),
        }
        for name, (low, high) in checks.items():
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (low <= value <= high)
            ):
                raise ConfigError(
                    f"StreamingOptions.{name} must be a number of seconds in "
                    f"[{low}, {high}], got {value!r}"
                )
