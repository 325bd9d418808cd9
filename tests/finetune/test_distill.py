"""`aural distill` on real clips: tiny.en labels them, confident labels within 10 % WER
of the references are kept, a tiny random student with the same vocabulary learns with
logit-level KL, and teacher and student are scored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")


def _tiny_teacher(
    shared_data: Path, tmp_path: Path, unlabelled: str, test: str | None, **extra: Any
) -> Any:
    """A distillation recipe: tiny.en (greedy) labels the dev-clean clips whose ids
    match ``unlabelled``; ``test`` picks the scored clips; ``extra`` adds keys."""
    from aural.finetune import DistillConfig

    clips = str(shared_data / "LibriSpeech" / "dev-clean")
    data: dict[str, Any] = {"unlabelled": [{"path": clips, "id_pattern": unlabelled}]}
    if test is not None:
        data["test"] = [{"path": clips, "id_pattern": test}]
    return DistillConfig.model_validate(
        {
            "name": "t",
            "output_dir": str(tmp_path / "run"),
            "teacher": {"engine": "whisper", "model": "tiny.en", "beam_size": 1},
            "data": data,
            **extra,
        }
    )


@pytest.mark.slow
def test_distill_labels_filters_trains_and_scores(
    shared_data: Path, tiny_whisper_dir: Path, tmp_path: Path
) -> None:
    from tests.finetune.conftest import losses

    from aural.finetune import run_distill

    config = _tiny_teacher(
        shared_data,
        tmp_path,
        r"3752-4944-000[02]",
        r"3752-4944-0000",
        filter={"max_wer": 0.10},
        dev_fraction=0.0,
        student={
            "model": str(tiny_whisper_dir),
            "whisper": {"method": "full"},
            "optim": {"lr": 2e-3, "warmup_steps": 0, "schedule": "constant"},
            "training": {
                "max_steps": 2,
                "max_batch_size": 2,
                "eval_at_start": False,
                "final_engine_eval": False,
                "log_every": 1,
            },
            "tracking": {"mlflow": False},
        },
    )
    result = run_distill(config, progress=False)
    assert result.labelled == 2
    assert result.kept + sum(result.rejected.values()) == 2
    assert result.kept >= 1  # tiny.en is within 10 % on these clean clips
    assert result.kl  # teacher and student share tiny.en's vocabulary
    labels = [
        json.loads(line)
        for line in (tmp_path / "run" / "labels.jsonl").read_text().splitlines()
    ]
    assert len(labels) == result.kept
    assert all(x["text"] and x["extra"]["reference"] for x in labels)
    assert sorted(losses(tmp_path / "run" / "student")) == [1, 2]
    assert [s.label for s in result.scores] == ["teacher", "student after"]
    teacher = result.scores[0]
    assert teacher.wer < 0.5 and teacher.rtf > 0  # tiny.en on clean read speech
    assert (tmp_path / "run" / "student" / "model.bin").is_file()
    saved = json.loads((tmp_path / "run" / "distill.json").read_text())
    assert saved["kept"] == result.kept


def test_compression_ratio_flags_repetition() -> None:
    from aural.finetune.distill import compression_ratio

    assert compression_ratio("the cat sat on the mat") < 1.5
    assert compression_ratio("the the the the " * 20) > 2.4


@pytest.mark.slow
def test_distill_into_an_aural_ctc_student(shared_data: Path, tmp_path: Path) -> None:
    """``student.kind: aural``: tiny.en labels real clips and aural's own
    Conformer-CTC (an ``aural train`` recipe read from recipes/ with changes) trains on
    the kept labels and is scored through the ``aural`` engine beside the teacher."""
    from aural.finetune import run_distill
    from aural.recognizer import Recognizer

    repo = Path(__file__).resolve().parents[2]
    config = _tiny_teacher(
        shared_data,
        tmp_path,
        r"3752-4944-000[02]",
        r"3752-4944-0000",
        dev_fraction=0.0,
        student={
            "kind": "aural",
            "recipe": str(repo / "recipes" / "overfit_tiny.yaml"),
            "training": {"max_steps": 3, "eval_every": 3, "checkpoint_every": 3},
        },
    )
    result = run_distill(config, progress=False)
    assert result.kept >= 1 and not result.kl  # characters vs Whisper tokens
    assert [(s.label, s.engine) for s in result.scores] == [
        ("teacher", "whisper"),
        ("student after", "aural"),
    ]
    student = tmp_path / "run" / "student"
    recipe = (student / "config.yaml").read_text()
    assert "labels.jsonl" in recipe and "max_steps: 3" in recipe
    assert "fsdd" not in recipe  # the base recipe's data was replaced by the labels
    text = (
        Recognizer("aural", str(student))
        .transcribe(
            str(
                shared_data
                / "LibriSpeech"
                / "dev-clean"
                / "3752"
                / "4944"
                / "3752-4944-0000.flac"
            )
        )
        .text
    )
    assert isinstance(text, str)  # three steps teach nothing; it loads and decodes


def test_distill_refuses_an_unknown_student_kind_before_labelling(
    tmp_path: Path,
) -> None:
    from aural.errors import ConfigError
    from aural.finetune import DistillConfig, run_distill

    config = DistillConfig.model_validate(
        {
            "name": "t",
            "output_dir": str(tmp_path / "run"),
            "data": {"unlabelled": [{"path": str(tmp_path / "missing")}]},
            "student": {"kind": "wav2vec2"},
        }
    )
    with pytest.raises(ConfigError, match="student.kind"):
        run_distill(config, progress=False)
    assert not (tmp_path / "run" / "labels.jsonl").exists()


@pytest.mark.slow
def test_interrupted_labelling_resumes_without_labelling_again(
    shared_data: Path, tmp_path: Path
) -> None:
    """The progress file holds the decisions made before an interruption (here one
    rejection the real teacher would not make, and a line cut short): the resumed
    labelling keeps those decisions, labels only the rest and writes the manifest."""
    from aural.errors import ConfigError
    from aural.finetune.distill import PROGRESS_FILE, _label_key, label
    from aural.training.data import read_sources

    config = _tiny_teacher(shared_data, tmp_path, r"3752-4944-000[012]", None)
    utts = read_sources(config.data.unlabelled, 0.5, 30.0)
    assert [u.id for u in utts] == [f"3752-4944-000{i}" for i in range(3)]
    progress = tmp_path / PROGRESS_FILE
    decided = {"id": utts[0].id, "reason": "wer", "entry": None}
    progress.write_text(
        json.dumps(_label_key(config))
        + "\n"
        + json.dumps(decided)
        + "\n"
        + '{"id": "3752-4944-0001", "rea'  # the interruption cut this line short
    )
    out = tmp_path / "labels.jsonl"
    kept, rejected = label(config, utts, out, progress)
    assert rejected["wer"] >= 1  # the recorded decision stands: not labelled again
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert utts[0].id not in ids
    assert kept == len(ids) == 3 - sum(rejected.values())
    rows = [json.loads(line) for line in progress.read_text().splitlines()[1:]]
    assert [r["id"] for r in rows] == [u.id for u in utts]  # the cut line replaced
    # labelling again with everything decided reads every decision and adds none
    size = progress.stat().st_size
    assert label(config, utts, out, progress) == (kept, rejected)
    assert progress.stat().st_size == size
    # another teacher: the decisions do not apply
    other = config.model_copy(
        update={"teacher": config.teacher.model_copy(update={"beam_size": 5})}
    )
    with pytest.raises(ConfigError, match="another teacher or filter"):
        label(other, utts, out, progress)


def test_distill_resume_needs_a_started_run(tmp_path: Path) -> None:
    from aural.errors import ConfigError
    from aural.finetune import DistillConfig, run_distill

    config = DistillConfig.model_validate(
        {
            "name": "t",
            "output_dir": str(tmp_path / "run"),
            "data": {"unlabelled": [{"path": str(tmp_path)}]},
        }
    )
    with pytest.raises(ConfigError, match="no distillation to continue"):
        run_distill(config, resume=True, progress=False)
