"""Each AuralError type maps to one HTTP status and error type."""

from __future__ import annotations

import pytest

from aural import errors
from aural.serving.errors import error_body, status_for, type_for


@pytest.mark.parametrize(
    ("error", "status", "kind"),
    [
        (errors.UnsupportedAudioError("x.bin: not audio"), 415, "unsupported_audio"),
        (errors.EmptyAudioError("x.wav: zero length"), 400, "empty_audio"),
        (errors.AudioDecodeError("x.wav: truncated"), 400, "audio_decode_error"),
        (errors.EngineNotFoundError("engine 'x'"), 422, "engine_not_found"),
        (errors.ModelNotFoundError("model 'x'"), 422, "model_not_found"),
        (errors.OptionConflictError("a vs b"), 422, "invalid_options"),
        (errors.ConfigError("beam_size"), 422, "invalid_options"),
        (errors.MissingDependencyError("pip install"), 503, "missing_dependency"),
        (errors.DatasetError("manifest"), 500, "internal_error"),
    ],
)
def test_status_and_type_for_each_error(error, status, kind):
    assert status_for(error) == status
    assert type_for(error) == kind


def test_error_body_shape():
    assert error_body("too_large", "limit 1 MiB") == {
        "error": {"type": "too_large", "message": "limit 1 MiB"}
    }
