"""PocketSphinx baseline on real recordings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aural.audio import Waveform, load
from aural.decoding.options import DecodeOptions
from aural.errors import ConfigError, ModelNotFoundError


def test_sphinx_goforward(sphinx_engine, goforward_raw: Path) -> None:
    t = sphinx_engine.transcribe(load(goforward_raw, raw_sample_rate=16000))
    assert t.text == "go forward ten meters"
    words = t.segments[0].words
    assert [w.text for w in words] == ["go", "forward", "ten", "meters"]
    assert all(a.end <= b.start + 1e-6 for a, b in zip(words, words[1:]))
    assert t.info.engine == "sphinx" and t.segments[-1].end <= t.info.duration


def test_sphinx_long_file_segments(sphinx_engine, libri_8k: Path) -> None:
    t = sphinx_engine.transcribe(load(libri_8k))
    assert len(t.text.split()) > 30
    ends = [s.end for s in t.segments]
    assert ends == sorted(ends) and ends[-1] <= t.info.duration


def test_sphinx_silence(sphinx_engine) -> None:
    assert (
        sphinx_engine.transcribe(Waveform(np.zeros(32000, np.float32), 16000)).segments
        == ()
    )


def test_sphinx_rejects_hotwords_and_languages(sphinx_engine, ldc_wav: Path) -> None:
    w = load(ldc_wav)
    with pytest.raises(ConfigError, match="hotwords"):
        sphinx_engine.transcribe(w, DecodeOptions(hotwords=("suit",)))
    with pytest.raises(ConfigError, match="English-only"):
        sphinx_engine.transcribe(w, DecodeOptions(language="de"))


def test_sphinx_bad_model_folder(tmp_path: Path) -> None:
    from aural.engines import create_engine

    with pytest.raises(ModelNotFoundError, match="mdef"):
        create_engine("sphinx", str(tmp_path))


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (DecodeOptions(task="translate"), "cannot translate"),
        (DecodeOptions(temperature=0.2), "temperature=0.2"),
        (DecodeOptions(initial_prompt="hello"), "initial_prompt"),
        (DecodeOptions(condition_on_previous_text=True), "condition_on_previous_text"),
    ],
)
def test_sphinx_refuses_options_it_cannot_honour(
    sphinx_engine, ldc_wav: Path, options, named
) -> None:
    """Refused before any audio, by the check every entry point calls (they used to be
    ignored)."""
    with pytest.raises(ConfigError, match=named):
        sphinx_engine.transcribe(load(ldc_wav), options)
    with pytest.raises(ConfigError, match=named):
        sphinx_engine.stream(options)


def test_sphinx_declares_native_streaming(sphinx_engine) -> None:
    caps = sphinx_engine.capabilities
    assert caps.streaming == "native" and not caps.hotwords and caps.languages == {"en"}
    assert type(sphinx_engine.stream()).__name__ == "SphinxSession"
