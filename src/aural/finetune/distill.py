"""Knowledge distillation: a teacher labels audio, a smaller model learns from it.

1. **Label.** Any aural engine and model (``teacher: {engine, model}``) transcribes the
   ``data.unlabelled`` audio. A label is kept when the teacher was confident, by the
   thresholds Whisper itself uses for its temperature fallback: mean token log
   probability (``min_avg_log_prob``), no-speech probability (``max_no_speech_prob``)
   and gzip compression ratio of the text (``max_compression_ratio``, repetition
   loops); and, where the audio has a reference transcript, when the label's WER
   against it is at most ``max_wer`` (distil-whisper keeps those within 10 %).
   The kept labels are written to ``RUN/labels.jsonl`` (a manifest).
2. **Train.** A Whisper student (``student.kind: whisper``, the default) fine-tunes
   on the kept labels with the loop of ``aural finetune``. When the teacher is a
   Whisper whose vocabulary the student shares, the loss adds
   ``kl_weight * T^2 * KL(teacher || student)`` over the teacher-forced token
   distributions at temperature ``T`` (logit-level distillation). aural's own CTC or
   transducer model (``student.kind: aural``: an ``aural train`` recipe, inline or
   ``recipe: PATH`` plus changes) trains on the labels with ``aural train``; its
   characters share no vocabulary with a Whisper teacher, so it learns from the labels.
3. **Measure.** Teacher, student before and student after on ``data.test``: WER and
   real-time factor, each through its engine; ``RUN/distill.json``.
"""

from __future__ import annotations

import json
import logging
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import Field

from aural.errors import ConfigError
from aural.finetune.config import FinetuneConfig, parse_finetune_config
from aural.training.config import (
    DataSource,
    StrictModel,
    TrainConfig,
    read_yaml,
    validate_config,
)
from aural.training.data import TrainUtterance, read_sources
from aural.writers import write_atomic

__all__ = [
    "DistillConfig",
    "DistillResult",
    "ModelScore",
    "compression_ratio",
    "load_distill_config",
    "run_distill",
]

logger = logging.getLogger(__name__)

STUDENT_KINDS = ("whisper", "aural")


class TeacherConfig(StrictModel):
    engine: str = "whisper"
    model: str = "base"
    language: str | None = "en"
    beam_size: int = Field(default=5, ge=1)


class LabelFilter(StrictModel):
    min_avg_log_prob: float | None = -1.0
    max_no_speech_prob: float | None = 0.6
    max_compression_ratio: float | None = 2.4
    max_wer: float | None = Field(default=0.10, ge=0.0)  # where references exist


class DistillData(StrictModel):
    unlabelled: list[DataSource] = Field(min_length=1)
    test: list[DataSource] = Field(default_factory=list)
    min_duration: float = Field(default=0.5, ge=0.0)
    max_duration: float = Field(default=30.0, gt=0.0, le=30.0)


