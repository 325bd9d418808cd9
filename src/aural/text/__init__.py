"""aural.text: normalisers (for scoring), number spelling and tokenizers."""

from aural.text.normalizers import (
    NORMALIZER_NAMES,
    BasicNormalizer,
    EnglishNormalizer,
    get_normalizer,
)

__all__ = ["NORMALIZER_NAMES", "BasicNormalizer", "EnglishNormalizer", "get_normalizer"]
