"""Hugging Face CTC fine-tuning on real clips (a tiny random wav2vec2 the tests make):
the loss falls, resume is exact, a built vocabulary replaces the head, and the run
folder loads in the ctc engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.finetune.conftest import losses, recipe

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def ctc_run(
    shared_data: Path, tiny_ctc_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    from aural.finetune import run_finetune

    out = tmp_path_factory.mktemp("ctc") / "run"
    cfg = recipe(
        shared_data,
        tiny_ctc_dir,
        out,
        kind="ctc",
        steps=6,
        ctc={"vocabulary": "build"},
        optim={"lr": 3e-3},
    )
    run_finetune(cfg, progress=False)
    return out


def test_loss_falls_and_vocabulary_is_built(ctc_run: Path, shared_data: Path) -> None:
    record = losses(ctc_run)
    assert sorted(record) == [1, 2, 3, 4, 5, 6]
    assert record[6] < record[1], record
    vocab = json.loads((ctc_run / "vocab.json").read_text())
    text = (shared_data / "LibriSpeech" / "dev-clean" / "3752" / "4944").glob(
        "*.trans.txt"
    )
    letters = {
        c
        for line in next(text).read_text().splitlines()
        if line.split(" ", 1)[0] in ("3752-4944-0000", "3752-4944-0002")
        for c in line.split(" ", 1)[1]
        if c != " "
    }
    assert set(vocab) == {"<pad>", "<s>", "</s>", "<unk>", "|"} | letters
    config = json.loads((ctc_run / "config.json").read_text())
    assert config["vocab_size"] == len(vocab)


def test_resume_is_exact(
    ctc_run: Path, shared_data: Path, tiny_ctc_dir: Path, tmp_path: Path
) -> None:
    from aural.finetune import run_finetune

    cfg = recipe(
        shared_data,
        tiny_ctc_dir,
        tmp_path / "run",
        kind="ctc",
        steps=6,
        ctc={"vocabulary": "build"},
        optim={"lr": 3e-3},
    )
    run_finetune(cfg.with_changes({"training": {"max_steps": 4}}), progress=False)
    run_finetune(cfg, resume=True, progress=False)
    assert losses(tmp_path / "run") == pytest.approx(losses(ctc_run), rel=1e-5)
    a = torch.load(ctc_run / "checkpoints" / "step_0000006" / "trainable.pt")
    b = torch.load(tmp_path / "run" / "checkpoints" / "step_0000006" / "trainable.pt")
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6)


def test_feature_encoder_is_frozen(ctc_run: Path, tiny_ctc_dir: Path) -> None:
    from safetensors.torch import load_file

    before = load_file(tiny_ctc_dir / "model.safetensors")
    after = load_file(ctc_run / "model.safetensors")
    conv = [k for k in before if "feature_extractor" in k]
    assert conv
    for k in conv:
        torch.testing.assert_close(after[k], before[k])
    moved = [k for k in before if "encoder.layers" in k and k in after]
    assert any(not torch.equal(after[k], before[k]) for k in moved)


def test_run_folder_loads_in_the_ctc_engine(ctc_run: Path, shared_data: Path) -> None:
    from aural import Recognizer
    from aural.decoding.options import DecodeOptions

    clip = shared_data / "LibriSpeech" / "dev-clean" / "3752" / "4944"
    result = Recognizer("ctc", str(ctc_run)).transcribe(
        clip / "3752-4944-0000.flac", DecodeOptions(beam_size=1)
    )
    assert result.info.engine == "ctc"
    assert result.info.duration == pytest.approx(3.335, abs=0.01)
    vocab = set(json.loads((ctc_run / "vocab.json").read_text()))
    assert set(result.text.replace(" ", "")) <= vocab