class DistillConfig(StrictModel):
    """A distillation recipe (``recipes/distill_*.yaml``). ``student`` is a fine-tuning
    recipe without ``data`` and ``output_dir`` (they come from here)."""

    name: str
    output_dir: str
    teacher: TeacherConfig = TeacherConfig()
    filter: LabelFilter = LabelFilter()
    data: DistillData
    kl_weight: float = Field(default=0.5, ge=0.0)
    kl_temperature: float = Field(default=2.0, gt=0.0)
    dev_fraction: float = Field(default=0.1, ge=0.0, lt=1.0)
    student: dict[str, Any] = Field(default_factory=dict)

    @property
    def student_kind(self) -> str:
        kind = str(self.student.get("kind", "whisper"))
        if kind not in STUDENT_KINDS:
            raise ConfigError(
                f"student.kind: {kind!r} is not one of {', '.join(STUDENT_KINDS)}"
            )
        return kind

    def _student_dict(self) -> dict[str, Any]:
        student = dict(self.student)
        for key in ("data", "output_dir"):
            if key in student:
                raise ConfigError(
                    f"student.{key}: set by the distillation recipe; remove it"
                )
        student.setdefault("name", f"{self.name}-student")
        return student

    def _student_data(self, labels: Path) -> dict[str, Any]:
        return {
            "train": [{"path": str(labels)}],
            "dev_fraction": self.dev_fraction,
            "min_duration": self.data.min_duration,
            "max_duration": self.data.max_duration,
        }

    def aural_student_recipe(self, run_dir: Path, labels: Path) -> TrainConfig:
        """``student.kind: aural``: the ``aural train`` recipe the student trains with
        (``recipe: PATH`` read first, the other keys merged over it)."""
        from aural.training.config import load_config, merge_changes, parse_config

        student = self._student_dict()
        student.pop("kind", None)
        base: dict[str, Any] = {}
        path = student.pop("recipe", None)
        if path is not None:
            base = load_config(Path(str(path)).expanduser()).model_dump(mode="json")
            base.pop("data", None)
        merged = merge_changes(base, student)
        merged["output_dir"] = str(run_dir / "student")
        merged["data"] = self._student_data(labels)
        return parse_config(merged, "student")

    def student_config(
        self, run_dir: Path, labels: Path
    ) -> FinetuneConfig | TrainConfig:
        """The student's recipe: an ``aural finetune`` recipe (``kind: whisper``) or
        an ``aural train`` one (``kind: aural``)."""
        if self.student_kind == "aural":
            return self.aural_student_recipe(run_dir, labels)
        return self.student_recipe(run_dir, labels)

    def student_recipe(self, run_dir: Path, labels: Path) -> FinetuneConfig:
        """``student.kind: whisper``: the fine-tuning recipe of the Whisper student."""
        student = self._student_dict()
        student.setdefault("model", "tiny.en")
        student["kind"] = "whisper"
        student["output_dir"] = str(run_dir / "student")
        student["data"] = self._student_data(labels)
        return parse_finetune_config(student, "student")


def load_distill_config(path: str | Path) -> DistillConfig:
    """Read and validate a YAML distillation recipe. A relative ``student.recipe`` is
    read from the distillation recipe's folder."""
    path = Path(path)
    data = read_yaml(path, "recipe")
    config = validate_config(DistillConfig, data, str(path), "distillation recipe")
    base = config.student.get("recipe")
    if base is not None and not Path(str(base)).expanduser().is_absolute():
        student = {**config.student, "recipe": str(path.parent / str(base))}
        config = config.model_copy(update={"student": student})
    return config


def compression_ratio(text: str) -> float:
    """Whisper's repetition measure: text bytes over their zlib-compressed bytes."""
    data = text.encode("utf-8")
    return len(data) / len(zlib.compress(data)) if data else 0.0


@dataclass(frozen=True, slots=True)
class ModelScore:
    """One model on the test set: corpus WER and real-time factor (engine seconds
    over audio seconds; lower is faster)."""

    label: str
    engine: str
    model: str
    wer: float
    rtf: float


@dataclass(frozen=True, slots=True)
class DistillResult:
    run_dir: Path
    labelled: int
    kept: int
    rejected: dict[str, int]
    kl: bool
    scores: tuple[ModelScore, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_dir": str(self.run_dir),
            "labelled": self.labelled,
            "kept": self.kept,
            "rejected": self.rejected,
            "kl": self.kl,
            "scores": [asdict(s) for s in self.scores],
        }


def _normalizer() -> Callable[[str], str]:
    from aural.text.normalizers import get_normalizer

    return get_normalizer("whisper")


PROGRESS_FILE = "labels.progress.jsonl"


def _label_key(config: DistillConfig) -> dict[str, Any]:
    return {
        "teacher": config.teacher.model_dump(mode="json"),
        "filter": config.filter.model_dump(mode="json"),
    }


