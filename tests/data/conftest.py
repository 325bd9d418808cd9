"""Corpus layouts built at test time in tmp folders from shared recordings.

Common Voice, VCTK, TED-LIUM and Hugging Face datasets are not in ../shared/data, so
each fixture lays out a small copy in that corpus's own format from LibriSpeech
dev-clean clips.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile


@dataclass(frozen=True)
class Clip:
    path: Path
    utt_id: str
    speaker: str
    text: str
    samples: np.ndarray  # float32 mono
    sample_rate: int


@pytest.fixture(scope="session")
def dev_clips(dev_clean: Path) -> list[Clip]:
    """The first three dev-clean utterances with their samples and transcripts."""
    clips = []
    for trans in sorted(dev_clean.glob("*/*/*.trans.txt"))[:3]:
        utt_id, text = trans.read_text().splitlines()[0].split(" ", 1)
        path = trans.parent / f"{utt_id}.flac"
        samples, rate = soundfile.read(path, dtype="float32")
        clips.append(Clip(path, utt_id, utt_id.split("-")[0], text, samples, rate))
    return clips


@pytest.fixture
def common_voice_dir(tmp_path: Path, dev_clips: list[Clip]) -> Path:
    """clips/*.mp3 + test.tsv / train.tsv with Common Voice's columns."""
    root = tmp_path / "cv-corpus" / "en"
    (root / "clips").mkdir(parents=True)
    header = (
        "client_id\tpath\tsentence\tup_votes\tdown_votes\t"
        "age\tgender\taccents\tlocale\n"
    )
    rows = []
    for i, clip in enumerate(dev_clips):
        name = f"common_voice_en_{1000 + i}.mp3"
        soundfile.write(
            root / "clips" / name, clip.samples, clip.sample_rate, format="MP3"
        )
        sentence = (
            f'"{clip.text.capitalize()}," she said.' if i == 0 else clip.text.title()
        )
        rows.append(
            f"client{i % 2}\t{name}\t{sentence}\t2\t0\tthirties\tfemale\t\ten\n"
        )
    (root / "test.tsv").write_text(header + "".join(rows[:2]), encoding="utf-8")
    (root / "train.tsv").write_text(header + rows[2], encoding="utf-8")
    return root


@pytest.fixture
def vctk_dir(tmp_path: Path, dev_clips: list[Clip]) -> Path:
    """txt/<spk>/<spk>_<n>.txt + wav48_silence_trimmed/<spk>/<spk>_<n>_mic1.flac
    (0.92)."""
    root = tmp_path / "VCTK-Corpus-0.92"
    for i, clip in enumerate(dev_clips):
        speaker = f"p22{5 + i % 2}"
        stem = f"{speaker}_{i + 1:03d}"
        (root / "txt" / speaker).mkdir(parents=True, exist_ok=True)
        (root / "wav48_silence_trimmed" / speaker).mkdir(parents=True, exist_ok=True)
        (root / "txt" / speaker / f"{stem}.txt").write_text(
            clip.text.capitalize() + ".\n"
        )
        shutil.copy(
            clip.path, root / "wav48_silence_trimmed" / speaker / f"{stem}_mic1.flac"
        )
    # a transcript whose recording is missing, as happens in the real corpus
    (root / "txt" / "p225" / "p225_999.txt").write_text("No audio for this one.\n")
    return root


@pytest.fixture
def tedlium_dir(tmp_path: Path, dev_clips: list[Clip]) -> Path:
    """stm/talk.stm + sph/talk.sph (NIST sphere) holding the clips one after another."""
    root = tmp_path / "TEDLIUM_release-3" / "test"
    (root / "stm").mkdir(parents=True)
    (root / "sph").mkdir()
    rate = dev_clips[0].sample_rate
    gap = np.zeros(rate // 2, dtype=np.float32)
    pieces, lines, t = [], [], 0.0
    for i, clip in enumerate(dev_clips):
        pieces += [clip.samples, gap]
        end = t + len(clip.samples) / rate
        lines.append(
            f"TalkOne 1 Speaker_{i % 2} {t:.3f} {end:.3f} <o,f0,male> "
            f"{clip.text.lower()}"
        )
        t = end + len(gap) / rate
    lines.insert(
        1,
        f"TalkOne 1 TalkOne {t:.3f} {t + 1:.3f} <o,f0,male> "
        "ignore_time_segment_in_scoring",
    )
    soundfile.write(
        root / "sph" / "TalkOne.sph",
        np.concatenate(pieces),
        rate,
        format="NIST",
        subtype="PCM_16",
    )
    (root / "stm" / "TalkOne.stm").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture
def hf_saved_dir(tmp_path: Path, dev_clips: list[Clip]) -> Path:
    """A Dataset with an Audio column of file paths, saved with save_to_disk."""
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict(
        {
            "audio": [str(c.path) for c in dev_clips],
            "text": [c.text for c in dev_clips],
            "speaker_id": [c.speaker for c in dev_clips],
            "id": [c.utt_id for c in dev_clips],
        }
    ).cast_column("audio", datasets.Audio())
    out = tmp_path / "hf_paths"
    ds.save_to_disk(str(out))
    return out


@pytest.fixture
def hf_arrays_dir(tmp_path: Path, dev_clips: list[Clip]) -> Path:
    """A DatasetDict whose audio column holds {array, sampling_rate} records."""
    datasets = pytest.importorskip("datasets")

    def split(clips: list[Clip]) -> object:
        return datasets.Dataset.from_dict(
            {
                "audio": [
                    {"array": c.samples, "sampling_rate": c.sample_rate} for c in clips
                ],
                "sentence": [c.text for c in clips],
            }
        )

    out = tmp_path / "hf_arrays"
    datasets.DatasetDict(
        {"test": split(dev_clips[:2]), "train": split(dev_clips[2:])}
    ).save_to_disk(str(out))
    return out
