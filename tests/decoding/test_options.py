"""DecodeOptions refuses wrong types with a ConfigError, not a TypeError later."""

from __future__ import annotations

import pytest

from aural.decoding.options import DecodeOptions
from aural.errors import ConfigError


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", "a"),
        ("temperature", True),
        ("temperature", 1.5),
        ("batch_size", "4"),
        ("batch_size", 0),
        ("beam_size", True),
        ("beam_size", 2.0),
        ("vad", "no"),
        ("word_timestamps", 1),
        ("trimmed_windows", None),
        ("initial_prompt", 5),
    ],
)
def test_wrong_types_are_config_errors(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):
        DecodeOptions(**{field: value})


def test_valid_options_pass() -> None:
    options = DecodeOptions(
        temperature=0,
        beam_size=1,
        batch_size=8,
        vad=False,
        initial_prompt="Glossary: aural.",
    )
    assert options.with_(temperature=0.4).temperature == 0.4
