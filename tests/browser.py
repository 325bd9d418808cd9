"""One way the tests drive a browser: Debian's chromium (/usr/bin/chromium) through
Playwright, with a fresh profile, and a page that fails its test on a page error or a
content-security-policy violation."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# no network beyond loopback, no first-run or background chatter
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def require_chromium() -> Path:
    """The browser, or a skip (a failure under CI, where it must be installed)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(
                "/usr/bin/chromium is missing under CI (apt-get install chromium)"
            )
        pytest.skip(
            "Debian chromium not installed at /usr/bin/chromium (apt-get install "
            "chromium)"
        )
    pytest.importorskip("playwright.sync_api")
    return CHROMIUM


@contextmanager
def open_page(
    profile: Path, args: Sequence[str] = CHROMIUM_ARGS, **context_options: Any
) -> Iterator[Any]:
    """A new page in a fresh persistent context (user-data-dir ``profile``); on leaving,
    the page must have raised no error and broken no content-security-policy rule."""
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(executable),
            headless=True,
            args=list(args),
            **context_options,
        )
        try:
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # Chromium reports each resource or inline code the policy refused here
            page.on(
                "console",
                lambda msg: (
                    errors.append(msg.text)
                    if "Content Security Policy" in msg.text
                    else None
                ),
            )
            yield page
            assert errors == [], errors
        finally:
            context.close()
