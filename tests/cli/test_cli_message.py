"""aural.cli.common.cli_message: the library's API wording plus the CLI's own flags,
read from the error's structured ``options`` and notes (never by parsing the
message)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aural.audio import load
from aural.cli.common import CLI_FLAGS, cli_message
from aural.errors import AuralError, ConfigError


def test_headerless_pcm_error_gets_the_cli_flags(goforward_raw: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load(goforward_raw)
    line = cli_message(caught.value)
    assert line.startswith(str(caught.value))  # the library's words, untouched
    assert line.endswith("(on the command line: --raw-sample-rate, --raw-encoding)")


def test_notes_are_kept_and_unknown_options_not_invented() -> None:
    err = AuralError(
        "bad thing; pass frobnicate=1", options=("frobnicate", "noise_dir")
    )
    err.add_note("(input 2 of 3)")
    assert cli_message(err) == (
        "bad thing; pass frobnicate=1 (input 2 of 3) (on the command line: --noise-dir)"
    )
    assert cli_message(AuralError("plain")) == "plain"


def test_a_command_can_map_its_own_flags() -> None:
    err = ConfigError("no engine", options=("engines",))
    assert cli_message(err).endswith("(on the command line: --engine)")
    assert cli_message(err, {"engines": "--engines"}).endswith("--engines)")
    assert all(flag.startswith("--") for flag in CLI_FLAGS.values())
