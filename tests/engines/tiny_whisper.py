"""One small, seeded, randomly initialised Whisper for the tests of the PyTorch parts
(converter, decoder, attention maps): tiny.en's vocabulary so its tokenizer fits."""

from __future__ import annotations

from typing import Any

SOT, EOT, NO_TIMESTAMPS, NO_SPEECH, PREV = 50257, 50256, 50362, 50361, 50360
TINY_EN_VOCAB = 51864  # the tokenizer's 50363 ids + the timestamp tokens


def tiny_whisper(
    seed: int = 0,
    *,
    layers: int = 2,
    heads: int = 4,
    attn_implementation: str = "sdpa",
    vary_biases: bool = False,
) -> Any:
    """A ``WhisperForConditionalGeneration`` (d_model 64, ``layers`` + ``layers``,
    ``heads`` heads) in eval mode. ``vary_biases``: biases and norms drawn at random
    too (initialisation leaves them at 0 and 1)."""
    import torch
    import transformers

    torch.manual_seed(seed)
    config = transformers.WhisperConfig(
        vocab_size=TINY_EN_VOCAB,
        num_mel_bins=80,
        d_model=64,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=heads,
        decoder_attention_heads=heads,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        max_source_positions=1500,
        max_target_positions=448,
        pad_token_id=EOT,
        bos_token_id=EOT,
        eos_token_id=EOT,
        decoder_start_token_id=SOT,
    )
    model = transformers.WhisperForConditionalGeneration._from_config(
        config, attn_implementation=attn_implementation
    )
    if vary_biases:
        with torch.no_grad():
            for name, param in model.named_parameters():
                if name.endswith("bias") or "layer_norm" in name:
                    param.add_(torch.randn_like(param) * 0.1)
    return model.eval()
