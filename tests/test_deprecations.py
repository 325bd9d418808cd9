"""Names renamed in issue 17 keep working for a release, with a DeprecationWarning."""

from __future__ import annotations

import numpy as np
import pytest

from aural.audio import Waveform
from aural.decoding.options import DecodeOptions


def test_decode_options_short_form_is_trimmed_windows() -> None:
    with pytest.warns(DeprecationWarning, match="trimmed_windows"):
        old = DecodeOptions(short_form=False)
    assert old.trimmed_windows is False and old == DecodeOptions(trimmed_windows=False)
    with pytest.warns(DeprecationWarning, match="trimmed_windows"):
        assert old.short_form is False
    assert old.with_(beam_size=1).trimmed_windows is False  # copies keep the value
    assert "short_form" not in DecodeOptions().to_dict()


def test_parse_hotwords_is_split_hotword_list() -> None:
    from aural.decoding.options import parse_hotwords, split_hotword_list

    with pytest.warns(DeprecationWarning, match="split_hotword_list"):
        assert parse_hotwords("a:2, b") == split_hotword_list("a:2, b") == ("a:2", "b")


def test_evaluation_names_that_clashed_with_align_and_ctc() -> None:
    import aural.evaluation as evaluation
    from aural.evaluation.metrics import EditAlignment
    from aural.evaluation.runner import UtteranceHypothesis

    with pytest.warns(DeprecationWarning, match="EditAlignment"):
        assert evaluation.Alignment is EditAlignment
    with pytest.warns(DeprecationWarning, match="UtteranceHypothesis"):
        assert evaluation.Hypothesis is UtteranceHypothesis


def test_engine_helpers_renamed(sphinx_engine) -> None:
    from aural.engines.whisper import parallel_settings
    from aural.streaming import open_session

    with pytest.warns(DeprecationWarning, match="prepare"):
        w = sphinx_engine.check_waveform(Waveform(np.zeros(1600, np.float32), 16000))
    assert w.duration == pytest.approx(0.1)
    with pytest.warns(DeprecationWarning, match="WhisperSettings"):
        assert parallel_settings(3, 1) == {"num_workers": 3, "cpu_threads": 1}
    with pytest.warns(DeprecationWarning, match="engine.stream"):
        session = open_session(sphinx_engine, DecodeOptions())
    assert session.finish()[-1].__class__.__name__ == "EndOfStream"
