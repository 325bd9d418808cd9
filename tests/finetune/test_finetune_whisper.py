"""Whisper fine-tuning on real clips: the loss falls, resume is exact, the export loads
in the whisper engine, and a merged LoRA model decodes like the unmerged one."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.finetune.conftest import losses, recipe

pytest.importorskip("peft")
torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def full_run(
    shared_data: Path, tiny_whisper_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """4 uninterrupted steps of full fine-tuning (checkpoints at 2 and 4), exported."""
    from aural.finetune import run_finetune

    out = tmp_path_factory.mktemp("ft") / "full"
    run_finetune(
        recipe(shared_data, tiny_whisper_dir, out, whisper={"method": "full"}),
        progress=False,
    )
    return out


@pytest.mark.slow
def test_loss_falls_and_run_folder_is_complete(full_run: Path) -> None:
    record = losses(full_run)
    assert sorted(record) == [1, 2, 3, 4]
    assert record[4] < record[1] - 0.5, record
    for name in ("model.bin", "config.json", "tokenizer.json", "recipe.yaml"):
        assert (full_run / name).is_file(), name
    assert (full_run / "best" / "model.safetensors").is_file()
    assert (full_run / "result.json").is_file()


@pytest.mark.slow
def test_resume_is_exact(
    full_run: Path, shared_data: Path, tiny_whisper_dir: Path, tmp_path: Path
) -> None:
    from aural.finetune import run_finetune

    out = tmp_path / "resumed"
    cfg = recipe(shared_data, tiny_whisper_dir, out, whisper={"method": "full"})
    run_finetune(cfg.with_changes({"training": {"max_steps": 2}}), progress=False)
    run_finetune(cfg, resume=True, progress=False)
    assert losses(out) == pytest.approx(losses(full_run), rel=1e-5)
    a = torch.load(full_run / "checkpoints" / "step_0000004" / "trainable.pt")
    b = torch.load(out / "checkpoints" / "step_0000004" / "trainable.pt")
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_export_loads_in_the_whisper_engine(full_run: Path, shared_data: Path) -> None:
    from aural import Recognizer
    from aural.decoding.options import DecodeOptions

    clip = shared_data / "LibriSpeech" / "dev-clean" / "3752" / "4944"
    rec = Recognizer("whisper", str(full_run))
    result = rec.transcribe(
        clip / "3752-4944-0000.flac", DecodeOptions(beam_size=1, temperature=0.0)
    )
    assert result.info.engine == "whisper"
    assert Path(result.info.model).resolve() == full_run.resolve()
    assert result.info.duration == pytest.approx(3.335, abs=0.01)
    assert isinstance(result.text, str)


def test_refuses_to_overwrite_a_run(
    full_run: Path, shared_data: Path, tiny_whisper_dir: Path
) -> None:
    from aural.errors import ConfigError
    from aural.finetune import run_finetune

    with pytest.raises(ConfigError, match="resume"):
        run_finetune(recipe(shared_data, tiny_whisper_dir, full_run), progress=False)


@pytest.mark.slow
def test_lora_merged_decodes_like_unmerged(
    shared_data: Path, tiny_whisper_dir: Path, tmp_path: Path
) -> None:
    from aural.audio import load
    from aural.finetune.whisper import WhisperTask

    cfg = recipe(
        shared_data,
        tiny_whisper_dir,
        tmp_path / "lora",
        whisper={"method": "lora", "lora_rank": 4},
    )
    task = WhisperTask(cfg, torch.device("cpu"), tmp_path)
    trainable = [n for n, p in task.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    torch.manual_seed(1)
    with torch.no_grad():  # lora_B starts at zero: give the adapters an effect
        for name, p in task.model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.5)
    task.model.eval()
    wave = load(
        shared_data
        / "LibriSpeech"
        / "dev-clean"
        / "3752"
        / "4944"
        / "3752-4944-0002.flac",
        sample_rate=16000,
    ).samples
    mels = task._mels([wave])
    tokens = torch.tensor([task.decode_prefix + [220, 383, 290]])
    merged = task.merged().eval()
    with torch.no_grad():
        plain = task.whisper(input_features=mels, decoder_input_ids=tokens).logits
        base = task.peft_model.get_base_model()
        with task.peft_model.disable_adapter():
            off = base(input_features=mels, decoder_input_ids=tokens).logits
        fused = merged(input_features=mels, decoder_input_ids=tokens).logits
    assert (plain - off).abs().max() > 1e-2  # the adapters change the output
    torch.testing.assert_close(fused, plain, rtol=1e-4, atol=1e-4)
    unmerged_ids = task.greedy([wave])
    task.whisper = merged  # decode with the merged weights through the same code
    assert task.greedy([wave]) == unmerged_ids


def test_labels_use_whisper_special_tokens(
    shared_data: Path, tiny_whisper_dir: Path, tmp_path: Path
) -> None:
    from aural.finetune.whisper import WhisperTask
    from aural.training.data import TrainUtterance

    cfg = recipe(
        shared_data,
        tiny_whisper_dir,
        tmp_path / "x",
        whisper={"method": "full", "timestamps": True},
    )
    task = WhisperTask(cfg, torch.device("cpu"), tmp_path)
    utt = TrainUtterance("a", None, "HELLO I AM HERE", 2.0)  # type: ignore[arg-type]
    tokens, skip = task.sequence(utt, prompt="BEFORE THAT")
    # timestamp tokens are ids past the tokenizer's vocabulary: <|0.00|> ... <|2.00|>
    sot = tokens.index(task.sot)
    assert tokens[sot + 1] == task.timestamp_begin
    assert tokens[-2:] == [task.timestamp_begin + 100, task.eot]
    decode = task.tokenizer.decode
    assert decode(tokens[:sot], skip_special_tokens=False) == (
        "<|startofprev|> Before that"
    )
    assert decode(tokens[sot + 2 : -2]) == " Hello I am here"
    assert skip == sot + 1  # the loss starts after <|startoftranscript|>


def _noise(shared_data: Path, low: float, high: float) -> dict[str, object]:
    """The augment section that mixes a shared noise into every clip at low-high dB."""
    folder = str(shared_data / "noise")
    return {
        "noise": {
            "enabled": True,
            "directory": folder,
            "probability": 1.0,
            "snr_db": [low, high],
        }
    }


def test_clean_teacher_is_zero_on_clean_audio_and_positive_on_noise(
    shared_data: Path, tiny_whisper_dir: Path, tmp_path: Path
) -> None:
    """The clean-teacher loss compares the trained encoder on the augmented clip with
    the pretrained encoder on the clean one: nothing to learn before training on clean
    audio, something to learn once noise is mixed in."""
    from aural.finetune.loop import read_data
    from aural.finetune.whisper import WhisperTask

    whisper = {"method": "full", "freeze_decoder": True, "clean_teacher_weight": 1.0}
    clean_cfg = recipe(shared_data, tiny_whisper_dir, tmp_path / "c", whisper=whisper)
    noisy_cfg = recipe(
        shared_data,
        tiny_whisper_dir,
        tmp_path / "n",
        whisper=whisper,
        augment=_noise(shared_data, 0.0, 0.0),
    )
    losses_seen = []
    for cfg in (clean_cfg, noisy_cfg):
        task = WhisperTask(cfg, torch.device("cpu"), tmp_path)
        train, _ = read_data(cfg)
        task.prepare(train)
        states = task._encode_audio(train, [0, 1], epoch=0)
        loss = task._clean_teacher_loss(train, [0, 1], states)
        assert loss is not None
        losses_seen.append(float(loss.detach()))
    assert losses_seen[0] < 1e-6, losses_seen
    # a random tiny encoder moves little, but far more than not at all
    assert losses_seen[1] > 1e-5 and losses_seen[1] > 100 * losses_seen[0], losses_seen


@pytest.mark.slow
def test_clean_teacher_run_trains_the_encoder_only(
    shared_data: Path, tiny_whisper_dir: Path, tmp_path: Path
) -> None:
    from aural.finetune import run_finetune

    out = tmp_path / "teacher"
    cfg = recipe(
        shared_data,
        tiny_whisper_dir,
        out,
        whisper={"method": "full", "freeze_decoder": True, "clean_teacher_weight": 1.0},
        augment=_noise(shared_data, 5.0, 10.0),
    )
    run_finetune(cfg, progress=False)
    record = losses(out)
    assert record[4] < record[1], record
    state = torch.load(out / "checkpoints" / "step_0000004" / "trainable.pt")
    assert state and all(".encoder." in name for name in state), sorted(state)


@pytest.mark.parametrize(
    "whisper",
    [
        {"freeze_encoder": True, "freeze_decoder": True},
        {"freeze_encoder": True, "clean_teacher_weight": 1.0},
        {"trainable_encoder_layers": 0, "clean_teacher_weight": 0.5},
    ],
)
def test_recipes_that_cannot_train_are_refused(
    shared_data: Path,
    tiny_whisper_dir: Path,
    tmp_path: Path,
    whisper: dict[str, object],
) -> None:
    from aural.errors import ConfigError

    with pytest.raises(ConfigError, match="whisper"):
        recipe(shared_data, tiny_whisper_dir, tmp_path / "x", whisper=whisper)
