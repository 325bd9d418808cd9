"""Simulated conversations from single-speaker corpora, with their RTTM, for tests,
benchmarks and users tuning the diarizer on their own speakers.

Each speaker's utterances are cut at their pauses into turns of at most
``max_turn_s``; the turns of ``num_speakers`` speakers are interleaved (the next
speaker is never the current one; the conversation ends when only the current speaker
has turns left), separated by random pauses, and a chosen share of
the speech overlaps the previous turn. Each speaker can get a room response of its
own, and the mixture noise at a chosen SNR. The reference turns are the speech regions
inside each placed turn (split at pauses of 0.5 s or more, from Silero VAD on the
clean source), so a pause inside a turn is not speech in the reference.

Everything random comes from one ``numpy.random.Generator`` seeded by the caller: the
same seed, corpus and options give the same audio and RTTM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from aural.audio import SAMPLE_RATE, Waveform, load
from aural.audio.effects import convolve_rir, mix_at_snr
from aural.audio.vad import VadOptions, speech_regions
from aural.data import Manifest
from aural.errors import ConfigError
from aural.types import Turn

__all__ = [
    "ConversationOptions",
    "Conversation",
    "ConversationTurn",
    "simulate_conversation",
    "speakers_of",
    "split_speakers",
]

# pauses of 0.5 s or more split a reference turn; little padding so the reference
# is tight
_REFERENCE_VAD = VadOptions(
    threshold=0.5,
    min_speech_duration_ms=100,
    min_silence_duration_ms=500,
    speech_pad_ms=30,
)


@dataclass(frozen=True, slots=True)
class ConversationOptions:
    """How one simulated conversation is built."""

    num_speakers: int = 2
    overlap: float = 0.0  # share of the speech time where two speakers talk, 0..0.4
    min_pause_s: float = 0.2  # pause between turns that do not overlap
    max_pause_s: float = 1.0
    max_turn_s: float = 6.0  # an utterance is cut at pauses into turns this long
    max_duration_s: float = 90.0  # stop adding turns after this much audio
    snr_db: float | None = None  # noise at this SNR (needs noises)
    reverb: bool = False  # a room response per speaker (needs rirs)
    level_jitter_db: float = 3.0  # each speaker's level varies by up to this

    def __post_init__(self) -> None:
        if not 1 <= self.num_speakers <= 10:
            raise ConfigError(f"num_speakers must be 1..10, got {self.num_speakers}")
        if not 0.0 <= self.overlap <= 0.4:
            raise ConfigError(f"overlap must be in [0, 0.4], got {self.overlap}")
        if not 0.0 <= self.min_pause_s <= self.max_pause_s:
            raise ConfigError(
                f"need 0 <= min_pause_s <= max_pause_s, got {self.min_pause_s} and "
                f"{self.max_pause_s}"
            )
        if self.max_turn_s <= 0 or self.max_duration_s <= 0:
            raise ConfigError("max_turn_s and max_duration_s must be > 0")


@dataclass(frozen=True, slots=True)
class ConversationTurn:
    """One placed turn: a stretch of one source utterance."""

    speaker: str
    utterance_id: str
    start: float  # where it starts in the conversation, seconds
    end: float
    source_start: float  # where it starts in its source utterance, seconds
    source_end: float

    def to_dict(self) -> dict[str, float | str]:
        return {
            "speaker": self.speaker,
            "utterance_id": self.utterance_id,
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "source_start": round(self.source_start, 3),
            "source_end": round(self.source_end, 3),
        }


@dataclass(frozen=True, slots=True)
class Conversation:
    """A simulated recording, its reference turns and where each piece came from."""

    waveform: Waveform
    reference: tuple[Turn, ...]  # speech regions per speaker, seconds
    turns: tuple[ConversationTurn, ...]
    texts: dict[str, str] = field(default_factory=dict)  # utterance id -> transcript

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(sorted({t.speaker for t in self.reference}))

    @property
    def overlap_seconds(self) -> float:
        """Seconds where two or more reference speakers talk."""
        points = sorted({p for t in self.reference for p in (t.start, t.end)})
        total = 0.0
        for a, b in zip(points, points[1:]):
            mid = (a + b) / 2
            if sum(t.start <= mid < t.end for t in self.reference) >= 2:
                total += b - a
        return total


def speakers_of(manifest: Manifest) -> dict[str, list[int]]:
    """Speaker -> indices of its utterances (the manifest name when a corpus has no
    speaker ids, as LJSpeech)."""
    by_speaker: dict[str, list[int]] = {}
    for i, u in enumerate(manifest):
        by_speaker.setdefault(u.speaker or manifest.name, []).append(i)
    return by_speaker


def split_speakers(speakers: Sequence[str]) -> tuple[list[str], list[str]]:
    """A fixed split into (tuning, test) speakers: alternate speakers in sorted
    order, so a diarizer tuned on one half is measured on speakers it never saw."""
    ordered = sorted(speakers)
    return ordered[0::2], ordered[1::2]


def _pieces(
    samples: NDArray[np.float32], max_turn_s: float
) -> list[tuple[float, float]]:
    """An utterance cut at its pauses into pieces of at most ``max_turn_s``."""
    regions = speech_regions(Waveform(samples, SAMPLE_RATE), _REFERENCE_VAD)
    pieces: list[tuple[float, float]] = []
    for start, end in regions:
        if pieces and end - pieces[-1][0] <= max_turn_s:
            pieces[-1] = (pieces[-1][0], end)
        else:
            pieces.append((start, end))
    return pieces


def _local_regions(samples: NDArray[np.float32]) -> list[tuple[float, float]]:
    if samples.size < SAMPLE_RATE // 10:
        return []
    return speech_regions(Waveform(samples, SAMPLE_RATE), _REFERENCE_VAD)


def _speaker_turns(
    manifest: Manifest, indices: Sequence[int], max_turn_s: float
) -> list[tuple[str, NDArray[np.float32], float, float]]:
    out = []
    for i in indices:
        u = manifest[i]
        samples = np.asarray(load(u.audio, SAMPLE_RATE).samples, dtype=np.float32)
        for start, end in _pieces(samples, max_turn_s):
            piece = samples[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
            out.append((u.id, piece, start, end))
    return out


def simulate_conversation(
    manifest: Manifest,
    speakers: Sequence[str],
    options: ConversationOptions,
    rng: np.random.Generator,
    *,
    noises: Sequence[NDArray[np.float32]] = (),
    rirs: Sequence[NDArray[np.float32]] = (),
) -> Conversation:
    """One conversation between ``speakers`` (ids as :func:`speakers_of` gives them).

    Args:
        manifest: the single-speaker corpus.
        speakers: the speakers taking part (``options.num_speakers`` of them).
        options: pauses, overlap, noise and reverberation.
        rng: the only source of randomness.
        noises: 16 kHz mono noise recordings (one is drawn when ``snr_db`` is set).
        rirs: 16 kHz mono room responses (one per speaker when ``reverb``).

    Raises:
        ConfigError: the speaker count does not match, or noise/reverberation is
            asked for without recordings.
    """
    o = options
    if len(speakers) != o.num_speakers:
        raise ConfigError(f"need {o.num_speakers} speakers, got {len(speakers)}")
    if o.snr_db is not None and not noises:
        raise ConfigError("snr_db is set but no noise recordings were given")
    if o.reverb and not rirs:
        raise ConfigError("reverb is set but no room responses were given")
    index = speakers_of(manifest)
    queues = {
        s: _speaker_turns(manifest, rng.permutation(index[s]).tolist(), o.max_turn_s)
        for s in speakers
    }
    gains = {
        s: 10 ** (rng.uniform(-o.level_jitter_db, o.level_jitter_db) / 20)
        for s in speakers
    }
    responses = (
        {s: rirs[int(rng.integers(len(rirs)))] for s in speakers} if o.reverb else {}
    )
    placed: list[tuple[str, NDArray[np.float32], float, ConversationTurn]] = []
    t, current, prev_len = 0.0, None, 0.0
    while t < o.max_duration_s:
        # never the same speaker twice in a row: the conversation ends when only the
        # last speaker has turns left; speakers with more left are likelier next
        choices = [s for s in speakers if queues[s] and s != current]
        if not choices and len(speakers) == 1 and queues[speakers[0]]:
            choices = list(speakers)  # a monologue: one speaker, pauses between turns
        if not choices:
            break
        left = np.array([len(queues[s]) for s in choices], dtype=np.float64)
        speaker = choices[int(rng.choice(len(choices), p=left / left.sum()))]
        utt, piece, src_start, src_end = queues[speaker].pop(0)
        length = piece.size / SAMPLE_RATE
        if placed and o.overlap > 0 and speaker != current:
            # overlapping the previous turn by overlap x the two turns' mean length
            # puts about `overlap` of the speech in two voices
            back = min(o.overlap * (prev_len + length) / 2, 0.5 * min(prev_len, length))
            start = max(0.0, t - back)
        else:
            start = t + (rng.uniform(o.min_pause_s, o.max_pause_s) if placed else 0.5)
        audio = piece * gains[speaker]
        if o.reverb:
            audio = convolve_rir(audio, responses[speaker])
        turn = ConversationTurn(speaker, utt, start, start + length, src_start, src_end)
        placed.append((speaker, audio, start, turn))
        t, current, prev_len = max(t, start + length), speaker, length
    return _mix(placed, t + 0.5, o, rng, noises, manifest)


def _mix(
    placed: list[tuple[str, NDArray[np.float32], float, ConversationTurn]],
    duration: float,
    o: ConversationOptions,
    rng: np.random.Generator,
    noises: Sequence[NDArray[np.float32]],
    manifest: Manifest,
) -> Conversation:
    mix = np.zeros(int(np.ceil(duration * SAMPLE_RATE)), dtype=np.float64)
    reference: list[Turn] = []
    for speaker, audio, start, _ in placed:
        offset = int(round(start * SAMPLE_RATE))
        mix[offset : offset + audio.size] += audio
        for a, b in _local_regions(audio.astype(np.float32)):
            reference.append(Turn(round(start + a, 3), round(start + b, 3), speaker))
    samples = mix.astype(np.float32)
    if o.snr_db is not None:
        samples = mix_at_snr(
            samples, noises[int(rng.integers(len(noises)))], o.snr_db, rng
        )
    peak = float(np.max(np.abs(samples))) if samples.size else 0.0
    if peak > 0.99:  # scaling the whole mixture keeps the SNR
        samples = (samples * (0.99 / peak)).astype(np.float32)
    ids = {turn.utterance_id for *_, turn in placed}
    texts = {u.id: u.text for u in manifest if u.id in ids}
    return Conversation(
        Waveform(samples, SAMPLE_RATE),
        tuple(sorted(reference)),
        tuple(turn for *_, turn in placed),
        texts,
    )
