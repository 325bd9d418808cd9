"""Readers for speech corpora in their own layouts, each returning a :class:`Manifest`.

=================  =====================================================================
kind               layout
=================  =====================================================================
``librispeech``    ``<spk>/<chapter>/<spk>-<chapter>-<n>.flac`` +
                   ``<spk>-<chapter>.trans.txt``, a split folder or a root holding
                   several splits
``ljspeech``       ``wavs/<id>.wav`` + ``metadata.csv`` (``id|raw|normalized``)
``common_voice``   ``clips/`` + ``<split>.tsv`` (``client_id``, ``path``, ``sentence``,
                   ``locale``)
``fleurs``         ``<split>.tsv`` (no header: id, file, raw text, text, ...) +
                   ``audio/<split>/*.wav``, in a language folder such as ``fr_fr``
``mls``            Multilingual LibriSpeech: ``<split>/transcripts.txt`` +
                   ``<split>/audio/<spk>/<book>/<spk>_<book>_<n>.flac|opus`` in a
                   ``mls_<language>`` folder
``vctk``           ``txt/<spk>/<spk>_<n>.txt`` +
                   ``wav48*/<spk>/<spk>_<n>[_mic1].wav|flac``
``tedlium``        ``stm/*.stm`` + ``sph/*.sph``: segments of long recordings
``fsdd``           ``<digit>_<speaker>_<index>.wav`` (Free Spoken Digit Dataset)
``manifest``       a JSONL / JSON-lines / CSV / TSV file with audio and text columns
``hf``             a Hugging Face dataset saved with ``save_to_disk``, or a hub name
=================  =====================================================================

:func:`load_dataset` detects the layout when ``kind="auto"``. Durations come from the
audio headers where that is cheap (WAV, FLAC, NIST) and are otherwise left ``None`` for
:func:`aural.data.utterance_duration` to read when needed.

Languages: readers of multilingual corpora put the utterance's language in
``extra["language"]`` as a Whisper-style ISO 639 code (``zh``, ``fr``, ``yue``) and the
corpus's own spelling in ``extra["locale"]`` (``zh-CN``, ``cmn_hans_cn``) when it
differs; a manifest's ``language`` column lands there too. :func:`utterance_language`
reads it.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import math
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, get_args

import soundfile

from aural.data.manifest import Manifest, Utterance
from aural.errors import DatasetError

__all__ = [
    "DATASET_KINDS",
    "DatasetKind",
    "read_common_voice",
    "read_fleurs",
    "read_fsdd",
    "read_librispeech",
    "read_ljspeech",
    "read_manifest_file",
    "read_mls",
    "read_tedlium",
    "read_vctk",
    "utterance_language",
]

logger = logging.getLogger(__name__)

DatasetKind = Literal[
    "auto",
    "librispeech",
    "ljspeech",
    "common_voice",
    "fleurs",
    "mls",
    "vctk",
    "tedlium",
    "fsdd",
    "manifest",
    "hf",
]
"""A dataset layout :func:`aural.data.load_dataset` reads (``auto`` = detect it)."""
DATASET_KINDS: tuple[str, ...] = tuple(k for k in get_args(DatasetKind) if k != "auto")

_LAYOUTS_HELP = (
    "LibriSpeech (<spk>/<chapter>/*.flac + *.trans.txt), LJSpeech (wavs/ + "
    "metadata.csv), Common Voice (clips/ + <split>.tsv), FLEURS (<split>.tsv + "
    "audio/<split>/), Multilingual LibriSpeech (<split>/transcripts.txt + "
    "<split>/audio/), VCTK (txt/ + wav48*/), "
    "TED-LIUM (stm/ + sph/), Free Spoken Digit (<digit>_<speaker>_<n>.wav), a "
    ".jsonl/.csv/.tsv manifest, or a Hugging Face dataset saved with save_to_disk"
)
_DIGITS = (
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
_LANGUAGE_FOLDER = re.compile(r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$")
"""A folder named like a language code (Common Voice: ``fr``, ``zh-CN``, ``yue``)."""
_FSDD_NAME = re.compile(r"^(\d)_([A-Za-z0-9]+)_(\d+)\.wav$")
_HEADER_SUFFIXES = frozenset(
    {".wav", ".flac", ".sph", ".nist", ".aiff", ".aif", ".ogg"}
)


def _header_duration(path: Path) -> float | None:
    """Duration from the file header for formats where that is exact and cheap."""
    if path.suffix.lower() not in _HEADER_SUFFIXES:
        return None
    try:
        info = soundfile.info(str(path))
    except (RuntimeError, OSError, soundfile.LibsndfileError):
        return None
    return info.frames / float(info.samplerate) if info.samplerate else None


# A byte-order mark picks the encoding; anything else must be UTF-8. UTF-32 comes first
# because its little-endian mark starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)


def _read_text(path: Path) -> str:
    """A transcript or manifest as text: UTF-8, or UTF-8/16/32 with a byte-order mark.

    Raises:
        DatasetError: the file cannot be read or does not decode, naming the line.
    """
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DatasetError(f"cannot read {str(path)!r}: {err.strerror}") from err
    encoding, label = next(
        ((enc, label) for bom, enc, label in _BOMS if raw.startswith(bom)),
        ("utf-8", "UTF-8"),
    )
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        line = raw[: err.start].decode(encoding, errors="replace").count("\n") + 1
        raise DatasetError(
            f"{str(path)!r} line {line} is not {label} text (byte "
            f"{raw[err.start]:#04x}); it may be Latin-1 or another legacy encoding: "
            "save the file as UTF-8"
        ) from err


def _require_dir(path: Path, what: str) -> Path:
    if not path.is_dir():
        raise DatasetError(
            f"{what} folder {str(path)!r} does not exist or is not a folder"
        )
    return path


def _missing_audio(name: str, missing: list[Path]) -> DatasetError:
    return DatasetError(
        f"{len(missing)} audio file(s) listed by {name!r} are missing, e.g. "
        f"{str(missing[0])!r}; restore them or remove their lines from the transcript"
    )


# --- LibriSpeech ----------------------------------------------------------------------


def _librispeech_transcripts(root: Path) -> list[Path]:
    """``*.trans.txt`` files under a chapter, speaker, split or corpus root folder."""
    for pattern in (
        "*.trans.txt",
        "*/*.trans.txt",
        "*/*/*.trans.txt",
        "*/*/*/*.trans.txt",
    ):
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
        DatasetError: no ``*.trans.txt`` under ``path``, a malformed line, or missing
            audio.
    """
    root = _require_dir(Path(path), "LibriSpeech")
    transcripts = _librispeech_transcripts(root)
    if split is not None:
        transcripts = [t for t in transcripts if t.parents[1].parent.name == split]
    if not transcripts:
        raise DatasetError(
            "no LibriSpeech transcripts (<spk>/<chapter>/<spk>-<chapter>.trans.txt) "
            f"under {str(root)!r}" + (f" for split {split!r}" if split else "")
        )
    utts: list[Utterance] = []
    missing: list[Path] = []
    for trans in transcripts:
        utts.extend(_librispeech_chapter(trans, trans.parents[1].parent.name, missing))
    if missing:
        raise _missing_audio(str(root), missing)
    return Manifest(split or root.name, tuple(utts))