def _read_progress(
    path: Path, config: DistillConfig
) -> dict[str, tuple[str | None, dict[str, Any] | None]]:
    """The decisions of an interrupted labelling: id -> (rejection, manifest entry).
    A line cut short by the interruption is dropped (that clip is labelled again)."""
    if not path.is_file():
        return {}
    lines = path.read_text().splitlines()
    try:
        header = json.loads(lines[0]) if lines else None
    except json.JSONDecodeError:
        header = None
    if header != _label_key(config):
        raise ConfigError(
            f"{path} was labelled with another teacher or filter; start the "
            "distillation again (overwrite) or restore the recipe",
            options=("overwrite",),
        )
    done: dict[str, tuple[str | None, dict[str, Any] | None]] = {}
    kept = [lines[0]]
    for line in lines[1:]:
        try:
            row = json.loads(line)
            done[row["id"]] = (row["reason"], row["entry"])
        except (json.JSONDecodeError, KeyError, TypeError):
            continue
        kept.append(line)
    if len(kept) != len(lines) or not path.read_text().endswith("\n"):
        # drop the line the interruption cut short, so appending starts on a new line
        write_atomic(path, "\n".join(kept) + "\n")
    return done


def label(
    config: DistillConfig,
    utts: Sequence[TrainUtterance],
    out: Path,
    progress: Path | None = None,
) -> tuple[int, dict[str, int]]:
    """Transcribe ``utts`` with the teacher, keep the confident ones, write a
    manifest; (kept, rejections by reason).

    With ``progress``, each clip's decision is appended to that file as it is made, and
    the clips it already holds are not labelled again: an interrupted labelling resumes
    where it stopped, and the manifest comes out as if it had not been interrupted.
    """
    from aural.decoding.options import DecodeOptions
    from aural.recognizer import Recognizer
    from aural.training.data import AudioCache

    t = config.teacher
    rec = Recognizer(t.engine, t.model)
    options = DecodeOptions(language=t.language, beam_size=t.beam_size)
    cache = AudioCache(16000)
    norm = _normalizer()
    rejected = {"log_prob": 0, "no_speech": 0, "compression": 0, "wer": 0, "empty": 0}
    lines = []
    done = _read_progress(progress, config) if progress is not None else {}
    log = None
    if progress is not None:
        if not done:
            write_atomic(progress, json.dumps(_label_key(config)) + "\n")
        log = progress.open("a", encoding="utf-8")
    try:
        for utt in utts:
            if utt.id in done:
                reason, entry = done[utt.id]
            else:
                reason, entry = _decide(utt, rec, options, cache, norm, config)
                if log is not None:
                    row = {"id": utt.id, "reason": reason, "entry": entry}
                    log.write(json.dumps(row) + "\n")
                    log.flush()
            if reason is not None:
                rejected[reason] += 1
            elif entry is not None:
                lines.append(json.dumps(entry))
    finally:
        if log is not None:
            log.close()
    write_atomic(out, "\n".join(lines) + ("\n" if lines else ""))
    return len(lines), rejected


def _decide(
    utt: TrainUtterance,
    rec: Any,
    options: Any,
    cache: Any,
    norm: Callable[[str], str],
    config: DistillConfig,
) -> tuple[str | None, dict[str, Any] | None]:
    """The teacher's label for one clip: (rejection reason, None) or (None, entry)."""
    from aural.audio import Waveform
    from aural.evaluation.metrics import corpus_wer

    f = config.filter
    result = rec.transcribe(Waveform(cache.get(utt), 16000), options)
    text = result.text.strip()
    segs = result.segments
    logps = [s.avg_log_prob for s in segs if s.avg_log_prob is not None]
    nospeech = [s.no_speech_prob for s in segs if s.no_speech_prob is not None]
    if not norm(text):
        return "empty", None
    if f.min_avg_log_prob is not None and logps and min(logps) < f.min_avg_log_prob:
        return "log_prob", None
    if (
        f.max_no_speech_prob is not None
        and nospeech
        and max(nospeech) > f.max_no_speech_prob
    ):
        return "no_speech", None
    if (
        f.max_compression_ratio is not None
        and compression_ratio(text) > f.max_compression_ratio
    ):
        return "compression", None
    if (
        f.max_wer is not None
        and utt.text.strip()
        and corpus_wer([norm(utt.text)], [norm(text)]).wer > f.max_wer
    ):
        return "wer", None
    entry: dict[str, Any] = {
        "id": utt.id,
        "audio": str(utt.source.audio),
        "text": text,
        "extra": {"reference": utt.text},
    }
    if utt.source.start is not None:
        entry["start"] = utt.source.start
    if utt.source.end is not None:
        entry["end"] = utt.source.end
    return None, entry


