"""`aural data`: datasets made by aural (simulate-conversations)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from aural.cli.common import cli_message, err_console, exit_code_for, fail
from aural.errors import AuralError


def _audio_files(folder: Path | None, flag: str) -> list[Path]:
    if folder is None:
        return []
    if not folder.is_dir():
        fail(f"{flag} {folder} is not a folder")
    files = sorted(
        p for p in folder.iterdir() if p.suffix.lower() in {".wav", ".flac", ".ogg"}
    )
    if not files:
        fail(f"{flag} {folder} has no .wav/.flac/.ogg files")
    return files


def _load_mono(paths: list[Path]) -> list:
    import numpy as np

    from aural.audio import load

    out = []
    for p in paths:
        try:
            out.append(np.asarray(load(p).samples, dtype=np.float32))
        except AuralError as err:
            err_console.print(f"skipping {p}: {cli_message(err)}")
    return out


def simulate_conversations_command(
    source: Annotated[
        list[Path],
        typer.Option(
            "--from",
            help="Single-speaker corpus (LibriSpeech, LJSpeech or any aural manifest); "
            "repeat to pool corpora.",
        ),
    ],
    output_dir: Annotated[Path, typer.Option(help="Where the conversations go.")],
    num: Annotated[int, typer.Option(help="Conversations per speaker count.")] = 10,
    speakers: Annotated[
        str, typer.Option(help="Speaker counts, comma-separated (each 1-10).")
    ] = "2,3,4",
    overlap: Annotated[
        float, typer.Option(help="Share of the speech in two voices (0-0.4).")
    ] = 0.0,
    snr: Annotated[
        float | None, typer.Option(help="Add noise at this SNR in dB (--noise-dir).")
    ] = None,
    noise_dir: Annotated[Path | None, typer.Option(help="Noise recordings.")] = None,
    rir_dir: Annotated[
        Path | None,
        typer.Option(help="Room impulse responses: each speaker gets one of them."),
    ] = None,
    speaker_set: Annotated[
        str,
        typer.Option(
            help="all, tune or test: the fixed half of the speakers for tuning, or "
            "the other half for measuring.",
        ),
    ] = "all",
    max_duration: Annotated[
        float, typer.Option(help="Stop adding turns after this many seconds.")
    ] = 90.0,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    overwrite: Annotated[bool, typer.Option(help="Replace existing files.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress.")] = False,
) -> None:
    """Build multi-speaker conversations with RTTM references from single-speaker
    corpora: DIR/<id>.wav, .rttm, .json, plus DIR/manifest.jsonl and DIR/all.rttm."""
    from aural.data import Manifest, load_dataset
    from aural.diarization.simulate import (
        ConversationOptions,
        speakers_of,
        split_speakers,
    )

    try:
        counts = [int(x) for x in speakers.split(",") if x.strip()]
    except ValueError:
        fail(f"--speakers must be comma-separated integers, got {speakers!r}")
    if speaker_set not in ("all", "tune", "test"):
        fail(f"--speaker-set must be all, tune or test, got {speaker_set!r}")
    if num < 1:
        fail(f"--num must be >= 1, got {num}")
    if snr is not None and noise_dir is None:
        fail("--snr needs --noise-dir")
    manifest_path = output_dir / "manifest.jsonl"
    if manifest_path.exists() and not overwrite:
        fail(f"{manifest_path} exists; use --overwrite or another --output-dir")
    try:
        corpora = [load_dataset(p) for p in source]
        options = {
            k: ConversationOptions(
                num_speakers=k,
                overlap=overlap,
                snr_db=snr,
                reverb=rir_dir is not None,
                max_duration_s=max_duration,
            )
            for k in counts
        }
    except AuralError as err:
        fail(cli_message(err), exit_code_for(err))
    utterances = [u for m in corpora for u in m]
    pooled = Manifest("+".join(m.name for m in corpora), tuple(utterances))
    pool = sorted(speakers_of(pooled))
    tune, test = split_speakers(pool)
    pool = {"all": pool, "tune": tune, "test": test}[speaker_set]
    if max(counts) > len(pool):
        fail(
            f"--speakers {max(counts)} needs that many speakers; the set has "
            f"{len(pool)}"
        )
    noises = _load_mono(_audio_files(noise_dir, "--noise-dir"))
    rirs = _load_mono(_audio_files(rir_dir, "--rir-dir"))
    _write_all(
        output_dir, pooled, pool, counts, num, seed, options, noises, rirs, quiet
    )


def _write_all(
    output_dir: Path,
    manifest: object,
    pool: list[str],
    counts: list[int],
    num: int,
    seed: int,
    options: dict,
    noises: list,
    rirs: list,
    quiet: bool,
) -> None:
    import numpy as np
    import soundfile as sf

    from aural.diarization.simulate import simulate_conversation
    from aural.writers import format_rttm, write_atomic

    rows, rttm = [], []
    with Progress(
        TextColumn("simulating"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err_console,
        disable=quiet,
    ) as progress:
        task = progress.add_task("simulating", total=num * len(counts))
        for k in counts:
            for i in range(num):
                # one generator per conversation: each is reproducible on its own
                rng = np.random.default_rng([seed, k, i])
                chosen = [pool[j] for j in rng.choice(len(pool), k, replace=False)]
                conv = simulate_conversation(
                    manifest, chosen, options[k], rng, noises=noises, rirs=rirs
                )
                name = f"conv{k}spk_{i:03d}"
                audio = output_dir / f"{name}.wav"
                write_atomic(
                    audio,
                    lambda f, c=conv: sf.write(
                        f, c.waveform.samples, 16000, format="WAV", subtype="PCM_16"
                    ),
                )
                text = format_rttm(conv.reference, name)
                write_atomic(output_dir / f"{name}.rttm", text)
                rttm.append(text)
                detail = {
                    "id": name,
                    "speakers": list(conv.speakers),
                    "turns": [t.to_dict() for t in conv.turns],
                    "texts": conv.texts,
                }
                write_atomic(
                    output_dir / f"{name}.json", json.dumps(detail, indent=2) + "\n"
                )
                rows.append(
                    {
                        "id": name,
                        "audio": audio.name,
                        "rttm": f"{name}.rttm",
                        "transcript": f"{name}.json",
                        "duration": round(conv.waveform.num_samples / 16000, 3),
                        "num_speakers": k,
                        "speakers": list(conv.speakers),
                        "overlap_seconds": round(conv.overlap_seconds, 3),
                        # speaker time: overlapped speech counts once per voice
                        "speaker_seconds": round(
                            sum(t.end - t.start for t in conv.reference), 3
                        ),
                        "seed": [seed, k, i],
                    }
                )
                progress.advance(task)
    write_atomic(output_dir / "all.rttm", "".join(rttm))
    write_atomic(
        output_dir / "manifest.jsonl", "".join(json.dumps(r) + "\n" for r in rows)
    )
    err_console.print(f"wrote {len(rows)} conversations to {output_dir}")


def register(app: typer.Typer) -> None:
    data = typer.Typer(help="Datasets made by aural.", no_args_is_help=True)
    data.command("simulate-conversations")(simulate_conversations_command)
    app.add_typer(data, name="data")


__all__ = ["register"]
