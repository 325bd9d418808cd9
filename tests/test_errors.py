"""aural.errors: structured ``options`` on errors, and library messages that speak the
API's language, never the CLI's (issue 17): the CLI adds its flags itself
(:func:`aural.cli.common.cli_message`)."""

from __future__ import annotations

import ast
import pickle
import re
from pathlib import Path

import aural
from aural.errors import AudioTooLongError, AuralError, ConfigError, DatasetError

SRC = Path(aural.__file__).parent
_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
_QUOTED_COMMAND = re.compile(r"`[^`]*`")  # a whole shell command to run may name flags
# Library files still naming flags; the list may only shrink.
PENDING: set[str] = set()


def test_options_are_kept_through_pickling() -> None:
    err = ConfigError("pass noise_dir", options=["noise_dir"])
    assert err.options == ("noise_dir",)
    assert pickle.loads(pickle.dumps(err)).options == ("noise_dir",)
    assert (
        DatasetError("x").options == () and AudioTooLongError("long", 3.0).options == ()
    )


def _flag_mentions(path: Path) -> list[str]:
    """Flags named in the module's strings, leaving out docstrings (bare string
    statements) and whole commands quoted in backticks."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = {
        id(n.value)
        for n in ast.walk(tree)
        if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docs
        ):
            text = _QUOTED_COMMAND.sub("", node.value)
            found += [f"line {node.lineno}: {m}" for m in _FLAG.findall(text)]
    return found


def test_library_error_messages_name_no_cli_flags() -> None:
    offenders = {}
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("cli/"):
            continue
        mentions = _flag_mentions(path)
        if mentions:
            offenders[rel] = mentions
    assert set(offenders) <= PENDING, {
        k: v for k, v in offenders.items() if k not in PENDING
    }


def test_aural_error_is_still_a_plain_exception() -> None:
    err = AuralError("message")
    err.add_note("context")
    assert (
        str(err) == "message"
        and err.__notes__ == ["context"]
        and err.args == ("message",)
    )
