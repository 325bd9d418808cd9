"""Multilingual corpus readers: Common Voice, FLEURS and Multilingual LibriSpeech
layouts written at test time from the real shared multilingual clips, and the shared
multilingual manifest itself."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import soundfile

from aural import audio
from aural.data import (
    detect_layout,
    load_dataset,
    load_utterance_audio,
    read_common_voice,
    read_fleurs,
    read_mls,
    utterance_language,
)
from aural.errors import DatasetError


@pytest.fixture(scope="module")
def rows(shared_data: Path) -> list[dict[str, Any]]:
    path = shared_data / "multilingual" / "manifest.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _pick(
    rows: list[dict[str, Any]], corpus: str, language: str
) -> list[dict[str, Any]]:
    return [r for r in rows if corpus in r["corpus"] and r["language"] == language]


# --- the shared manifest ----------------------------------------------------------


def test_shared_multilingual_manifest_reads_with_languages(shared_data: Path) -> None:
    folder = shared_data / "multilingual"
    assert detect_layout(folder) == "manifest"
    m = load_dataset(folder)
    assert len(m) == 86 and m.name == "multilingual"
    counts = Counter(utterance_language(u) for u in m)
    assert len(counts) == 19 and counts["ar"] == 14 and counts["yue"] == 1
    assert all(u.audio.is_file() and u.text for u in m)
    zh = next(u for u in m if utterance_language(u) == "zh")
    assert zh.extra["license"] and zh.extra["corpus"]
    # every format in it decodes (WAV, Ogg/Opus, raw Opus, MP3) at 16 kHz
    for suffix in (".wav", ".ogg", ".opus", ".mp3"):
        u = next(u for u in m if u.audio.suffix == suffix)
        wave = load_utterance_audio(u, 16000)
        assert wave.sample_rate == 16000 and wave.duration > 3.0


# --- Common Voice ----------------------------------------------------------------


def test_common_voice_language_from_locale_column(
    tmp_path: Path, rows: list[dict[str, Any]], shared_data: Path
) -> None:
    """A cv-corpus/ja folder with the real Common Voice clip, Common Voice's columns
    (locale among them) and a clip_durations.tsv."""
    root = tmp_path / "cv-corpus-17.0" / "ja"
    (root / "clips").mkdir(parents=True)
    row = _pick(rows, "Common Voice", "ja")[0]
    name = Path(row["audio"]).name
    shutil.copyfile(shared_data / "multilingual" / row["audio"], root / "clips" / name)
    (root / "test.tsv").write_text(
        "client_id\tpath\tsentence_id\tsentence\tsentence_domain\tup_votes\t"
        "down_votes\tage\tgender\taccents\tvariant\tlocale\tsegment\n"
        f"abc123\t{name}\tsid\t{row['text']}\t\t2\t0\t\t\t\t\tja\t\n"
    )
    (root / "clip_durations.tsv").write_text(f"clip\tduration[ms]\n{name}\t4500\n")
    assert detect_layout(root) == "common_voice"
    m = load_dataset(root)
    assert len(m) == 1
    u = m[0]
    assert (u.id, u.text, u.speaker) == (Path(name).stem, row["text"], "abc123")
    assert utterance_language(u) == "ja" and u.extra["language"] == "ja"
    assert "locale" in u.extra and u.duration == pytest.approx(4.5)
    assert load_utterance_audio(u, 16000).duration == pytest.approx(
        row["duration"], abs=0.1
    )


def test_common_voice_language_from_folder_or_argument(
    tmp_path: Path, rows: list[dict[str, Any]], shared_data: Path
) -> None:
    """Older releases have no locale column: the folder (zh-CN) names the language."""
    root = tmp_path / "zh-CN"
    (root / "clips").mkdir(parents=True)
    row = _pick(rows, "AISHELL", "zh")[0]
    shutil.copyfile(
        shared_data / "multilingual" / row["audio"], root / "clips" / "a.wav"
    )
    (root / "dev.tsv").write_text(
        f"client_id\tpath\tsentence\nc1\ta.wav\t{row['text']}\n"
    )
    u = read_common_voice(root, split="dev")[0]
    assert u.extra["language"] == "zh" and u.extra["locale"] == "zh-CN"
    assert utterance_language(u) == "zh"
    u = read_common_voice(root, split="dev", language="yue")[0]
    assert utterance_language(u) == "yue"
    renamed = tmp_path / "corpus"
    root.rename(renamed)
    assert "language" not in read_common_voice(renamed, split="dev")[0].extra


# --- FLEURS ---------------------------------------------------------------------------


def _fleurs_folder(
    tmp_path: Path,
    rows: list[dict[str, Any]],
    shared_data: Path,
    folder: str,
    language: str,
) -> tuple[Path, list[dict[str, Any]]]:
    """google/fleurs data/<folder>: test.tsv (no header, 7 columns) + audio/test/."""
    root = tmp_path / "fleurs" / "data" / folder
    (root / "audio" / "test").mkdir(parents=True)
    picked = _pick(rows, "FLEURS", language)
    lines = []
    for i, row in enumerate(picked):
        src = shared_data / "multilingual" / row["audio"]
        samples, rate = soundfile.read(src, dtype="float32")
        name = f"{1000 + i}.wav"  # FLEURS ships 16 kHz WAV
        soundfile.write(root / "audio" / "test" / name, samples, rate)
        text = row["text"]
        chars = "|".join(text.replace(" ", "|"))
        raw = text[:1].upper() + text[1:] + "."
        gender = "FEMALE" if i % 2 else "MALE"
        lines.append(
            f"{1800 + i}\t{name}\t{raw}\t{text}\t{chars}\t{len(samples)}\t{gender}"
        )
    (root / "test.tsv").write_text("\n".join(lines) + "\n")
    return root, picked


def test_fleurs_layout_french(
    tmp_path: Path, rows: list[dict[str, Any]], shared_data: Path
) -> None:
    root, picked = _fleurs_folder(tmp_path, rows, shared_data, "fr_fr", "fr")
    assert detect_layout(root) == "fleurs"
    m = load_dataset(root)
    assert m.name == "fleurs-fr_fr-test" and len(m) == len(picked) == 6
    for u, row in zip(m, picked, strict=True):
        assert u.text == row["text"] and u.extra["raw_text"].endswith(".")
        assert utterance_language(u) == "fr" and u.extra["locale"] == "fr_fr"
        assert u.duration == pytest.approx(row["duration"], abs=0.05)
        assert u.extra["gender"] in ("MALE", "FEMALE") and u.speaker is None
    assert len({u.extra["sentence_id"] for u in m}) == 6


def test_fleurs_layout_mandarin_folder_name(
    tmp_path: Path, rows: list[dict[str, Any]], shared_data: Path
) -> None:
    root, picked = _fleurs_folder(tmp_path, rows, shared_data, "cmn_hans_cn", "zh")
    m = read_fleurs(root)
    assert len(m) == len(picked) >= 3
    assert {utterance_language(u) for u in m} == {"zh"}
    assert m[0].extra["locale"] == "cmn_hans_cn"


def test_fleurs_errors_name_the_problem(
    tmp_path: Path, rows: list[dict[str, Any]], shared_data: Path
) -> None:
    root, _ = _fleurs_folder(tmp_path, rows, shared_data, "de_de", "de")
    with pytest.raises(DatasetError, match=r"no dev\.tsv; splits found: test"):
        read_fleurs(root, split="dev")
    (root / "test.tsv").write_text("1\tx.wav\tonly three\n")
    with pytest.raises(DatasetError, match=r"line 1 has 3 tab-separated field\(s\)"):
        read_fleurs(root)
    (root / "test.tsv").write_text("1\tgone.wav\tA\ta\ta\t16000\tMALE\n")
    with pytest.raises(DatasetError, match="missing"):
        read_fleurs(root)


# --- Multilingual LibriSpeech ---------------------------------------------------------


def _mls_folder(tmp_path: Path, rows: list[dict[str, Any]], shared_data: Path) -> Path:
    """mls_spanish/test/transcripts.txt + audio/<spk>/<book>/<id>.opus (the real clip)
    and the same clip again as FLAC in dev/."""
    row = _pick(rows, "Multilingual LibriSpeech", "es")[0]
    utt_id = Path(row["audio"]).stem.removeprefix("mls_es_")
    spk, book, _ = utt_id.split("_")
    root = tmp_path / "mls_spanish"
    src = shared_data / "multilingual" / row["audio"]
    for split, suffix in (("test", ".opus"), ("dev", ".flac")):
        if split == "dev":  # ids are unique across the corpus
            utt_id = f"{spk}_{book}_000001"
        folder = root / split / "audio" / spk / book
        folder.mkdir(parents=True)
        if suffix == ".opus":
            shutil.copyfile(src, folder / f"{utt_id}{suffix}")
        else:
            wave = audio.load(src)  # MLS's FLAC release: the same clip as FLAC
            soundfile.write(folder / f"{utt_id}{suffix}", wave.samples, 16000)
        (root / split / "transcripts.txt").write_text(f"{utt_id}\t{row['text']}\n")
    return root


def test_mls_layout_spanish(
    tmp_path: Path, rows: list[dict[str, Any]], shared_data: Path
) -> None:
    root = _mls_folder(tmp_path, rows, shared_data)
    row = _pick(rows, "Multilingual LibriSpeech", "es")[0]
    assert detect_layout(root) == "mls"
    assert len(load_dataset(root)) == 2  # every split, as for a LibriSpeech root
    m = load_dataset(root, split="test")
    assert len(m) == 1 and m.name == "mls_spanish-test"
    u = m[0]
    assert u.text == row["text"] and u.speaker == "13697"
    assert u.audio.suffix == ".opus" and u.extra["book"] == "11991"
    assert utterance_language(u) == "es" and u.extra["split"] == "test"
    assert load_utterance_audio(u, 16000).duration == pytest.approx(
        row["duration"], abs=0.1
    )
    both = read_mls(root, split=None)
    assert Counter(x.extra["split"] for x in both) == {"dev": 1, "test": 1}
    # a split folder on its own, and the language given explicitly
    one = read_mls(root / "dev", language="pt")
    assert len(one) == 1 and utterance_language(one[0]) == "pt"


def test_mls_errors_name_the_problem(
    tmp_path: Path, rows: list[dict[str, Any]], shared_data: Path
) -> None:
    root = _mls_folder(tmp_path, rows, shared_data)
    with pytest.raises(DatasetError, match="for split 'train'"):
        read_mls(root, split="train")
    (root / "test" / "transcripts.txt").write_text("not-an-id text\n")
    with pytest.raises(DatasetError, match="line 1: expected '<spk>_<book>_<n>' TAB"):
        read_mls(root)
    (root / "test" / "transcripts.txt").write_text("1_2_3\tuno\n")
    with pytest.raises(DatasetError, match="missing"):
        read_mls(root)