def _librispeech_chapter(
    trans: Path, split: str, missing: list[Path]
) -> list[Utterance]:
    utts = []
    for lineno, line in enumerate(_read_text(trans).splitlines(), 1):
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
        utts.append(
            Utterance(
                id=utt_id,
                audio=audio,
                text=text.strip(),
                speaker=parts[0],
                duration=_header_duration(audio),
                extra={"chapter": parts[1], "split": split},
            )
        )
    return utts


# --- LJSpeech -------------------------------------------------------------------------


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
    for lineno, line in enumerate(_read_text(meta).splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) < 2:
            raise DatasetError(
                f"{str(meta)!r} line {lineno}: expected 'id|raw|normalized'"
            )
        utt_id, raw = fields[0], fields[1]
        text = fields[2] if len(fields) > 2 and fields[2].strip() else raw
        audio = root / "wavs" / f"{utt_id}.wav"
        if not audio.exists():
            missing.append(audio)
            continue
        utts.append(
            Utterance(
                utt_id,
                audio,
                text.strip(),
                "LJ",
                _header_duration(audio),
                extra={"raw_text": raw},
            )
        )
    if missing:
        raise _missing_audio(str(meta), missing)
    return Manifest(root.name, tuple(utts))


# --- Common Voice ---------------------------------------------------------------------


