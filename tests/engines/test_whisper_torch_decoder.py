"""aural's PyTorch Whisper decoder against CTranslate2's generate.

A small randomly initialised Whisper (with the real tiny.en vocabulary) is converted
by CTranslate2's own converter; both decoders then search the same encoder output and
must return the same sequences, scores and no-speech probabilities.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from aural.engines.whisper import resolve_whisper_model

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
ctranslate2 = pytest.importorskip("ctranslate2")

from tests.engines.tiny_whisper import (  # noqa: E402
    EOT,
    NO_SPEECH,
    NO_TIMESTAMPS,
    PREV,
    SOT,
    tiny_whisper,
)

from aural.engines.whisper.biasing import TokenBiasing, TokenClasses  # noqa: E402
from aural.engines.whisper.torch_decoder import TorchWhisperDecoder  # noqa: E402


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(CTranslate2 float32 model, aural's decoder, the tokenizer) of one random
    Whisper."""
    real = resolve_whisper_model("tiny.en")
    tmp = tmp_path_factory.mktemp("random-whisper")
    model = tiny_whisper(0)
    with torch.no_grad():  # peaked distributions, so that searches take decisions
        model.model.decoder.embed_tokens.weight.mul_(20)
    model.save_pretrained(tmp / "hf")
    transformers.WhisperTokenizerFast(
        tokenizer_file=str(real / "tokenizer.json")
    ).save_pretrained(tmp / "hf")
    ctranslate2.converters.TransformersConverter(str(tmp / "hf")).convert(
        str(tmp / "ct2"), quantization="float32"
    )
    ct2_config = json.loads((tmp / "ct2" / "config.json").read_text())
    real_config = json.loads((real / "config.json").read_text())
    ct2_config["suppress_ids"] = real_config["suppress_ids"]
    (tmp / "ct2" / "config.json").write_text(json.dumps(ct2_config))
    ct2 = ctranslate2.models.Whisper(str(tmp / "ct2"), compute_type="float32")
    decoder = TorchWhisperDecoder(
        model,
        ct2_config,
        eot=EOT,
        sot=SOT,
        no_timestamps=NO_TIMESTAMPS,
        no_speech=NO_SPEECH,
    )
    tok = __import__("tokenizers").Tokenizer.from_file(str(real / "tokenizer.json"))
    return ct2, decoder, tok


def encode(ct2, seed: int, batch: int = 2):
    feats = np.random.default_rng(seed).standard_normal((batch, 80, 3000))
    return ct2.encode(ctranslate2.StorageView.from_array(feats.astype(np.float32)))


PROMPTS = [
    ([SOT, NO_TIMESTAMPS], 5),  # the window path: no timestamps
    ([SOT], 5),  # faster-whisper's long form: timestamp rules
    ([PREV, 1000, 2000, SOT, NO_TIMESTAMPS], 3),  # a previous-text prompt
    ([SOT, NO_TIMESTAMPS], 1),  # greedy
    ([SOT], 2),
]


@pytest.mark.parametrize(("prompt", "beam"), PROMPTS)
def test_same_search_as_ctranslate2(pair, prompt: list[int], beam: int) -> None:
    ct2, decoder, _ = pair
    kwargs = dict(
        beam_size=beam,
        max_length=40,
        return_scores=True,
        return_no_speech_prob=True,
        suppress_blank=True,
        suppress_tokens=[-1],
    )
    for seed in range(3):
        encoded = encode(ct2, seed)
        ours = decoder.generate(encoded, [prompt] * 2, **kwargs)
        theirs = ct2.generate(encoded, [prompt] * 2, **kwargs)
        for a, b in zip(ours, theirs, strict=True):
            assert a.sequences_ids[0] == b.sequences_ids[0]
            assert a.scores[0] == pytest.approx(b.scores[0], abs=1e-3)
            assert a.no_speech_prob == pytest.approx(b.no_speech_prob, abs=1e-4)


def test_num_hypotheses_and_patience(pair) -> None:
    ct2, decoder, _ = pair
    encoded = encode(ct2, 7, batch=1)
    kwargs = dict(
        beam_size=4, patience=2.0, num_hypotheses=3, max_length=30, return_scores=True
    )
    ours = decoder.generate(encoded, [[SOT, NO_TIMESTAMPS]], **kwargs)[0]
    theirs = ct2.generate(encoded, [[SOT, NO_TIMESTAMPS]], **kwargs)[0]
    assert ours.sequences_ids == theirs.sequences_ids
    assert ours.scores == pytest.approx(theirs.scores, abs=1e-3)


def test_sampling_returns_finished_hypotheses(pair) -> None:
    ct2, decoder, _ = pair
    torch.manual_seed(1)
    result = decoder.generate(
        encode(ct2, 3, batch=1),
        [[SOT]],
        beam_size=1,
        num_hypotheses=3,
        sampling_topk=0,
        sampling_temperature=0.6,
        max_length=30,
        return_scores=True,
    )[0]
    assert len(result.sequences_ids) == 3
    assert result.scores == sorted(result.scores, reverse=True)
    assert all(EOT not in seq for seq in result.sequences_ids)


def test_biasing_steers_the_search_to_a_hotword(pair) -> None:
    """A large bonus makes even a random model spell the hotword; the kept bonus is
    reported apart from the log-probability score."""
    ct2, decoder, tok = pair
    encoded = encode(ct2, 11, batch=1)
    prompt = [[SOT, NO_TIMESTAMPS]]
    plain = decoder.generate(
        encoded, prompt, beam_size=5, max_length=40, return_scores=True
    )[0]
    word = tok.encode(" Gwynplaine", add_special_tokens=False).ids
    biasing = TokenBiasing(["Gwynplaine:40"], TokenClasses(tok, 51864, EOT), 1.0)
    biased = decoder.generate(
        encoded, prompt, beam_size=5, max_length=40, return_scores=True, biasing=biasing
    )[0]
    seq = biased.sequences_ids[0]
    assert not _contains(plain.sequences_ids[0], word)
    assert _contains(seq, word) or _contains(
        seq, tok.encode("Gwynplaine", add_special_tokens=False).ids
    )
    assert biased.bonuses[0] > 0
    assert biased.scores[0] < 0  # the score is the log-probability alone


def _contains(seq: list[int], part: list[int]) -> bool:
    return any(seq[i : i + len(part)] == part for i in range(len(seq)))


def test_prompts_must_share_their_layout(pair) -> None:
    ct2, decoder, _ = pair
    encoded = encode(ct2, 0)
    with pytest.raises(ValueError, match="same position"):
        decoder.generate(encoded, [[SOT, NO_TIMESTAMPS], [PREV, 5, SOT]], beam_size=2)
    with pytest.raises(ValueError, match="start-of-transcript"):
        decoder.generate(encoded, [[1, 2]], beam_size=2)
