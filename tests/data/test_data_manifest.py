"""Utterance and Manifest: validation, subsetting, serialisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from aural.data import Manifest, Utterance, load_dataset, utterance_duration
from aural.errors import ConfigError, DatasetError


def test_subset_filters_in_order(dev_clean: Path) -> None:
    m = load_dataset(dev_clean)
    assert [u.id for u in m.subset(limit=3)] == [u.id for u in m[:3]]
    two = m.subset(speakers=["1272", "3752"])
    assert set(two.speakers) == {"1272", "3752"}
    assert len(two) == sum(u.speaker in ("1272", "3752") for u in m)
    short = m.subset(max_duration=6.0)
    assert 0 < len(short) < len(m) and all(u.duration <= 6.0 for u in short)
    assert len(m.subset(speakers=["1272"], max_duration=6.0, limit=1)) == 1
    assert len(m.subset(limit=0)) == 0 and m.subset().utterances == m.utterances
    assert isinstance(m[2:5], Manifest) and len(m[2:5]) == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": -1}, "limit must be >= 0"),
        ({"max_duration": 0}, "max_duration must be > 0"),
    ],
)
def test_subset_rejects_bad_filters(
    dev_clean: Path, kwargs: dict, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_dataset(dev_clean).subset(**kwargs)


def test_max_duration_reads_unknown_durations(dev_clean: Path) -> None:
    m = load_dataset(dev_clean)
    unknown = Manifest(
        "x", tuple(Utterance(u.id, u.audio, u.text, u.speaker) for u in m)
    )
    assert unknown.total_duration == 0.0
    assert [u.id for u in unknown.subset(max_duration=6.0)] == [
        u.id for u in m.subset(max_duration=6.0)
    ]
    filled = unknown.with_durations()
    assert [u.duration for u in filled] == pytest.approx(
        [u.duration for u in m], abs=1e-3
    )


def test_utterance_validation() -> None:
    with pytest.raises(ConfigError, match="'u1': end"):
        Utterance("u1", Path("a.wav"), "hi", start=2.0, end=1.0)
    with pytest.raises(ConfigError, match="duration"):
        Utterance("u1", Path("a.wav"), "hi", duration=-1.0)
    u = Utterance("u1", "a.wav", "hi", start=1.0, end=2.5)  # type: ignore[arg-type]
    assert isinstance(u.audio, Path) and u.is_segment and utterance_duration(u) == 1.5


def test_duplicate_ids_are_rejected() -> None:
    u = Utterance("same", Path("a.wav"), "hi")
    with pytest.raises(DatasetError, match="'same' twice"):
        Manifest("m", (u, u))


def test_missing_audio_duration_names_the_file(tmp_path: Path) -> None:
    u = Utterance("gone", tmp_path / "gone.wav", "hi")
    with pytest.raises(DatasetError, match="gone.wav"):
        utterance_duration(u)


def test_utterance_dict_round_trip(tmp_path: Path) -> None:
    u = Utterance("s1", tmp_path / "talk.sph", "hello", "spk", 1.5, 3.0, 4.5, {"k": 1})
    assert Utterance.from_dict(u.to_dict()) == u
    rel = Utterance.from_dict({"id": "r", "audio": "x.wav", "text": "t"}, base=tmp_path)
    assert rel.audio == tmp_path / "x.wav" and rel.speaker is None