def score(
    label_: str, engine: str, model: str, utts: Sequence[TrainUtterance]
) -> ModelScore:
    from aural.audio import Waveform
    from aural.decoding.options import DecodeOptions
    from aural.evaluation.metrics import corpus_wer
    from aural.recognizer import Recognizer
    from aural.training.data import AudioCache

    rec = Recognizer(engine, model)
    cache = AudioCache(16000)
    norm = _normalizer()
    options = DecodeOptions(language="en", beam_size=5 if engine == "whisper" else 1)
    hyps, seconds, audio = [], 0.0, 0.0
    for utt in utts:
        wave = cache.get(utt)
        started = time.perf_counter()
        hyps.append(rec.transcribe(Waveform(wave, 16000), options).text)
        seconds += time.perf_counter() - started
        audio += len(wave) / 16000
    wer = corpus_wer([norm(u.text) for u in utts], [norm(h) for h in hyps]).wer
    return ModelScore(label_, engine, model, wer, seconds / max(audio, 1e-9))


class _KlWhisperTask:
    """Adds the teacher's token distributions to a :class:`WhisperTask`'s loss."""

    def __init__(self, base: Any, teacher: Any, weight: float, temperature: float):
        self.base = base
        self.teacher = teacher
        self.weight = weight
        self.temperature = temperature

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)

    @property
    def model(self) -> torch.nn.Module:
        module: torch.nn.Module = self.base.model
        return module

    def batch_loss(
        self, utts: Sequence[TrainUtterance], indices: Sequence[int], epoch: int
    ) -> tuple[torch.Tensor, int]:
        b = self.base
        captured: dict[str, torch.Tensor] = {}
        ce, tokens = b.batch_loss(utts, indices, epoch, capture=captured)
        with torch.no_grad():
            waves = [b.audio.clean(utts[i]) for i in indices]
            mels = b._mels(waves).to(next(self.teacher.parameters()).device)
            teacher_logits = self.teacher(
                input_features=mels, decoder_input_ids=captured["inputs"]
            ).logits.float()
        mask = captured["labels"] != -100
        t = self.temperature
        student = torch.log_softmax(captured["logits"][mask] / t, dim=-1)
        target = torch.log_softmax(teacher_logits[mask] / t, dim=-1)
        kl = torch.nn.functional.kl_div(
            student, target, log_target=True, reduction="batchmean"
        )
        return (1 - self.weight) * ce + self.weight * t * t * kl, tokens


