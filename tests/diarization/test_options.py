"""DiarizationOptions refuse bad values with messages naming them."""

from __future__ import annotations

import pytest

from aural.diarization import DiarizationOptions, load_embedder
from aural.errors import ConfigError, OptionConflictError


@pytest.mark.parametrize(
    ("changes", "error", "needle"),
    [
        ({"num_speakers": 0}, ConfigError, "num_speakers"),
        ({"min_speakers": 3, "max_speakers": 2}, ConfigError, "min_speakers"),
        ({"num_speakers": 9}, OptionConflictError, "num_speakers=9"),
        ({"clustering": "kmeans"}, OptionConflictError, "kmeans"),
        ({"clustering": "dbscan"}, ConfigError, "dbscan"),
        ({"embedder": "xvector"}, ConfigError, "xvector"),
        ({"hop_s": 2.0}, ConfigError, "hop_s"),
        ({"min_turn_s": -1}, ConfigError, "min_turn_s"),
        ({"merge_size_slope": -0.1}, ConfigError, "merge_size_slope"),
        ({"overlap_s": -0.3}, ConfigError, "overlap_s"),
    ],
)
def test_options_refuse_bad_values(changes: dict, error: type, needle: str) -> None:
    with pytest.raises(error, match=needle):
        DiarizationOptions(**changes)


def test_unknown_embedder_name() -> None:
    with pytest.raises(ConfigError, match="wav2vec"):
        load_embedder("wav2vec")


@pytest.mark.parametrize("name", ["speechbrain", "pyannote"])
def test_optional_embedders_load_or_explain(name: str) -> None:
    """Without the package (or the weights, offline) the error says what to do."""
    from aural.errors import MissingDependencyError, ModelNotFoundError

    try:
        embedder = load_embedder(name)
    except (MissingDependencyError, ModelNotFoundError) as err:
        assert "pip install" in str(err) or "hub" in str(err) or "token" in str(err)
        pytest.skip(f"{name} not available offline: {err}")
    assert embedder.name == name
