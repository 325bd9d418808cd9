"""aural.text: normalisers (for scoring), number spelling and tokenizers."""

from aural.text.multilingual import (
    CER_LANGUAGES,
    MultilingualNormalizer,
    normalizer_for,
    uses_cer,
)
from aural.text.normalizers import (
    NORMALIZER_NAMES,
    BasicNormalizer,
    EnglishNormalizer,
    get_normalizer,
)

__all__ = [
    "CER_LANGUAGES",
    "NORMALIZER_NAMES",
    "BasicNormalizer",
    "EnglishNormalizer",
    "MultilingualNormalizer",
    "get_normalizer",
    "normalizer_for",
    "uses_cer",
]