def run_distill(
    config: DistillConfig,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    say: Callable[[str], None] | None = None,
) -> DistillResult:
    """Label, filter, train the student and score teacher and student.

    ``resume`` continues an interrupted distillation in ``config.output_dir``: the
    clips already labelled are not labelled again and the student continues from its
    newest checkpoint.

    Raises:
        ConfigError, ModelNotFoundError, DatasetError: bad recipe, model or data.
    """
    from aural.finetune.loop import FinetuneLoop, check_run_dir, latest_checkpoint
    from aural.finetune.whisper import WhisperTask, load_whisper
    from aural.training.checkpoint import find_latest

    say = say or (lambda line: logger.info("%s", line))
    run_dir = Path(config.output_dir).expanduser()
    if resume:
        if not (run_dir / PROGRESS_FILE).is_file():
            raise ConfigError(
                f"resume: {run_dir} holds no distillation to continue",
                options=("resume",),
            )
    else:
        check_run_dir(run_dir, resume=False, overwrite=overwrite)
    run_dir.mkdir(parents=True, exist_ok=True)
    student_dir = run_dir / "student"
    labels = run_dir / "labels.jsonl"
    # the student's recipe is checked before the teacher spends its time labelling
    if config.student_kind == "aural":
        aural_recipe = config.aural_student_recipe(run_dir, labels)
    else:
        recipe = config.student_recipe(run_dir, labels)
    d = config.data
    audio = read_sources(d.unlabelled, d.min_duration, d.max_duration)
    test = read_sources(d.test, d.min_duration, d.max_duration) if d.test else []
    say(
        f"teacher {config.teacher.engine}:{config.teacher.model} labels "
        f"{len(audio)} clips"
    )
    kept, rejected = label(config, audio, labels, run_dir / PROGRESS_FILE)
    say(f"kept {kept} of {len(audio)} labels (rejected: {rejected})")
    if kept == 0:
        raise ConfigError(
            "the teacher's labels were all rejected; loosen filter.* or check the "
            "teacher and the audio"
        )
    if config.student_kind == "aural":
        return _finish(
            config,
            run_dir,
            len(audio),
            kept,
            rejected,
            test,
            _aural_student(
                aural_recipe, test, say, resume=find_latest(student_dir) is not None
            ),
            say,
        )
    teacher_net = None
    if config.teacher.engine == "whisper" and config.kl_weight > 0:
        teacher_net, _, _ = load_whisper(config.teacher.model)
    use_kl = False

    def factory(cfg: FinetuneConfig, device: torch.device, out: Path) -> Any:
        nonlocal use_kl
        task = WhisperTask(cfg, device, out)
        if teacher_net is not None:
            if teacher_net.config.vocab_size == task.whisper.config.vocab_size:
                use_kl = True
                teacher = teacher_net.to(device).eval()
                return _KlWhisperTask(
                    task, teacher, config.kl_weight, config.kl_temperature
                )
            say(
                "teacher and student vocabularies differ "
                f"({teacher_net.config.vocab_size} vs "
                f"{task.whisper.config.vocab_size}): no logit-level KL, labels only"
            )
        return task

    again = latest_checkpoint(student_dir) is not None
    if again:
        say(f"the student continues from its checkpoint in {student_dir}")
    loop = FinetuneLoop(
        recipe, factory, resume=again, overwrite=not again, progress=progress, say=say
    )
    loop.run()
    scores: list[ModelScore] = []
    if test:
        say(f"scoring the student on {len(test)} test clips ...")
        source = loop.task.source_for_engine
        if source is not None:
            scores.append(score("student before", "whisper", source, test))
        scores.append(score("student after", "whisper", str(recipe.output_dir), test))
    return _finish(
        config, run_dir, len(audio), kept, rejected, test, scores, say, use_kl
    )


def _aural_student(
    recipe: TrainConfig,
    test: Sequence[TrainUtterance],
    say: Callable[[str], None],
    resume: bool,
) -> list[ModelScore]:
    """Train aural's own model on the labels (continuing its newest checkpoint with
    ``resume``); its score on ``test``."""
    import shutil

    from aural.training import train

    if resume:
        say(f"the student continues from its checkpoint in {recipe.output_dir}")
    else:
        shutil.rmtree(recipe.output_dir, ignore_errors=True)
    say(f"training the aural student ({recipe.model.type}) on the kept labels ...")
    train(recipe, resume=resume)
    if not test:
        return []
    return [score("student after", "aural", str(recipe.output_dir), test)]


def _finish(
    config: DistillConfig,
    run_dir: Path,
    labelled: int,
    kept: int,
    rejected: dict[str, int],
    test: Sequence[TrainUtterance],
    student_scores: list[ModelScore],
    say: Callable[[str], None],
    use_kl: bool = False,
) -> DistillResult:
    """Score the teacher beside the student's scores; write ``RUN/distill.json``."""
    scores: list[ModelScore] = []
    if test:
        t = config.teacher
        say(f"scoring the teacher on {len(test)} test clips ...")
        scores.append(score("teacher", t.engine, t.model, test))
    scores.extend(student_scores)
    result = DistillResult(run_dir, labelled, kept, rejected, use_kl, tuple(scores))
    write_atomic(
        run_dir / "distill.json",
        json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n",
    )
    return result
