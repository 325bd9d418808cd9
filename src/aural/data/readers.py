"""Readers for speech corpora in their own layouts, each returning a :class:`Manifest`.

=================  ===========================================================================
kind               layout
=================  ===========================================================================
``librispeech``    ``<spk>/<chapter>/<spk>-<chapter>-<n>.flac`` + ``<spk>-<chapter>.trans.txt``,
                   a split folder or a root holding several splits
``ljspeech``       ``wavs/<id>.wav`` + ``metadata.csv`` (``id|raw|normalized``)
``common_voice``   ``clips/`` + ``<split>.tsv`` (``client_id``, ``path``, ``sentence``)
``vctk``           ``txt/<spk>/<spk>_<n>.txt`` + ``wav48*/<spk>/<spk>_<n>[_mic1].wav|flac``
``tedlium``        ``stm/*.stm`` + ``sph/*.sph``: segments of long recordings
``fsdd``           ``<digit>_<speaker>_<index>.wav`` (Free Spoken Digit Dataset)
``manifest``       a JSONL / JSON-lines / CSV / TSV file with audio and text columns
``hf``             a Hugging Face dataset saved with ``save_to_disk``, or a hub name
=================  ===========================================================================

:func:`load_dataset` detects the layout when ``kind="auto"``. Durations come from the
audio headers where that is cheap (WAV, FLAC, NIST) and are otherwise left ``None`` for
:func:`aural.data.utterance_duration` to read when needed.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import soundfile

from aural.data.manifest import Manifest, Utterance
from aural.errors import DatasetError

__all__ = [
    "DATASET_KINDS",
    "DatasetKind",
    "read_common_voice",
    "read_fsdd",
    "read_librispeech",
    "read_ljspeech",
    "read_manifest_file",
    "read_tedlium",
    "read_vctk",
]

logger = logging.getLogger(__name__)

DatasetKind = Literal[
    "auto", "librispeech", "ljspeech", "common_voice", "vctk", "tedlium", "fsdd",
    "manifest", "hf",
]
DATASET_KINDS: tuple[str, ...] = (
    "librispeech", "ljspeech", "common_voice", "vctk", "tedlium", "fsdd", "manifest", "hf",
)
_LAYOUTS_HELP = (
    "LibriSpeech (<spk>/<chapter>/*.flac + *.trans.txt), LJSpeech (wavs/ + metadata.csv), "
    "Common Voice (clips/ + <split>.tsv), VCTK (txt/ + wav48*/), TED-LIUM (stm/ + sph/), "
    "Free Spoken Digit (<digit>_<speaker>_<n>.wav), a .jsonl/.csv/.tsv manifest, or a "
    "Hugging Face dataset saved with save_to_disk"
)
_DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_FSDD_NAME = re.compile(r"^(\d)_([A-Za-z0-9]+)_(\d+)\.wav$")
_HEADER_SUFFIXES = frozenset({".wav", ".flac", ".sph", ".nist", ".aiff", ".aif", ".ogg"})


def _header_duration(path: Path) -> float | None:
    """Duration from the file header for formats where that is exact and cheap."""
    if path.suffix.lower() not in _HEADER_SUFFIXES:
        return None
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, OSError, soundfile.LibsndfileError):
        return None
    return info.frames / float(info.samplerate) if info.samplerate else None


def _require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DatasetError(f"{what} folder {str(path)!r} does not exist or is not a folder")
    return path


def _missing_audio(name: str, missing: list[Path]) -> DatasetError:
    return DatasetError(
        f"{len(missing)} audio file(s) listed by {name!r} are missing, e.g. "
        f"{str(missing[0])!r}; restore them or remove their lines from the transcript"
    )


# --- LibriSpeech -----------------------------------------------------------------------


def _librispeech_transcripts(root: Path) -> list[Path]:
    """``*.trans.txt`` files under a chapter, speaker, split or corpus root folder."""
    for pattern in ("*.trans.txt", "*/*.trans.txt", "*/*/*.trans.txt", "*/*/*/*.trans.txt"):
        found = sorted(root.glob(pattern))
        if found:
            return found
    return []


def read_librispeech(path: str | Path, split: str | None = None) -> Manifest:
    """Read LibriSpeech: a split folder, a root holding several splits, or one speaker
    or chapter folder inside a split.

    Args:
        path: e.g. ``LibriSpeech/dev-clean``, ``LibriSpeech`` or ``dev-clean/1272``.
        split: read only this split (e.g. ``"dev-clean"``); useful with a root folder.

    Raises:
        DatasetError: no ``*.trans.txt`` under ``path``, a malformed line, or missing audio.
    """
    root = _require_dir(Path(path), "LibriSpeech")
    transcripts = _librispeech_transcripts(root)
    if split is not None:
        transcripts = [t for t in transcripts if t.parents[1].parent.name == split]
    if not transcripts:
        raise DatasetError(
            f"no LibriSpeech transcripts (<spk>/<chapter>/<spk>-<chapter>.trans.txt) under "
            f"{str(root)!r}" + (f" for split {split!r}" if split else "")
        )
    utts: list[Utterance] = []
    missing: list[Path] = []
    for trans in transcripts:
        utts.extend(_librispeech_chapter(trans, trans.parents[1].parent.name, missing))
    if missing:
        raise _missing_audio(str(root), missing)
    return Manifest(split or root.name, tuple(utts))


def _librispeech_chapter(trans: Path, split: str, missing: list[Path]) -> list[Utterance]:
    utts = []
    for lineno, line in enumerate(trans.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        utt_id, _, text = line.strip().partition(" ")
        parts = utt_id.split("-")
        if len(parts) != 3:
            raise DatasetError(
                f"{str(trans)!r} line {lineno}: expected '<spk>-<chapter>-<n> TEXT', "
                f"got {line[:60]!r}"
            )
        audio = trans.parent / f"{utt_id}.flac"
        if not audio.exists():
            missing.append(audio)
            continue
        utts.append(Utterance(
            id=utt_id, audio=audio, text=text.strip(), speaker=parts[0],
            duration=_header_duration(audio),
            extra={"chapter": parts[1], "split": split},
        ))
    return utts


# --- LJSpeech --------------------------------------------------------------------------


def read_ljspeech(path: str | Path) -> Manifest:
    """Read LJSpeech: ``metadata.csv`` rows ``id|raw text|normalized text`` + ``wavs/``.

    The normalised column (numbers and abbreviations spelled out) is the reference; the
    raw text is kept in ``extra["raw_text"]``. The speaker is ``"LJ"``.
    """
    root = _require_dir(Path(path), "LJSpeech")
    meta = root / "metadata.csv"
    if not meta.is_file():
        raise DatasetError(f"LJSpeech folder {str(root)!r} has no metadata.csv")
    utts: list[Utterance] = []
    missing: list[Path] = []
    for lineno, line in enumerate(meta.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < 2:
            raise DatasetError(f"{str(meta)!r} line {lineno}: expected 'id|raw|normalized'")
        utt_id, raw = fields[0], fields[1]
        text = fields[2] if len(fields) > 2 and fields[2].strip() else raw
        audio = root / "wavs" / f"{utt_id}.wav"
        if not audio.exists():
            missing.append(audio)
            continue
        utts.append(Utterance(utt_id, audio, text.strip(), "LJ", _header_duration(audio),
                              extra={"raw_text": raw}))
    if missing:
        raise _missing_audio(str(meta), missing)
    return Manifest(root.name, tuple(utts))


# --- Common Voice ----------------------------------------------------------------------


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def read_common_voice(path: str | Path, split: str = "test") -> Manifest:
    """Read a Common Voice language folder: ``clips/`` + ``<split>.tsv``.

    Args:
        path: the folder holding ``clips/`` and the TSV files (e.g. ``cv-corpus-17.0/en``).
        split: which TSV to read: ``train``, ``dev``, ``test``, ``validated``, ...

    The speaker is ``client_id``; ``clip_durations.tsv`` (milliseconds) is used for
    durations when present, otherwise they are read lazily.
    """
    root = _require_dir(Path(path), "Common Voice")
    tsv = root / f"{split}.tsv"
    if not tsv.is_file():
        found = sorted(p.stem for p in root.glob("*.tsv"))
        raise DatasetError(
            f"Common Voice folder {str(root)!r} has no {split}.tsv; splits found: "
            f"{', '.join(found) or 'none'}"
        )
    durations: dict[str, float] = {}
    clip_durations = root / "clip_durations.tsv"
    if clip_durations.is_file():
        for row in _read_tsv(clip_durations):
            ms = row.get("duration[ms]") or row.get("duration")
            if row.get("clip") and ms:
                durations[row["clip"]] = float(ms) / 1000.0
    utts: list[Utterance] = []
    missing: list[Path] = []
    for row in _read_tsv(tsv):
        if "path" not in row or "sentence" not in row:
            raise DatasetError(f"{str(tsv)!r} needs the columns 'path' and 'sentence'")
        audio = root / "clips" / row["path"]
        if not audio.exists():
            missing.append(audio)
            continue
        extra = {k: v for k, v in row.items()
                 if k in ("age", "gender", "accents", "accent", "locale", "up_votes",
                          "down_votes", "variant") and v}
        utts.append(Utterance(
            id=Path(row["path"]).stem, audio=audio, text=row["sentence"].strip(),
            speaker=row.get("client_id") or None,
            duration=durations.get(row["path"], _header_duration(audio)),
            extra={**extra, "split": split},
        ))
    if missing:
        raise _missing_audio(str(tsv), missing)
    return Manifest(f"{root.name}-{split}", tuple(utts))


# --- VCTK ------------------------------------------------------------------------------


def read_vctk(path: str | Path, mic: str = "mic1") -> Manifest:
    """Read VCTK: ``txt/<spk>/<spk>_<n>.txt`` + ``wav48*/<spk>/<spk>_<n>[_<mic>].wav|flac``.

    Works for release 0.80 (``wav48/``, WAV) and 0.92 (``wav48_silence_trimmed/``, FLAC per
    microphone). Transcripts without audio (a few exist in the corpus) are skipped and
    counted in a log message.
    """
    root = _require_dir(Path(path), "VCTK")
    audio_dirs = sorted(p for p in root.glob("wav48*") if p.is_dir())
    if not (root / "txt").is_dir() or not audio_dirs:
        raise DatasetError(f"VCTK folder {str(root)!r} needs txt/ and a wav48*/ folder")
    utts: list[Utterance] = []
    skipped = 0
    for txt in sorted((root / "txt").glob("*/*.txt")):
        speaker, stem = txt.parent.name, txt.stem
        audio = _vctk_audio(audio_dirs, speaker, stem, mic)
        if audio is None:
            skipped += 1
            continue
        text = txt.read_text(encoding="utf-8", errors="replace").strip()
        utts.append(Utterance(stem, audio, text, speaker, _header_duration(audio),
                              extra={"mic": mic} if mic in audio.stem else {}))
    if skipped:
        logger.info("VCTK %s: %d transcripts have no audio and were skipped", root, skipped)
    return Manifest(root.name, tuple(utts))


def _vctk_audio(dirs: list[Path], speaker: str, stem: str, mic: str) -> Path | None:
    for d in dirs:
        for name in (f"{stem}_{mic}.flac", f"{stem}_{mic}.wav", f"{stem}.wav", f"{stem}.flac"):
            candidate = d / speaker / name
            if candidate.exists():
                return candidate
    return None


# --- TED-LIUM (STM) --------------------------------------------------------------------


def _stm_dirs(root: Path, split: str | None) -> list[Path]:
    if (root / "stm").is_dir():
        return [root]
    dirs = sorted(p.parent for p in root.glob("*/stm") if p.is_dir())
    if split is not None:
        dirs = [d for d in dirs if d.name == split]
    return dirs


def read_tedlium(path: str | Path, split: str | None = None) -> Manifest:
    """Read TED-LIUM style STM transcripts: ``stm/*.stm`` + ``sph/*.sph``.

    Each STM line ``<file> <channel> <speaker> <start> <end> [<label>] <text>`` becomes an
    utterance with ``start``/``end`` seconds inside ``sph/<file>.sph``; lines whose text is
    ``ignore_time_segment_in_scoring`` are dropped.

    Args:
        path: a folder with ``stm/`` and ``sph/``, or a root whose subfolders (``train``,
            ``dev``, ``test``) have them.
        split: with a root, read only this subfolder.
    """
    root = _require_dir(Path(path), "TED-LIUM")
    dirs = _stm_dirs(root, split)
    if not dirs:
        raise DatasetError(f"no stm/ folder under {str(root)!r}" + (
            f" for split {split!r}" if split else ""))
    utts: list[Utterance] = []
    missing: list[Path] = []
    for d in dirs:
        for stm in sorted((d / "stm").glob("*.stm")):
            utts.extend(_stm_file(stm, d, missing))
    if missing:
        raise _missing_audio(str(root), sorted(set(missing)))
    return Manifest(dirs[0].name if len(dirs) == 1 else root.name, tuple(utts))


def _stm_file(stm: Path, base: Path, missing: list[Path]) -> list[Utterance]:
    utts = []
    for lineno, line in enumerate(stm.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith(";;"):
            continue
        fields = line.split(maxsplit=5)
        if len(fields) < 5:
            raise DatasetError(f"{str(stm)!r} line {lineno}: expected "
                               "'<file> <channel> <speaker> <start> <end> [<label>] <text>'")
        name, channel, speaker, start_s, end_s = fields[:5]
        rest = fields[5] if len(fields) > 5 else ""
        label = None
        if rest.startswith("<"):
            label, _, rest = rest.partition(">")
            label = label + ">"
        text = rest.strip()
        if "ignore_time_segment_in_scoring" in (text, speaker):
            continue
        audio = base / "sph" / f"{name}.sph"
        if not audio.exists():
            missing.append(audio)
            continue
        start, end = float(start_s), float(end_s)
        extra: dict[str, Any] = {"channel": channel, "recording": name}
        if label:
            extra["label"] = label
        utts.append(Utterance(f"{name}-{round(start * 100):07d}-{round(end * 100):07d}",
                              audio, text, speaker, end - start, start, end, extra))
    return utts


# --- Free Spoken Digit -----------------------------------------------------------------


def read_fsdd(path: str | Path) -> Manifest:
    """Read the Free Spoken Digit Dataset: ``<digit>_<speaker>_<index>.wav`` files.

    ``path`` is the ``recordings/`` folder or its parent. The text is the digit as an
    English word (``"zero"`` .. ``"nine"``).
    """
    root = _require_dir(Path(path), "Free Spoken Digit")
    folder = root / "recordings" if (root / "recordings").is_dir() else root
    files = sorted((p for p in folder.glob("*.wav") if _FSDD_NAME.match(p.name)),
                   key=lambda p: _fsdd_key(p.name))
    if not files:
        raise DatasetError(
            f"no Free Spoken Digit files (<digit>_<speaker>_<index>.wav) in {str(folder)!r}"
        )
    utts = []
    for audio in files:
        match = _FSDD_NAME.match(audio.name)
        assert match is not None
        digit, speaker, _ = match.groups()
        utts.append(Utterance(audio.stem, audio, _DIGITS[int(digit)], speaker,
                              _header_duration(audio), extra={"digit": int(digit)}))
    return Manifest(root.name, tuple(utts))


def _fsdd_key(name: str) -> tuple[str, int, int]:
    match = _FSDD_NAME.match(name)
    assert match is not None
    return match.group(2), int(match.group(1)), int(match.group(3))


# --- JSONL / CSV manifests -------------------------------------------------------------

_AUDIO_KEYS = ("audio", "path", "audio_filepath", "audio_path", "file", "filename", "wav")
_TEXT_KEYS = ("text", "sentence", "transcript", "transcription", "normalized_text")
_SPEAKER_KEYS = ("speaker", "speaker_id", "client_id")
_ID_KEYS = ("id", "utt_id", "utterance_id", "key")


def _first(row: Mapping[str, Any], keys: Iterable[str]) -> tuple[str | None, Any]:
    for k in keys:
        if k in row and row[k] not in (None, ""):
            return k, row[k]
    return None, None


def _manifest_rows(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        with path.open(encoding="utf-8", newline="") as f:
            return list(csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ","))
    rows = []
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DatasetError(f"{str(path)!r} line {lineno} is not JSON: {err.msg}") from err
        if not isinstance(row, dict):
            raise DatasetError(f"{str(path)!r} line {lineno} is not a JSON object")
        rows.append(row)
    return rows


def read_manifest_file(path: str | Path, name: str | None = None) -> Manifest:
    """Read a JSONL (one object per line), CSV or TSV manifest.

    Recognised columns: audio (``audio``/``path``/``audio_filepath``/``file``), text
    (``text``/``sentence``/``transcript``/``transcription``), ``speaker``/``speaker_id``/
    ``client_id``, ``duration``, ``id``, ``start``/``end``, and ``extra`` (a JSON object);
    other columns go to ``extra``. Relative audio paths resolve against the manifest's
    folder; a missing id becomes the audio file's stem (or ``<stem>-<line>`` if repeated).

    Raises:
        DatasetError: a missing file, a row without audio or text, or missing audio files.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"manifest file {str(path)!r} does not exist")
    base = path.parent
    utts: list[Utterance] = []
    missing: list[Path] = []
    stems: dict[str, int] = {}
    for index, row in enumerate(_manifest_rows(path)):
        audio_key, audio_value = _first(row, _AUDIO_KEYS)
        text_key, text = _first(row, _TEXT_KEYS)
        if text_key is None:  # an empty transcript is one: silence or noise, nothing said
            text_key = next((k for k in _TEXT_KEYS if row.get(k) == ""), None)
            text = ""
        if audio_key is None or text_key is None:
            raise DatasetError(
                f"{str(path)!r} row {index + 1} needs an audio column ({'/'.join(_AUDIO_KEYS)}) "
                f"and a text column ({'/'.join(_TEXT_KEYS)}); it has {sorted(row)}"
            )
        audio = Path(str(audio_value))
        audio = audio if audio.is_absolute() else base / audio
        if not audio.exists():
            missing.append(audio)
            continue
        utts.append(_manifest_utterance(row, audio, str(text), index, stems,
                                        used={audio_key, text_key}))
    if missing:
        raise _missing_audio(str(path), missing)
    return Manifest(name or (path.parent.name if path.stem == "manifest" else path.stem),
                    tuple(utts))


def _manifest_utterance(
    row: Mapping[str, Any], audio: Path, text: str, index: int, stems: dict[str, int],
    used: set[str],
) -> Utterance:
    id_key, utt_id = _first(row, _ID_KEYS)
    if utt_id is None:
        stems[audio.stem] = stems.get(audio.stem, 0) + 1
        utt_id = audio.stem if stems[audio.stem] == 1 else f"{audio.stem}-{index + 1}"
    speaker_key, speaker = _first(row, _SPEAKER_KEYS)
    duration = row.get("duration")
    start, end = row.get("start"), row.get("end")
    used = used | {k for k in (id_key, speaker_key) if k} | {
        "duration", "start", "end", "extra"}
    extra = {k: v for k, v in row.items() if k not in used and v not in (None, "")}
    if isinstance(row.get("extra"), dict):
        extra.update(row["extra"])
    return Utterance(
        id=str(utt_id), audio=audio, text=text.strip(),
        speaker=None if speaker is None else str(speaker),
        duration=float(duration) if duration not in (None, "") else _header_duration(audio),
        start=float(start) if start not in (None, "") else None,
        end=float(end) if end not in (None, "") else None,
        extra=extra,
    )