def _read_tsv(path: Path) -> list[dict[str, str]]:
    text = io.StringIO(_read_text(path), newline="")
    return list(csv.DictReader(text, delimiter="\t", quoting=csv.QUOTE_NONE))


def read_common_voice(
    path: str | Path, split: str = "test", language: str | None = None
) -> Manifest:
    """Read a Common Voice language folder: ``clips/`` + ``<split>.tsv``.

    Args:
        path: the folder holding ``clips/`` and the TSV files (e.g.
            ``cv-corpus-17.0/fr``).
        split: which TSV to read: ``train``, ``dev``, ``test``, ``validated``, ...
        language: the language of every clip; None = each row's ``locale`` column,
            else the folder's name when it is a language code (``fr``, ``zh-CN``).

    The speaker is ``client_id``; ``clip_durations.tsv`` (milliseconds) is used for
    durations when present, otherwise they are read lazily. The language goes to
    ``extra["language"]`` (see the module docstring).
    """
    root = _require_dir(Path(path), "Common Voice")
    folder_language = language or (
        root.name if _LANGUAGE_FOLDER.match(root.name) else None
    )
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
            seconds = _seconds(
                ms, "duration[ms]", repr(str(clip_durations)), "milliseconds"
            )
            if row.get("clip") and seconds is not None:
                durations[row["clip"]] = seconds / 1000.0
    utts: list[Utterance] = []
    missing: list[Path] = []
    for row in _read_tsv(tsv):
        if "path" not in row or "sentence" not in row:
            raise DatasetError(f"{str(tsv)!r} needs the columns 'path' and 'sentence'")
        audio = root / "clips" / row["path"]
        if not audio.exists():
            missing.append(audio)
            continue
        extra = {
            k: v
            for k, v in row.items()
            if k
            in (
                "age",
                "gender",
                "accents",
                "accent",
                "locale",
                "up_votes",
                "down_votes",
                "variant",
            )
            and v
        }
        extra.update(_language_fields(language or row.get("locale") or folder_language))
        utts.append(
            Utterance(
                id=Path(row["path"]).stem,
                audio=audio,
                text=row["sentence"].strip(),
                speaker=row.get("client_id") or None,
                duration=durations.get(row["path"], _header_duration(audio)),
                extra={**extra, "split": split},
            )
        )
    if missing:
        raise _missing_audio(str(tsv), missing)
    return Manifest(f"{root.name}-{split}", tuple(utts))


def _language_fields(code: str | None) -> dict[str, str]:
    """``{"language": <Whisper-style code>, "locale": <as written>}`` (locale only when
    it differs); empty when the code is unknown."""
    from aural.text.multilingual import base_language

    language = base_language(code)
    if code is None or language is None:
        return {}
    fields = {"language": language}
    if code != language:
        fields["locale"] = code
    return fields


def utterance_language(utterance: Utterance) -> str | None:
    """The utterance's language (``extra["language"]``, a Whisper-style ISO 639 code
    such as ``zh``), or None when the dataset does not say."""
    from aural.text.multilingual import base_language

    value = utterance.extra.get("language")
    return base_language(value) if isinstance(value, str) else None


# --- FLEURS ---------------------------------------------------------------------------

# google/fleurs: id, file name, raw transcription, transcription, characters,
# number of samples, gender
_FLEURS_FIELDS = 7


