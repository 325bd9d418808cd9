"""Corpus readers on the real shared folders and on generated corpus layouts."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import soundfile

from aural.data import (
    DATASET_KINDS,
    Manifest,
    detect_layout,
    load_dataset,
    load_utterance_audio,
    read_common_voice,
    read_hf_dataset,
    read_librispeech,
    read_manifest_file,
    utterance_audio,
    utterance_duration,
)
from aural.errors import ConfigError, DatasetError

if TYPE_CHECKING:
    from conftest import Clip

# --- LibriSpeech ----------------------------------------------------------------------


def test_librispeech_dev_clean(dev_clean: Path) -> None:
    m = load_dataset(dev_clean)
    assert len(m) == 12 and len(m.speakers) == 4 and m.name == "dev-clean"
    lines = {}
    for trans in dev_clean.glob("*/*/*.trans.txt"):
        for line in trans.read_text().splitlines():
            utt_id, text = line.split(" ", 1)
            lines[utt_id] = text
    assert {u.id: u.text for u in m} == lines
    for u in m:
        assert u.audio == dev_clean / u.speaker / u.extra["chapter"] / f"{u.id}.flac"
        info = soundfile.info(str(u.audio))
        assert u.duration == pytest.approx(info.frames / info.samplerate)
        assert u.speaker == u.id.split("-")[0] and u.extra["split"] == "dev-clean"


def test_librispeech_root_reads_every_split(shared_data: Path) -> None:
    root = shared_data / "LibriSpeech"
    m = load_dataset(root)
    assert len(m) == 12 + 251
    assert Counter(u.extra["split"] for u in m) == {
        "dev-clean": 12,
        "train-clean-100": 251,
    }
    train = read_librispeech(root, split="train-clean-100")
    assert len(train.speakers) == 251 and train.name == "train-clean-100"
    with pytest.raises(DatasetError, match="test-other"):
        read_librispeech(root, split="test-other")


def test_librispeech_audio_loads_at_16k(dev_clean: Path) -> None:
    u = load_dataset(dev_clean)[0]
    wav = load_utterance_audio(u)
    assert wav.sample_rate == 16000 and wav.duration == pytest.approx(
        u.duration, abs=1e-3
    )


# --- LJSpeech, FSDD, misc manifest ----------------------------------------------------


def test_ljspeech_uses_the_normalised_column(shared_data: Path) -> None:
    folder = shared_data / "LJSpeech-1.1"
    m = load_dataset(folder)
    assert len(m) == 200 and m.speakers == ("LJ",)
    rows = {
        r[0]: r
        for r in (
            line.split("|")
            for line in (folder / "metadata.csv").read_text().splitlines()
        )
    }
    differing = [u for u in m if rows[u.id][1] != rows[u.id][2]]
    assert differing  # some rows have digits/abbreviations in the raw column
    for u in m:
        assert u.text == rows[u.id][2] and u.extra["raw_text"] == rows[u.id][1]
    assert 1200 < m.total_duration < 1400  # 21 minutes


def test_fsdd_digits_as_words(shared_data: Path) -> None:
    m = load_dataset(shared_data / "fsdd")
    assert len(m) == 3000 and len(m.speakers) == 6
    assert Counter(u.text for u in m) == {
        w: 300
        for w in (
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
        )
    }
    u = next(u for u in m if u.id == "7_jackson_12")
    assert (u.text, u.speaker, u.extra["digit"]) == ("seven", "jackson", 7)
    assert all(u.duration and u.duration < 3 for u in m)


def test_misc_manifest_jsonl(misc_dir: Path) -> None:
    m = load_dataset(misc_dir / "manifest.jsonl")
    assert len(m) == 35 and load_dataset(misc_dir) == m
    lines = [
        json.loads(line)
        for line in (misc_dir / "manifest.jsonl").read_text().splitlines()
    ]
    for u, row in zip(m, lines):
        assert u.audio == misc_dir / row["audio"] and u.audio.exists()
        assert u.text == row["text"] and u.duration == row["duration"]
        assert u.extra["corpus"] == row["corpus"]
    raw = next(u for u in m if u.audio.suffix == ".raw")
    wav = load_utterance_audio(raw)  # headerless PCM: rate from the manifest's column
    assert wav.duration == pytest.approx(raw.duration, abs=0.01)


# --- generated corpus layouts ---------------------------------------------------------


def test_common_voice(common_voice_dir: Path, dev_clips: list[Clip]) -> None:
    m = load_dataset(common_voice_dir)  # the test split by default
    assert detect_layout(common_voice_dir) == "common_voice"
    assert len(m) == 2 and m.speakers == ("client0", "client1")
    assert m[0].text.startswith('"') and m[0].text.endswith("she said.")  # quotes kept
    assert m[0].duration is None  # MP3: read lazily
    assert utterance_duration(m[0]) == pytest.approx(
        len(dev_clips[0].samples) / 16000, abs=0.1
    )
    wav = load_utterance_audio(m[1])
    assert wav.duration == pytest.approx(len(dev_clips[1].samples) / 16000, abs=0.1)
    train = load_dataset(common_voice_dir, split="train")
    assert [u.id for u in train] == ["common_voice_en_1002"]
    assert train[0].extra["gender"] == "female"
    with pytest.raises(DatasetError, match="no dev.tsv; splits found: test, train"):
        read_common_voice(common_voice_dir, split="dev")


def test_common_voice_clip_durations_file(common_voice_dir: Path) -> None:
    (common_voice_dir / "clip_durations.tsv").write_text(
        "clip\tduration[ms]\ncommon_voice_en_1000.mp3\t1234\n"
    )
    m = read_common_voice(common_voice_dir)
    assert m[0].duration == pytest.approx(1.234) and m[1].duration is None


def test_vctk(vctk_dir: Path, dev_clips: list[Clip]) -> None:
    m = load_dataset(vctk_dir)
    assert detect_layout(vctk_dir) == "vctk"
    assert [u.id for u in m] == [
        "p225_001",
        "p225_003",
        "p226_002",
    ]  # p225_999 has no audio
    assert m.speakers == ("p225", "p226")
    assert m[0].text == dev_clips[0].text.capitalize() + "."
    assert m[0].audio.name == "p225_001_mic1.flac"
    assert m[0].duration == pytest.approx(len(dev_clips[0].samples) / 16000)


def test_tedlium_stm_segments(tedlium_dir: Path, dev_clips: list[Clip]) -> None:
    m = load_dataset(tedlium_dir)
    assert detect_layout(tedlium_dir) == "tedlium"
    assert (
        load_dataset(tedlium_dir.parent, split="test") == m
    )  # root with split folders
    assert len(m) == 3  # the ignore_time_segment_in_scoring line is dropped
    assert [u.text for u in m] == [c.text.lower() for c in dev_clips]
    assert [u.speaker for u in m] == ["Speaker_0", "Speaker_1", "Speaker_0"]
    for u, clip in zip(m, dev_clips):
        assert u.is_segment and u.audio.name == "TalkOne.sph"
        assert u.duration == pytest.approx(len(clip.samples) / 16000, abs=1e-3)
        wav = load_utterance_audio(u)
        n = min(len(wav.samples), len(clip.samples))
        assert abs(len(wav.samples) - len(clip.samples)) <= 16
        # the cut matches the original recording (16-bit quantisation aside)
        assert np.corrcoef(wav.samples[:n], clip.samples[:n])[0, 1] > 0.999


def test_hf_saved_dataset_with_audio_files(
    hf_saved_dir: Path, dev_clips: list[Clip]
) -> None:
    m = load_dataset(hf_saved_dir)
    assert detect_layout(hf_saved_dir) == "hf"
    assert [u.id for u in m] == [c.utt_id for c in dev_clips]
    assert [u.text for u in m] == [c.text for c in dev_clips]
    assert m.speakers == tuple(dict.fromkeys(c.speaker for c in dev_clips))
    wav = load_utterance_audio(m[0])
    assert len(wav.samples) == len(dev_clips[0].samples)
    assert np.allclose(wav.samples, dev_clips[0].samples, atol=1e-4)
    assert utterance_duration(m[0]) == pytest.approx(len(dev_clips[0].samples) / 16000)
    assert list(hf_saved_dir.iterdir())  # nothing was written next to it: same files
    assert sorted(p.name for p in hf_saved_dir.iterdir()) == [
        "data-00000-of-00001.arrow",
        "dataset_info.json",
        "state.json",
    ]


def test_hf_dataset_dict_with_arrays(
    hf_arrays_dir: Path, dev_clips: list[Clip]
) -> None:
    test = load_dataset(hf_arrays_dir)  # "test" is the default split
    train = read_hf_dataset(hf_arrays_dir, split="train")
    assert (len(test), len(train)) == (2, 1) and test[1].text == dev_clips[1].text
    u = test[0]
    assert u.extra["sample_rate"] == 16000 and not u.audio.exists()
    assert u.duration == pytest.approx(len(dev_clips[0].samples) / 16000)
    source = utterance_audio(u)
    assert not isinstance(source, (Path, bytes))
    assert np.array_equal(load_utterance_audio(u).samples, dev_clips[0].samples)
    with pytest.raises(DatasetError, match="in-memory audio"):
        test.to_jsonl(hf_arrays_dir.parent / "out.jsonl")
    with pytest.raises(DatasetError, match="no split 'validation'"):
        read_hf_dataset(hf_arrays_dir, split="validation")
    with pytest.raises(DatasetError, match="no text column 'words'"):
        read_hf_dataset(hf_arrays_dir, split="test", text_column="words")


# --- generic manifests ----------------------------------------------------------------


def test_csv_manifest_with_other_column_names(
    tmp_path: Path, dev_clips: list[Clip]
) -> None:
    audio_dir = tmp_path / "audio"
    audio_dir.mkdir()
    rows = ["path,sentence,speaker_id,split"]
    for clip in dev_clips:
        soundfile.write(
            audio_dir / f"{clip.utt_id}.wav", clip.samples, clip.sample_rate
        )
        rows.append(f"audio/{clip.utt_id}.wav,{clip.text},{clip.speaker},dev")
    (tmp_path / "list.csv").write_text("\n".join(rows) + "\n")
    m = load_dataset(tmp_path / "list.csv")
    assert m.name == "list" and [u.id for u in m] == [c.utt_id for c in dev_clips]
    assert m[0].audio == audio_dir / f"{dev_clips[0].utt_id}.wav"  # relative to the CSV
    assert m[0].speaker == dev_clips[0].speaker and m[0].extra == {"split": "dev"}
    assert m[0].duration == pytest.approx(len(dev_clips[0].samples) / 16000)


def test_manifest_empty_transcript_is_kept(
    tmp_path: Path, dev_clips: list[Clip]
) -> None:
    # silence or noise with nothing said: an utterance whose reference is empty
    soundfile.write(tmp_path / "quiet.wav", np.zeros(16000, np.float32), 16000)
    soundfile.write(
        tmp_path / "talk.wav", dev_clips[0].samples, dev_clips[0].sample_rate
    )
    (tmp_path / "m.jsonl").write_text(
        '{"audio": "quiet.wav", "text": ""}\n'
        f'{{"audio": "talk.wav", "text": "{dev_clips[0].text}"}}\n'
    )
    m = read_manifest_file(tmp_path / "m.jsonl")
    assert [u.text for u in m] == ["", dev_clips[0].text]


def test_manifest_file_errors_name_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"audio": "x.wav"}\n')
    with pytest.raises(DatasetError, match=r"line 1 needs .*text column"):
        read_manifest_file(bad)
    bad.write_text('{"audio": "x.wav", "text": "hi"}\n')
    with pytest.raises(DatasetError, match=r"missing, e.g. .*x\.wav"):
        read_manifest_file(bad)
    bad.write_text("not json\n")
    with pytest.raises(DatasetError, match="line 1 is not JSON"):
        read_manifest_file(bad)


# --- detection and errors -------------------------------------------------------------


def test_missing_folder_names_path_and_layouts(tmp_path: Path) -> None:
    with pytest.raises(
        DatasetError, match=r"nowhere.*does not exist.*LibriSpeech.*VCTK"
    ):
        load_dataset(tmp_path / "nowhere")


def test_unknown_layout_lists_expected_layouts(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(
        DatasetError, match=r"matches no known dataset layout.*Common Voice"
    ):
        load_dataset(tmp_path)


def test_unknown_kind_is_a_config_error(dev_clean: Path) -> None:
    with pytest.raises(ConfigError, match=r"'timit'.*librispeech"):
        load_dataset(dev_clean, kind="timit")
    assert "hf" in DATASET_KINDS


def test_every_dataset_kind_has_a_reader() -> None:
    from aural.data import loading

    assert set(loading._READERS) | {"hf"} == set(DATASET_KINDS)
    assert "auto" not in DATASET_KINDS


def test_explicit_kind_mismatch_raises(dev_clean: Path) -> None:
    with pytest.raises(DatasetError, match="no metadata.csv"):
        load_dataset(dev_clean, kind="ljspeech")


def test_manifest_round_trip(tmp_path: Path, dev_clean: Path) -> None:
    m = load_dataset(dev_clean)
    m.to_jsonl(tmp_path / "m.jsonl")
    back = Manifest.from_jsonl(tmp_path / "m.jsonl", name="dev-clean")
    assert back == m
    assert isinstance(back, Manifest)


def test_manifest_round_trip_through_a_symlinked_folder(
    tmp_path: Path, shared_data: Path
) -> None:
    """A dataset reached through a symlink keeps the link in its manifest (issue 17)."""
    link = tmp_path / "data"
    link.symlink_to(shared_data, target_is_directory=True)
    m = load_dataset(link / "LibriSpeech" / "dev-clean")
    m.to_jsonl(tmp_path / "m.jsonl")
    back = Manifest.from_jsonl(tmp_path / "m.jsonl", name="dev-clean")
    assert back == m
    rows = [
        json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()
    ]
    assert all(Path(r["audio"]).is_relative_to(link) for r in rows)


def test_vctk_release_080_layout(tmp_path: Path, dev_clips: list[Clip]) -> None:
    """VCTK 0.80: wav48/<spk>/<spk>_<n>.wav without a microphone suffix."""
    root = tmp_path / "VCTK-Corpus"
    (root / "txt" / "p300").mkdir(parents=True)
    (root / "wav48" / "p300").mkdir(parents=True)
    clip = dev_clips[0]
    (root / "txt" / "p300" / "p300_001.txt").write_text(clip.text + "\n")
    soundfile.write(
        root / "wav48" / "p300" / "p300_001.wav", clip.samples, clip.sample_rate
    )
    m = load_dataset(root)
    assert [(u.id, u.speaker, u.text) for u in m] == [("p300_001", "p300", clip.text)]
    assert m[0].audio.suffix == ".wav" and "mic" not in m[0].extra


def test_mistyped_local_path_is_not_sent_to_the_hub(
    shared_data: Path, monkeypatch
) -> None:
    monkeypatch.chdir(shared_data)
    with pytest.raises(DatasetError, match="LibriSpeech/dev-dirty.*does not exist"):
        load_dataset("LibriSpeech/dev-dirty")


def test_librispeech_speaker_or_chapter_folder(dev_clean: Path) -> None:
    speaker = load_dataset(dev_clean / "1272")
    assert speaker.speakers == ("1272",) and speaker.name == "1272"
    assert [u.id for u in speaker] == [
        u.id for u in load_dataset(dev_clean) if u.speaker == "1272"
    ]
    chapter = next(p for p in (dev_clean / "1272").iterdir() if p.is_dir())
    assert all(u.extra["chapter"] == chapter.name for u in load_dataset(chapter))
    assert {u.extra["split"] for u in load_dataset(chapter)} == {"dev-clean"}
