"""Fixtures for text tests: openai-whisper's English normaliser as an independent
reference.

Only ``whisper/normalizers`` is loaded (by file path), so whisper's own heavy imports
(torch, tiktoken) are not needed. Tests using it skip when the package is absent.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Callable
from pathlib import Path

import pytest


def load_whisper_normalizer() -> Callable[[str], str] | None:
    modules = _load_whisper_modules()
    return None if modules is None else modules["english"].EnglishTextNormalizer()


def load_whisper_basic_normalizer(
    remove_diacritics: bool = False,
) -> Callable[[str], str] | None:
    """Whisper's BasicTextNormalizer (None when openai-whisper is not installed)."""
    modules = _load_whisper_modules()
    if modules is None:
        return None
    basic: Callable[[str], str] = modules["basic"].BasicTextNormalizer(
        remove_diacritics=remove_diacritics
    )
    return basic


def _load_whisper_modules() -> dict[str, types.ModuleType] | None:
    try:
        spec = importlib.util.find_spec("whisper")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "normalizers"
    if not (folder / "english.py").is_file():
        return None
    if any(importlib.util.find_spec(m) is None for m in ("more_itertools", "regex")):
        return None
    name = "_aural_whisper_ref_normalizers"
    package = sys.modules.get(name)
    if package is None:
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]  # type: ignore[attr-defined]
        sys.modules[name] = package
    modules = {}
    for sub in ("basic", "english"):
        full = f"{name}.{sub}"
        if full not in sys.modules:
            sub_spec = importlib.util.spec_from_file_location(
                full, folder / f"{sub}.py"
            )
            assert sub_spec is not None and sub_spec.loader is not None
            module = importlib.util.module_from_spec(sub_spec)
            sys.modules[full] = module
            sub_spec.loader.exec_module(module)
        modules[sub] = sys.modules[full]
    return modules


@pytest.fixture(scope="session")
def whisper_normalizer() -> Callable[[str], str]:
    """Whisper's EnglishTextNormalizer with aural's spelling table,
    whitespace-collapsed.

    Using the same spelling table compares every rule except the word list itself.
    """
    from aural.text.spelling import british_to_american

    reference = load_whisper_normalizer()
    if reference is None:
        pytest.skip(
            "openai-whisper (and more-itertools) not installed: no reference normaliser"
        )
    reference.standardize_spellings.mapping = british_to_american()  # type: ignore[attr-defined]

    def normalize(text: str) -> str:
        return " ".join(reference(text).split())

    return normalize