def read_fleurs(
    path: str | Path, split: str = "test", language: str | None = None
) -> Manifest:
    """Read a FLEURS language folder (``google/fleurs`` ``data/<lang>``, its audio
    archives extracted): ``<split>.tsv`` + ``audio/<split>/<file>.wav``.

    The TSV has no header; its columns are the id, the file name, the raw transcription,
    the normalised transcription (lower case, no punctuation: the reference, as FLEURS
    scores it), the characters, the number of samples and the gender. The same sentence
    is read by several speakers, so the utterance id is the file's stem and the
    sentence id is kept in ``extra["sentence_id"]``.

    Args:
        path: the language folder, e.g. ``fleurs/data/fr_fr``.
        split: ``train``, ``dev`` or ``test``.
        language: the language of every clip; None = from the folder name (``fr_fr``
            -> ``fr``, ``cmn_hans_cn`` -> ``zh``).

    Raises:
        DatasetError: no ``<split>.tsv``, a line without 7 fields, or missing audio.
    """
    root = _require_dir(Path(path), "FLEURS")
    tsv = root / f"{split}.tsv"
    if not tsv.is_file():
        found = sorted(p.stem for p in root.glob("*.tsv"))
        raise DatasetError(
            f"FLEURS folder {str(root)!r} has no {split}.tsv; splits found: "
            f"{', '.join(found) or 'none'}"
        )
    audio_dir = root / "audio" / split
    lang = _language_fields(language or root.name)
    utts: list[Utterance] = []
    missing: list[Path] = []
    for lineno, line in enumerate(_read_text(tsv).splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != _FLEURS_FIELDS:
            raise DatasetError(
                f"{str(tsv)!r} line {lineno} has {len(fields)} tab-separated field(s); "
                "FLEURS lines have 7 (id, file, raw text, text, characters, samples, "
                "gender)"
            )
        sentence_id, name, raw, text, _, samples, gender = fields
        audio = audio_dir / name
        if not audio.exists():
            missing.append(audio)
            continue
        duration = _header_duration(audio)
        if duration is None and samples.strip().isdigit():
            duration = int(samples) / 16000.0  # FLEURS is 16 kHz
        extra: dict[str, Any] = {
            "sentence_id": sentence_id,
            "raw_text": raw,
            "split": split,
            **lang,
        }
        if gender.strip():
            extra["gender"] = gender.strip()
        utts.append(
            Utterance(Path(name).stem, audio, text.strip(), None, duration, extra=extra)
        )
    if missing:
        raise _missing_audio(str(tsv), missing)
    return Manifest(f"fleurs-{root.name}-{split}", tuple(utts))


# --- Multilingual LibriSpeech ---------------------------------------------------------

_MLS_LANGUAGES = {
    "english": "en",
    "german": "de",
    "dutch": "nl",
    "french": "fr",
    "spanish": "es",
    "italian": "it",
    "portuguese": "pt",
    "polish": "pl",
}
_MLS_SUFFIXES = (".flac", ".opus", ".wav")


def _mls_split_dirs(root: Path, split: str | None) -> list[Path]:
    if (root / "transcripts.txt").is_file():
        return [root]
    dirs = sorted(p.parent for p in root.glob("*/transcripts.txt"))
    if split is not None:
        dirs = [d for d in dirs if d.name == split]
    return dirs


def read_mls(
    path: str | Path, split: str | None = None, language: str | None = None
) -> Manifest:
    """Read Multilingual LibriSpeech: ``<split>/transcripts.txt`` (``<spk>_<book>_<n>``
    TAB text) + ``<split>/audio/<spk>/<book>/<spk>_<book>_<n>.flac`` (or ``.opus``).

    Args:
        path: a language folder (``mls_spanish``) or one split folder inside it.
        split: with a language folder, the split to read (``train``, ``dev``,
            ``test``); None = every split (as for a LibriSpeech root).
        language: the language of every clip; None = from the folder name
            (``mls_spanish`` -> ``es``).

    Raises:
        DatasetError: no ``transcripts.txt``, a malformed line, or missing audio.
    """
    root = _require_dir(Path(path), "Multilingual LibriSpeech")
    dirs = _mls_split_dirs(root, split)
    if not dirs:
        raise DatasetError(
            "no Multilingual LibriSpeech transcripts (<split>/transcripts.txt) under "
            f"{str(root)!r}" + (f" for split {split!r}" if split else "")
        )
    if language is None:
        for folder in (root, root.parent):
            name = folder.name.lower().removeprefix("mls_").removesuffix("_opus")
            if name in _MLS_LANGUAGES:
                language = _MLS_LANGUAGES[name]
                break
    lang = _language_fields(language)
    utts: list[Utterance] = []
    missing: list[Path] = []
    for d in dirs:
        trans = d / "transcripts.txt"
        for lineno, line in enumerate(_read_text(trans).splitlines(), 1):
            if not line.strip():
                continue
            utt_id, sep, text = line.partition("\t")
            parts = utt_id.strip().split("_")
            if not sep or len(parts) != 3:
                raise DatasetError(
                    f"{str(trans)!r} line {lineno}: expected '<spk>_<book>_<n>' TAB "
                    f"text, got {line[:60]!r}"
                )
            utt_id = utt_id.strip()
            folder = d / "audio" / parts[0] / parts[1]
            audio = next(
                (
                    folder / f"{utt_id}{suffix}"
                    for suffix in _MLS_SUFFIXES
                    if (folder / f"{utt_id}{suffix}").exists()
                ),
                None,
            )
            if audio is None:
                missing.append(folder / f"{utt_id}.flac")
                continue
            utts.append(
                Utterance(
                    utt_id,
                    audio,
                    text.strip(),
                    parts[0],
                    _header_duration(audio),
                    extra={"book": parts[1], "split": d.name, **lang},
                )
            )
    if missing:
        raise _missing_audio(str(root), missing)
    name = root.name if len(dirs) > 1 or dirs[0] == root else f"{root.name}-{split}"
    return Manifest(name, tuple(utts))


# --- VCTK -----------------------------------------------------------------------------


def read_vctk(path: str | Path, mic: str = "mic1") -> Manifest:
    """Read VCTK: ``txt/<spk>/<spk>_<n>.txt`` +
    ``wav48*/<spk>/<spk>_<n>[_<mic>].wav|flac``.

    Works for release 0.80 (``wav48/``, WAV) and 0.92 (``wav48_silence_trimmed/``, FLAC
    per microphone). Transcripts without audio (a few exist in the corpus) are skipped
    and counted in a log message.
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
        utts.append(
            Utterance(
                stem,
                audio,
                text,
                speaker,
                _header_duration(audio),
                extra={"mic": mic} if mic in audio.stem else {},
            )
        )
    if skipped:
        logger.info(
            "VCTK %s: %d transcripts have no audio and were skipped", root, skipped
        )
    return Manifest(root.name, tuple(utts))


def _vctk_audio(dirs: list[Path], speaker: str, stem: str, mic: str) -> Path | None:
    for d in dirs:
        for name in (
            f"{stem}_{mic}.flac",
            f"{stem}_{mic}.wav",
            f"{stem}.wav",
            f"{stem}.flac",
        ):
            candidate = d / speaker / name
            if candidate.exists():
                return candidate
    return None


# --- TED-LIUM (STM) -------------------------------------------------------------------


def _stm_dirs(root: Path, split: str | None) -> list[Path]:
    if (root / "stm").is_dir():
        return [root]
    dirs = sorted(p.parent for p in root.glob("*/stm") if p.is_dir())
    if split is not None:
        dirs = [d for d in dirs if d.name == split]
    return dirs


def read_tedlium(path: str | Path, split: str | None = None) -> Manifest:
    """Read TED-LIUM style STM transcripts: ``stm/*.stm`` + ``sph/*.sph``.

    Each STM line ``<file> <channel> <speaker> <start> <end> [<label>] <text>`` becomes
    an utterance with ``start``/``end`` seconds inside ``sph/<file>.sph``; lines whose
    text is ``ignore_time_segment_in_scoring`` are dropped.

    Args:
        path: a folder with ``stm/`` and ``sph/``, or a root whose subfolders
            (``train``, ``dev``, ``test``) have them.
        split: with a root, read only this subfolder.
    """
    root = _require_dir(Path(path), "TED-LIUM")
    dirs = _stm_dirs(root, split)
    if not dirs:
        raise DatasetError(
            f"no stm/ folder under {str(root)!r}"
            + (f" for split {split!r}" if split else "")
        )
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
    for lineno, line in enumerate(_read_text(stm).splitlines(), 1):
        if not line.strip() or line.startswith(";;"):
            continue
        fields = line.split(maxsplit=5)
        if len(fields) < 5:
            raise DatasetError(
                f"{str(stm)!r} line {lineno}: expected "
                "'<file> <channel> <speaker> <start> <end> [<label>] <text>'"
            )
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
        where = f"{str(stm)!r} line {lineno}"
        start = _seconds(start_s, "start", where) or 0.0
        end = _seconds(end_s, "end", where) or 0.0
        if end < start:
            raise DatasetError(f"{where}: end ({end} s) is before start ({start} s)")
        extra: dict[str, Any] = {"channel": channel, "recording": name}
        if label:
            extra["label"] = label
        utts.append(
            Utterance(
                f"{name}-{round(start * 100):07d}-{round(end * 100):07d}",
                audio,
                text,
                speaker,
                end - start,
                start,
                end,
                extra,
            )
        )
    return utts


# --- Free Spoken Digit ----------------------------------------------------------------


def read_fsdd(path: str | Path) -> Manifest:
    """Read the Free Spoken Digit Dataset: ``<digit>_<speaker>_<index>.wav`` files.

    ``path`` is the ``recordings/`` folder or its parent. The text is the digit as an
    English word (``"zero"`` .. ``"nine"``).
    """
    root = _require_dir(Path(path), "Free Spoken Digit")
    folder = root / "recordings" if (root / "recordings").is_dir() else root
    files = sorted(
        (p for p in folder.glob("*.wav") if _FSDD_NAME.match(p.name)),
        key=lambda p: _fsdd_key(p.name),
    )
    if not files:
        raise DatasetError(
            "no Free Spoken Digit files (<digit>_<speaker>_<index>.wav) in "
            f"{str(folder)!r}"
        )
    utts = []
    for audio in files:
        match = _FSDD_NAME.match(audio.name)
        assert match is not None
        digit, speaker, _ = match.groups()
        utts.append(
            Utterance(
                audio.stem,
                audio,
                _DIGITS[int(digit)],
                speaker,
                _header_duration(audio),
                extra={"digit": int(digit)},
            )
        )
    return Manifest(root.name, tuple(utts))


def _fsdd_key(name: str) -> tuple[str, int, int]:
    match = _FSDD_NAME.match(name)
    assert match is not None
    return match.group(2), int(match.group(1)), int(match.group(3))


# --- JSONL / CSV manifests ------------------------------------------------------------

_AUDIO_KEYS = (
    "audio",
    "path",
    "audio_filepath",
    "audio_path",
    "file",
    "filename",
    "wav",
)
_TEXT_KEYS = ("text", "sentence", "transcript", "transcription", "normalized_text")
_SPEAKER_KEYS = ("speaker", "speaker_id", "client_id")
_ID_KEYS = ("id", "utt_id", "utterance_id", "key")
_END_TOLERANCE = 0.1
"""Seconds a segment's ``end`` may overshoot the audio (rounding in the tool that
wrote it)."""


def _first(row: Mapping[str, Any], keys: Iterable[str]) -> tuple[str | None, Any]:
    for k in keys:
        if k in row and row[k] not in (None, ""):
            return k, row[k]
    return None, None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _seconds(value: Any, key: str, where: str, unit: str = "seconds") -> float | None:
    """A ``duration``/``start``/``end`` field as a finite number >= 0 (None when
    absent)."""
    if value is None or value == "":
        return None
    problem = (
        f"{where}: field {key!r} must be a number of {unit} >= 0, got {_shown(value)}"
    )
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise DatasetError(problem)
    try:
        seconds = float(value)
    except (ValueError, OverflowError) as err:
        raise DatasetError(problem) from err
    if not math.isfinite(seconds) or seconds < 0:
        raise DatasetError(problem)
    return seconds


def _jsonl_rows(path: Path, text: str) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DatasetError(
                f"{str(path)!r} line {lineno} is not JSON: {err.msg}"
            ) from err
        if not isinstance(row, dict):
            raise DatasetError(
                f"{str(path)!r} line {lineno} is not a JSON object (a manifest "
                "holds one object per line)"
            )
        rows.append((lineno, row))
    return rows


def _csv_rows(
    path: Path, text: str, delimiter: str
) -> list[tuple[int, dict[str, Any]]]:
    """Rows keyed by the header; a row with another number of fields is an error."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None) or []
    rows = []
    start = reader.line_num + 1
    for fields in reader:
        lineno, start = start, reader.line_num + 1
        if not fields:
            continue
        if len(fields) != len(header):
            raise _field_count_error(
                path, lineno, reader.line_num, fields, header, delimiter
            )
        rows.append((lineno, dict(zip(header, fields, strict=True))))
    return rows


def _field_count_error(
    path: Path,
    lineno: int,
    last: int,
    fields: list[str],
    header: list[str],
    delimiter: str,
) -> DatasetError:
    message = (
        f"{str(path)!r} line {lineno} has {len(fields)} field(s) but the header has "
        f"{len(header)} ({', '.join(header)})"
    )
    if any(delimiter in f or "\n" in f or "\r" in f for f in fields):
        through = "the end of the file" if last == lineno else f"line {last}"
        return DatasetError(
            f'{message}: a quote (") opens a field that runs through {through}, '
            "swallowing the separators; close the quote or remove it"
        )
    sep = "tab" if delimiter == "\t" else "comma"
    return DatasetError(f"{message}; quote fields that contain a {sep}")


def _manifest_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """``(line number, row)`` for every row of a JSONL, CSV or TSV manifest."""
    text = _read_text(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return _csv_rows(path, text, "\t" if suffix == ".tsv" else ",")
    return _jsonl_rows(path, text)


def read_manifest_file(path: str | Path, name: str | None = None) -> Manifest:
    """Read a JSONL (one object per line), CSV or TSV manifest.

    Recognised columns: audio (``audio``/``path``/``audio_filepath``/``file``), text
    (``text``/``sentence``/``transcript``/``transcription``),
    ``speaker``/``speaker_id``/``client_id``, ``duration``, ``id``, ``start``/``end``,
    and ``extra`` (a JSON object); other columns go to ``extra``. Relative audio paths
    resolve against the manifest's folder; a missing id becomes the audio file's stem
    (or ``<stem>-<line>`` if repeated). The file is UTF-8, or UTF-16/32 with a
    byte-order mark.

    Raises:
        DatasetError: a missing or undecodable file, a row without audio or text, a
            field of the wrong type or out of range (naming the line and field), or
            missing audio files.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"manifest file {str(path)!r} does not exist")
    base = path.parent
    utts: list[Utterance] = []
    missing: list[Path] = []
    stems: dict[str, int] = {}
    for index, (lineno, row) in enumerate(_manifest_rows(path)):
        where = f"{str(path)!r} line {lineno}"
        audio_key, audio_value = _first(row, _AUDIO_KEYS)
        text_key, text = _first(row, _TEXT_KEYS)
        if (
            text_key is None
        ):  # an empty transcript is one: silence or noise, nothing said
            text_key = next((k for k in _TEXT_KEYS if row.get(k) == ""), None)
            text = ""
        if audio_key is None or text_key is None:
            present = sorted(str(k) for k, v in row.items() if v not in (None, ""))
            raise DatasetError(
                f"{where} needs an audio column ({'/'.join(_AUDIO_KEYS)}) and a text "
                f"column ({'/'.join(_TEXT_KEYS)}); it has {present}"
            )
        for key, value in ((audio_key, audio_value), (text_key, text)):
            if not isinstance(value, str):
                raise DatasetError(
                    f"{where}: field {key!r} must be a string, got {_shown(value)}"
                )
        audio = Path(audio_value)
        audio = audio if audio.is_absolute() else base / audio
        if audio.is_dir():
            raise DatasetError(
                f"{where}: audio {audio_value!r} is a folder, not an audio file"
            )
        if not audio.exists():
            missing.append(audio)
            continue
        utts.append(
            _manifest_utterance(
                row, audio, text, index, stems, where, used={audio_key, text_key}
            )
        )
    if missing:
        raise _missing_audio(str(path), missing)
    return Manifest(
        name or (path.parent.name if path.stem == "manifest" else path.stem),
        tuple(utts),
    )


def _name_field(
    row: Mapping[str, Any],
    keys: Iterable[str],
    where: str,
) -> tuple[str | None, str | None]:
    """An id or speaker column: a string or a whole number (``1272``)."""
    key, value = _first(row, keys)
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (str, int))
    ):
        raise DatasetError(
            f"{where}: field {key!r} must be a string, got {_shown(value)}"
        )
    return key, None if value is None else str(value)


def _extra_field(value: Any, where: str) -> dict[str, Any]:
    """The ``extra`` column: a JSON object (in a CSV, its JSON text)."""
    if value in (None, ""):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            pass
    if not isinstance(value, dict):
        raise DatasetError(
            f"{where}: field 'extra' must be a JSON object, got {_shown(value)}"
        )
    return value


def _segment(
    row: Mapping[str, Any],
    audio: Path,
    where: str,
) -> tuple[float | None, float | None, float | None]:
    """``(duration, start, end)``, checked against each other and the audio header."""
    duration = _seconds(row.get("duration"), "duration", where)
    start = _seconds(row.get("start"), "start", where)
    end = _seconds(row.get("end"), "end", where)
    if start is not None and end is not None and end <= start:
        raise DatasetError(
            f"{where}: segment end ({end} s) must be after its start ({start} s)"
        )
    length = _header_duration(audio)
    if length is not None and start is not None and start >= length:
        raise DatasetError(
            f"{where}: segment start ({start} s) is at or past the end of "
            f"{audio.name!r} ({length:.2f} s)"
        )
    if length is not None and end is not None and end > length + _END_TOLERANCE:
        raise DatasetError(
            f"{where}: segment end ({end} s) is past the end of "
            f"{audio.name!r} ({length:.2f} s)"
        )
    if duration is None and (start is not None or end is not None):
        last = end if end is not None else length
        duration = None if last is None else last - (start or 0.0)
    elif duration is None:
        duration = length
    return duration, start, end


def _manifest_utterance(
    row: Mapping[str, Any],
    audio: Path,
    text: str,
    index: int,
    stems: dict[str, int],
    where: str,
    used: set[str],
) -> Utterance:
    id_key, utt_id = _name_field(row, _ID_KEYS, where)
    if utt_id is None:
        stems[audio.stem] = stems.get(audio.stem, 0) + 1
        utt_id = audio.stem if stems[audio.stem] == 1 else f"{audio.stem}-{index + 1}"
    speaker_key, speaker = _name_field(row, _SPEAKER_KEYS, where)
    duration, start, end = _segment(row, audio, where)
    used = (
        used
        | {k for k in (id_key, speaker_key) if k}
        | {"duration", "start", "end", "extra"}
    )
    extra = {k: v for k, v in row.items() if k not in used and v not in (None, "")}
    extra.update(_extra_field(row.get("extra"), where))
    return Utterance(
        id=utt_id,
        audio=audio,
        text=text.strip(),
        speaker=speaker,
        duration=duration,
        start=start,
        end=end,
        extra=extra,
    )
