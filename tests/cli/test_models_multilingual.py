"""`aural models list` says which models are multilingual; any faster-whisper size
resolves by name (checked offline: the name is known and only the download is
missing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aural.cli import app
from aural.errors import ModelNotFoundError


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No network and an empty Hugging Face cache: nothing can be fetched."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))


def test_models_list_says_which_models_are_multilingual(offline: None) -> None:
    r = CliRunner().invoke(app, ["models", "list", "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    expected = {
        "whisper:tiny.en": "English only",
        "whisper:base": "multilingual",
        "whisper:small": "multilingual",
        "whisper:medium.en": "English only",
        "whisper:large-v3": "multilingual",
        "whisper:large-v3-turbo": "multilingual",
        "whisper:distil-large-v3": "English only",
        "whisper:distil-small.en": "English only",
        "sphinx:en-us": "English only",
    }
    for name, languages in expected.items():
        assert rows[name]["languages"] == languages, name
    assert rows["whisper:tiny.en"]["status"] == "installed"
    assert rows["whisper:large-v3"]["source"] == "Systran/faster-whisper-large-v3"
    assert "needs a network" in rows["whisper:large-v3"]["status"]
    text = CliRunner().invoke(app, ["models", "list"])
    assert text.exit_code == 0
    assert "whisper:tiny.en\tinstalled\tEnglish only" in text.stdout
    assert "whisper:base\tinstalled\tmultilingual" in text.stdout
    bad = CliRunner().invoke(app, ["models", "list", "--format", "yaml"])
    assert bad.exit_code == 2 and "text or json" in bad.stderr


@pytest.mark.parametrize(
    "name",
    ["small", "medium", "large-v3", "distil-large-v3", "Systran/faster-whisper-small"],
)
def test_faster_whisper_names_resolve_but_need_a_download(
    offline: None, name: str
) -> None:
    from aural.engines import create_engine
    from aural.engines.whisper import resolve_whisper_model

    with pytest.raises(ModelNotFoundError, match="is not available offline"):
        resolve_whisper_model(name)
    with pytest.raises(ModelNotFoundError, match="is not available offline"):
        create_engine("whisper", name)  # the real loading path


def test_unknown_whisper_name_lists_the_sizes(offline: None) -> None:
    from aural.engines.whisper import resolve_whisper_model

    with pytest.raises(ModelNotFoundError, match=r"unknown Whisper model 'large-v9'"):
        resolve_whisper_model("large-v9")
    r = CliRunner().invoke(app, ["models", "path", "large-v3"])
    assert r.exit_code == 2
    assert "not available offline" in r.stderr and "Traceback" not in r.output
