"""The diarizer on real speech: simulated LibriSpeech conversations (dev-clean
speakers, never used for tuning) and the real AMI meeting excerpts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aural.diarization import DiarizationOptions, read_rttm, read_uem
from aural.evaluation.diarization import diarization_error_rate, score_diarization

pytestmark = pytest.mark.slow

# Bounds with room above what was measured (docs/diarization.md): a regression shows,
# noise between library versions does not.
SIMULATED_DER_BOUND = 0.10  # collar 0.25 s, per conversation
AMI_DER_BOUND = 0.35  # collar 0.25 s, all 10 excerpts together


@pytest.mark.parametrize(("k", "seed"), [(2, 1), (3, 2), (4, 3)])
def test_simulated_conversation_der_and_count(diarizer, make_conversation, k, seed):
    conv = make_conversation(k, seed)
    turns = diarizer.diarize(conv.waveform)
    score = score_diarization(list(conv.reference), turns, collar=0.25)
    assert score.der < SIMULATED_DER_BOUND, score
    assert len({t.speaker for t in turns}) == k
    # invariants: time order, inside the audio, labels S1.. in order of appearance
    duration = conv.waveform.num_samples / 16000
    assert all(0 <= t.start < t.end <= duration + 1e-6 for t in turns)
    assert [t.start for t in turns] == sorted(t.start for t in turns)
    first = list(dict.fromkeys(t.speaker for t in turns))
    assert first == [f"S{i}" for i in range(1, len(first) + 1)]


def test_speaker_count_with_overlap_and_noise(diarizer, make_conversation, noises):
    """The issue's targets with the count unknown, on speakers never used for
    tuning: the count right on at least 80 % of the conversations and DER (collar
    0.25 s) at most 12 % with 10 % overlap or noise at 15 dB. Seeds fixed in
    advance, not picked."""
    assert noises, "no noise recordings in shared/data/noise"
    refs, hyps, right = {}, {}, 0
    for condition, changes in (("overlap", {"overlap": 0.1}), ("noise", {})):
        extra = {"snr_db": 15.0, "noises": noises} if condition == "noise" else {}
        for k in (2, 3, 4):
            for seed in (0, 1):
                conv = make_conversation(k, seed, **changes, **extra)
                turns = diarizer.diarize(conv.waveform)
                name = f"{condition}/{k}/{seed}"
                refs[name], hyps[name] = list(conv.reference), turns
                right += len({t.speaker for t in turns}) == k
    assert right >= 0.8 * len(refs), f"count right on {right} of {len(refs)}"
    for condition in ("overlap", "noise"):
        names = [n for n in refs if n.startswith(condition)]
        score, _ = diarization_error_rate(
            {n: refs[n] for n in names}, {n: hyps[n] for n in names}, collar=0.25
        )
        assert score.der <= 0.12, (condition, score)


def test_one_speaker_is_one_speaker(diarizer, make_conversation):
    conv = make_conversation(1, 4)
    turns = diarizer.diarize(conv.waveform)
    assert {t.speaker for t in turns} == {"S1"}


def test_known_count_is_respected(diarizer, make_conversation):
    conv = make_conversation(3, 2)
    turns = diarizer.diarize(conv.waveform, DiarizationOptions(num_speakers=2))
    assert len({t.speaker for t in turns}) == 2


def test_ami_excerpts_der(diarizer, ami_dir: Path):
    rows = [
        json.loads(line)
        for line in (ami_dir / "manifest.jsonl").read_text().splitlines()
        if line
    ]
    refs, uems, hyps = {}, {}, {}
    for row in rows:
        ref = read_rttm(ami_dir / row["rttm"])
        (name,) = ref
        refs[name] = ref[name]
        uems[name] = read_uem(ami_dir / row["uem"])[name]
        hyps[name] = diarizer.diarize(ami_dir / row["audio"])
    score, _ = diarization_error_rate(refs, hyps, uem=uems, collar=0.25)
    assert score.der < AMI_DER_BOUND, score


def test_silence_gives_no_turns(diarizer):
    import numpy as np

    from aural.audio import Waveform

    assert diarizer.diarize(Waveform(np.zeros(16000 * 3, np.float32), 16000)) == []
