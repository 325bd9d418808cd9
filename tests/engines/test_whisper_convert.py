"""CTranslate2 <-> Hugging Face Whisper conversion (issue 18, item 1).

Real models, nothing mocked: a tiny randomly initialised transformers Whisper that the
tests create (fast), and the real tiny.en and base CTranslate2 folders (slow).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
ctranslate2 = pytest.importorskip("ctranslate2")
safetensors_torch = pytest.importorskip("safetensors.torch")

from tests.engines.tiny_whisper import tiny_whisper  # noqa: E402

from aural.engines.whisper import resolve_whisper_model  # noqa: E402
from aural.engines.whisper.convert import (  # noqa: E402
    clear_torch_cache,
    convert_model,
    ct2_to_hf_state,
    dequantize,
    read_model_bin,
    torch_whisper,
)
from aural.errors import ConfigError, ModelNotFoundError  # noqa: E402

LOG_PROB_TOLERANCE = 1e-3  # max |log p| difference, PyTorch vs CTranslate2 float32


@pytest.fixture(scope="module")
def tiny_en() -> Path:
    try:
        return resolve_whisper_model("tiny.en", local_files_only=True)
    except ModelNotFoundError as err:
        pytest.skip(f"tiny.en is not installed: {err}")


@pytest.fixture(scope="module")
def random_hf(tmp_path_factory: pytest.TempPathFactory, tiny_en: Path) -> Path:
    """A seeded random Whisper (d_model 64, 2+2 layers, 4 heads) with tiny.en's
    tokenizer, saved as a Hugging Face folder."""
    tokenizer = transformers.WhisperTokenizer(
        tokenizer_file=str(tiny_en / "tokenizer.json")
    )
    model = tiny_whisper(0, vary_biases=True)
    folder = tmp_path_factory.mktemp("random") / "hf"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    transformers.WhisperFeatureExtractor(feature_size=80).save_pretrained(folder)
    return folder


def hf_tensors(folder: Path) -> dict[str, torch.Tensor]:
    return safetensors_torch.load_file(str(folder / "model.safetensors"))


# --------------------------------------------------------------- reading model.bin


def test_read_model_bin_tiny_en_layout(tiny_en: Path) -> None:
    model = read_model_bin(tiny_en)
    assert (model.spec, model.binary_version) == ("WhisperSpec", 6)
    assert model.dtypes["encoder/conv1/weight"] == "float16"
    assert model.variables["encoder/conv1/weight"].shape == (384, 80, 3)
    assert model.aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    assert int(model.variables["encoder/num_heads"]) == 6
    weights = dequantize(model)
    assert weights["decoder/embeddings/weight"].dtype == np.float32
    assert weights["decoder/projection/weight"] is weights["decoder/embeddings/weight"]


def test_read_model_bin_truncated_file_is_a_clear_error(
    tiny_en: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "model.bin"
    broken.write_bytes((tiny_en / "model.bin").read_bytes()[:100_000])
    with pytest.raises(ModelNotFoundError, match="truncated"):
        read_model_bin(broken)
    broken.write_bytes(b"\x63\x00\x00\x00rest")
    with pytest.raises(ModelNotFoundError, match="binary version 99"):
        read_model_bin(broken)


def test_ct2_to_hf_state_unfuses_attention(tiny_en: Path) -> None:
    config, state = ct2_to_hf_state(tiny_en)
    assert (config.d_model, config.encoder_attention_heads) == (384, 6)
    assert (config.encoder_layers, config.decoder_layers) == (4, 4)
    assert (config.num_mel_bins, config.vocab_size) == (80, 51864)
    assert config.tie_word_embeddings
    assert state["proj_out.weight"] is state["model.decoder.embed_tokens.weight"]
    stored = dequantize(read_model_bin(tiny_en))
    fused = stored["decoder/layer_1/self_attention/linear_0/weight"]
    q, k, v = (
        state[f"model.decoder.layers.1.self_attn.{n}_proj.weight"].numpy()
        for n in "qkv"
    )
    np.testing.assert_array_equal(np.concatenate([q, k, v]), fused)
    cross_kv = stored["decoder/layer_0/attention/linear_1/bias"]
    np.testing.assert_array_equal(cross_kv[:384], 0)  # the k bias CTranslate2 stores
    assert "model.decoder.layers.0.encoder_attn.k_proj.bias" not in state
    np.testing.assert_array_equal(
        state["model.decoder.layers.0.encoder_attn.v_proj.bias"].numpy(),
        cross_kv[384:],
    )
    with torch.device("meta"):
        model = transformers.WhisperForConditionalGeneration(config)
    model.load_state_dict(state, strict=True, assign=True)  # all of them, no extra


# ------------------------------------------------------------- tiny random model


def test_convert_random_hf_ct2_hf_float32_is_bit_exact(
    random_hf: Path, tmp_path: Path
) -> None:
    ct2 = convert_model(random_hf, "ct2", tmp_path / "ct2", quantization="float32")
    assert {"model.bin", "tokenizer.json", "preprocessor_config.json"} <= {
        p.name for p in ct2.iterdir()
    }
    back = convert_model(ct2, "hf", tmp_path / "hf")
    before, after = hf_tensors(random_hf), hf_tensors(back)
    assert before.keys() == after.keys()
    for name, tensor in before.items():
        assert after[name].dtype == torch.float32, name
        assert torch.equal(tensor, after[name]), name
    processor = transformers.WhisperProcessor.from_pretrained(back)
    assert processor.feature_extractor.feature_size == 80
    text = " Hello, world."
    ids = processor.tokenizer.encode(text, add_special_tokens=False)
    assert processor.tokenizer.decode(ids) == text


@pytest.mark.parametrize("quantization", ["int8", "float16"])
def test_convert_random_hf_round_trip_is_close(
    random_hf: Path, tmp_path: Path, quantization: str
) -> None:
    ct2 = convert_model(random_hf, "ct2", tmp_path / "ct2", quantization=quantization)
    dtypes = read_model_bin(ct2).dtypes
    assert dtypes["encoder/layer_0/ffn/linear_0/weight"] == quantization
    # CTranslate2 runs convolutions in float on a CPU: they stay float on disk
    assert dtypes["encoder/conv2/weight"] == (
        "float32" if quantization == "int8" else quantization
    )
    after = hf_tensors(convert_model(ct2, "hf", tmp_path / "hf"))
    for name, tensor in hf_tensors(random_hf).items():
        if (
            quantization == "int8"
            and tensor.ndim >= 2
            and "embed_positions" not in name
        ):
            # half a step of the row's scale: max|row| / 127 / 2
            rows = tensor.reshape(tensor.shape[0], -1)
            bound = rows.abs().amax(dim=1, keepdim=True) / 254 * (1 + 1e-5)
            error = (after[name].reshape(rows.shape) - rows).abs()
            assert bool((error <= bound + 1e-7).all()), name
        else:  # float16 storage: relative 2^-11 (normal range)
            torch.testing.assert_close(after[name], tensor, rtol=2**-11, atol=1e-7)


def test_convert_hf_to_hf_float16_and_back_to_float32(
    random_hf: Path, tmp_path: Path
) -> None:
    half = convert_model(random_hf, "hf", tmp_path / "f16", quantization="float16")
    stored = hf_tensors(half)
    assert {t.dtype for t in stored.values()} == {torch.float16}
    assert (half / "tokenizer.json").read_bytes() == (
        random_hf / "tokenizer.json"
    ).read_bytes()
    model = torch_whisper(half)
    assert {p.dtype for p in model.parameters()} == {torch.float32}
    for name, tensor in hf_tensors(random_hf).items():
        assert torch.equal(model.state_dict()[name], tensor.half().float()), name


def test_convert_transformers_processor_folder_to_ct2(
    random_hf: Path, tmp_path: Path
) -> None:
    """A folder saved by ``WhisperProcessor.save_pretrained`` (transformers 5 keeps
    the feature extractor in processor_config.json) still gives faster-whisper its
    preprocessor_config.json; a folder without tokenizer.json is refused."""
    source = tmp_path / "hf"
    model = transformers.WhisperForConditionalGeneration.from_pretrained(random_hf)
    model.save_pretrained(source)
    with pytest.raises(ModelNotFoundError, match="no tokenizer.json"):
        convert_model(source, "ct2", tmp_path / "ct2")
    transformers.WhisperProcessor(
        feature_extractor=transformers.WhisperFeatureExtractor(feature_size=80),
        tokenizer=transformers.WhisperTokenizer.from_pretrained(random_hf),
    ).save_pretrained(source)
    assert not (source / "preprocessor_config.json").exists()
    ct2 = convert_model(source, "ct2", tmp_path / "ct2")
    extractor = json.loads((ct2 / "preprocessor_config.json").read_text())
    assert extractor["feature_size"] == 80
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ct2", "hf"]


@pytest.mark.parametrize(
    ("quantization", "stored", "rtol"),
    [
        ("bfloat16", "bfloat16", 2**-8),
        ("int16", "int16", 2**-9),
        ("int8_float16", "int8", 2**-7),
    ],
)
def test_dequantize_other_ct2_types(
    random_hf: Path, tmp_path: Path, quantization: str, stored: str, rtol: float
) -> None:
    """Types convert_model does not write but CTranslate2 folders may hold."""
    from ctranslate2.converters import TransformersConverter

    out = tmp_path / quantization
    TransformersConverter(str(random_hf)).convert(str(out), quantization=quantization)
    model = read_model_bin(out)
    assert model.dtypes["decoder/layer_1/ffn/linear_1/weight"] == stored
    _, state = ct2_to_hf_state(out)
    for name, tensor in hf_tensors(random_hf).items():
        # relative to the tensor's largest value: int scales are per row or tensor
        error = (state[name] - tensor).abs().max()
        assert float(error) <= rtol * float(tensor.abs().max()) + 1e-7, name


def test_torch_whisper_loads_once_per_folder_and_attention(random_hf: Path) -> None:
    clear_torch_cache()
    found: list[object] = []
    threads = [
        threading.Thread(target=lambda: found.append(torch_whisper(random_hf)))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(found) == 3 and all(m is found[0] for m in found)
    model = found[0]
    assert not model.training  # type: ignore[attr-defined]
    eager = torch_whisper(str(random_hf), attn_implementation="eager")
    assert eager is not model and eager.config._attn_implementation == "eager"
    with pytest.raises(ConfigError, match="attn_implementation='flash'"):
        torch_whisper(random_hf, attn_implementation="flash")


# ------------------------------------------------------------------------- errors


def test_convert_model_refuses_bad_arguments(tiny_en: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ModelNotFoundError, match="no-such-folder: no such model"):
        convert_model(tmp_path / "no-such-folder", "hf", out)
    with pytest.raises(ConfigError, match="to='onnx'") as err:
        convert_model(tiny_en, "onnx", out)  # type: ignore[arg-type]
    assert err.value.options == ("to",)
    with pytest.raises(ConfigError, match="int8 is for CTranslate2"):
        convert_model(tiny_en, "hf", out, quantization="int8")
    with pytest.raises(ConfigError, match="holds the source model"):
        convert_model(tiny_en, "hf", tiny_en.parent, overwrite=True)
    not_whisper = tmp_path / "bert"
    not_whisper.mkdir()
    (not_whisper / "config.json").write_text('{"model_type": "bert"}')
    (not_whisper / "model.safetensors").write_bytes(b"")
    with pytest.raises(ModelNotFoundError, match="bert model, not Whisper"):
        convert_model(not_whisper, "ct2", out)
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "is_path"),
    [
        ("Systran/faster-whisper-small", False),  # a hub id
        ("small", False),
        ("/abs/missing", True),
        ("./rel", True),
        ("~/models/x", True),
        ("a/b/c", True),
        ("owner/", True),
        ("C:\\models\\x", True),
    ],
)
def test_missing_source_path_or_model_name(text: str, is_path: bool) -> None:
    from aural.engines.whisper.convert import _looks_like_path

    assert _looks_like_path(text, given_as_path=False) == is_path


def test_convert_model_keeps_existing_output_and_leaves_nothing_on_failure(
    tiny_en: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="exists and is not empty") as err:
        convert_model(tiny_en, "hf", out)
    assert err.value.options == ("overwrite",)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    # a CTranslate2 folder without tokenizer.json fails after the weights are written
    partial = tmp_path / "no-tokenizer"
    partial.mkdir()
    for name in ("model.bin", "config.json", "vocabulary.txt"):
        (partial / name).symlink_to(tiny_en / name)
    with pytest.raises(ModelNotFoundError, match="no tokenizer.json"):
        convert_model(partial, "hf", out, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["no-tokenizer", "out"]
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


# ------------------------------------------------------------------- CLI (fast)


def run_cli(*args: str) -> tuple[int, str, str]:
    from typer.testing import CliRunner

    from aural.cli import app

    result = CliRunner().invoke(app, ["models", "convert", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stdout, result.stderr


def test_cli_models_convert_writes_the_folder(random_hf: Path, tmp_path: Path) -> None:
    out = tmp_path / "ct2"
    code, stdout, stderr = run_cli(
        str(random_hf), "--to", "ct2", "--output", str(out), "--quantization", "float32"
    )
    assert code == 0, stderr
    assert stdout.strip().splitlines()[-1] == str(out)
    assert "converting with CTranslate2 (float32)" in stderr
    assert (out / "model.bin").is_file()


def test_cli_models_convert_missing_source_is_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here"
    code, _, stderr = run_cli(str(missing), "--to", "hf", "-o", str(tmp_path / "o"))
    assert code == 2
    assert f"{missing}: no such model folder" in stderr
    assert not (tmp_path / "o").exists()


def test_cli_models_convert_keeps_existing_output(
    random_hf: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    code, _, stderr = run_cli(str(random_hf), "--to", "ct2", "--output", str(out))
    assert code == 2
    assert "not empty" in stderr and "--overwrite" in stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    code, _, stderr = run_cli(
        str(random_hf), "--to", "ct2", "--output", str(out), "--overwrite"
    )
    assert code == 0, stderr
    assert not (out / "notes.txt").exists() and (out / "model.bin").is_file()


# ------------------------------------------------------------- real models (slow)


def log_mel(audio_path: Path, num_mels: int) -> np.ndarray:
    """``(num_mels, 3000)`` float32: the 30 s window both toolkits take."""
    from faster_whisper.feature_extractor import FeatureExtractor

    from aural.audio import load

    samples = load(audio_path).samples
    mel = FeatureExtractor(feature_size=num_mels)(samples, padding=480_000)
    return np.ascontiguousarray(mel[:, :3000], dtype=np.float32)


def ct2_greedy(
    folder: Path, mel: np.ndarray, prompt: list[int]
) -> tuple[list[int], np.ndarray]:
    """CTranslate2 float32 greedy tokens and each step's raw logits ``(steps,
    vocab)`` (no suppression, so every logit is the model's)."""
    model = ctranslate2.models.Whisper(str(folder), compute_type="float32")
    result = model.generate(
        ctranslate2.StorageView.from_array(mel[None]),
        [prompt],
        beam_size=1,
        return_logits_vocab=True,
        suppress_blank=False,
        suppress_tokens=[],
    )[0]
    logits = np.stack([np.asarray(step) for step in result.logits[0]])
    return result.sequences_ids[0], logits.reshape(len(result.logits[0]), -1)


def torch_log_probs(
    model: object, mel: np.ndarray, prompt: list[int], ids: list[int]
) -> np.ndarray:
    """PyTorch log-probabilities teacher-forced on ``prompt + ids``: one row per
    predicted token (``len(ids) + 1``, the last predicts the end)."""
    with torch.inference_mode():
        logits = model(  # type: ignore[operator]
            input_features=torch.from_numpy(mel[None]),
            decoder_input_ids=torch.tensor([prompt + ids]),
        ).logits[0]
    return torch.log_softmax(logits.double(), -1).numpy()[len(prompt) - 1 :]


def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    top = x.max(-1, keepdims=True)
    return x - top - np.log(np.exp(x - top).sum(-1, keepdims=True))


def max_log_prob_difference(folder: Path, name: str, audio: Path, lang: bool) -> float:
    model = torch_whisper(name)
    vocabulary = model.generation_config
    prompt = [vocabulary.decoder_start_token_id]
    if lang:
        prompt += [vocabulary.lang_to_id["<|en|>"], vocabulary.task_to_id["transcribe"]]
    prompt.append(vocabulary.no_timestamps_token_id)
    mel = log_mel(audio, model.config.num_mel_bins)
    ids, logits = ct2_greedy(folder, mel, prompt)
    assert len(ids) > 5
    ours = torch_log_probs(model, mel, prompt, ids)
    assert ours.shape == logits.shape
    assert (ours.argmax(-1)[:-1] == ids).all()  # the same greedy path
    return float(np.abs(ours - log_softmax(logits)).max())


@pytest.fixture(scope="module")
def librispeech_clips(dev_clean: Path) -> list[Path]:
    clips = sorted(dev_clean.rglob("*.flac"))
    assert len(clips) >= 12
    return clips


@pytest.fixture(scope="module")
def tiny_en_round_trip(
    tmp_path_factory: pytest.TempPathFactory, tiny_en: Path
) -> tuple[Path, Path]:
    """tiny.en -> HF (float32) -> CT2 (int8)."""
    root = tmp_path_factory.mktemp("tiny_en")
    hf = convert_model(tiny_en, "hf", root / "hf")
    return hf, convert_model(hf, "ct2", root / "ct2")


@pytest.mark.slow
def test_convert_tiny_en_round_trip_transcribes_the_same(
    tiny_en: Path, tiny_en_round_trip: tuple[Path, Path], librispeech_clips: list[Path]
) -> None:
    from faster_whisper import WhisperModel

    from aural import Recognizer

    _, ct2 = tiny_en_round_trip
    assert WhisperModel(str(ct2), compute_type="int8").model.n_mels == 80
    for name in ("config.json", "tokenizer.json"):
        assert (ct2 / name).read_bytes() == (tiny_en / name).read_bytes(), name
    vocabulary = json.loads((ct2 / "vocabulary.json").read_text())
    assert vocabulary == (tiny_en / "vocabulary.txt").read_text().splitlines()
    # int8 compute on the original quantises at load exactly as the converter did
    mel = ctranslate2.StorageView.from_array(log_mel(librispeech_clips[0], 80)[None])
    encoded = [
        np.asarray(
            ctranslate2.models.Whisper(str(f), compute_type="int8").encode(
                mel, to_cpu=True
            )
        )
        for f in (tiny_en, ct2)
    ]
    np.testing.assert_array_equal(encoded[0], encoded[1])
    original, converted = Recognizer(model=tiny_en), Recognizer(model=ct2)
    for clip in librispeech_clips:
        expected = original.transcribe(clip).text
        assert expected and converted.transcribe(clip).text == expected, clip.name


@pytest.mark.slow
def test_convert_tiny_en_float16_round_trip_is_bit_exact(
    tiny_en: Path, tiny_en_round_trip: tuple[Path, Path], tmp_path: Path
) -> None:
    """tiny.en is stored in float16: float16 -> float32 (HF) -> float16 loses
    nothing."""
    hf, _ = tiny_en_round_trip
    again = read_model_bin(convert_model(hf, "ct2", tmp_path, quantization="float16"))
    original = read_model_bin(tiny_en)
    assert again.aliases == original.aliases
    for name, value in original.variables.items():
        if name.startswith("decoder/alibi"):  # spec flags newer ctranslate2 adds
            continue
        assert again.dtypes[name] == original.dtypes[name], name
        np.testing.assert_array_equal(again.variables[name], value, err_msg=name)


@pytest.mark.slow
def test_torch_whisper_matches_ct2_log_probs_tiny_en(
    tiny_en: Path, librispeech_clips: list[Path]
) -> None:
    for clip in librispeech_clips[:3]:
        difference = max_log_prob_difference(tiny_en, "tiny.en", clip, lang=False)
        assert difference < LOG_PROB_TOLERANCE, (clip.name, difference)


@pytest.mark.slow
def test_converted_hf_folder_generates_like_ct2(
    tiny_en: Path, tiny_en_round_trip: tuple[Path, Path], librispeech_clips: list[Path]
) -> None:
    """The written generation config drives transformers' own ``generate``."""
    hf, _ = tiny_en_round_trip
    processor = transformers.WhisperProcessor.from_pretrained(hf)
    model = transformers.WhisperForConditionalGeneration.from_pretrained(hf).eval()
    mel = log_mel(librispeech_clips[0], 80)
    with torch.inference_mode():
        generated = model.generate(torch.from_numpy(mel[None]), num_beams=1)
    text = processor.batch_decode(generated, skip_special_tokens=True)[0]
    prompt = [50257, 50362]  # <|startoftranscript|> <|notimestamps|> (English-only)
    ids, _ = ct2_greedy(tiny_en, mel, prompt)
    assert text.strip() == processor.tokenizer.decode(ids).strip()


@pytest.mark.slow
def test_torch_whisper_base_multilingual_matches_ct2(
    librispeech_clips: list[Path],
) -> None:
    try:
        base = resolve_whisper_model("base", local_files_only=True)
    except ModelNotFoundError as err:
        pytest.skip(f"base is not installed: {err}")
    model = torch_whisper(base)
    generation = model.generation_config
    assert generation.is_multilingual and generation.lang_to_id["<|en|>"] == 50259
    assert generation.task_to_id == {"transcribe": 50359, "translate": 50358}
    assert (model.config.d_model, model.config.encoder_attention_heads) == (512, 8)
    difference = max_log_prob_difference(base, "base", librispeech_clips[4], lang=True)
    assert difference < LOG_PROB_TOLERANCE, difference
