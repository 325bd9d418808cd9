"""ServeConfig: defaults < YAML file < AURAL_SERVE_* environment < flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from aural.errors import ConfigError
from aural.serving.config import ServeConfig, load_serve_config


def test_defaults_bind_loopback():
    cfg = load_serve_config(environ={})
    assert cfg.host == "127.0.0.1" and cfg.port == 8000
    assert cfg.max_upload_bytes == 100 * 1024 * 1024
    assert cfg.api_key is None and cfg.cors_origins == ()


def test_precedence_file_env_flags(tmp_path: Path):
    path = tmp_path / "serve.yaml"
    path.write_text("port: 9001\nworkers: 3\nqueue: 5\nengine: sphinx\n")
    env = {
        "AURAL_SERVE_WORKERS": "4",
        "AURAL_SERVE_CORS_ORIGINS": "http://a.test, http://b.test",
    }
    cfg = load_serve_config(path, {"queue": 7, "port": None}, environ=env)
    assert cfg.port == 9001  # file (the flag was not given)
    assert cfg.workers == 4  # env beats file
    assert cfg.queue == 7  # flag beats file
    assert cfg.engine == "sphinx"
    assert cfg.cors_origins == ("http://a.test", "http://b.test")


def test_unknown_key_in_file_is_config_error_naming_it(tmp_path: Path):
    path = tmp_path / "serve.yaml"
    path.write_text("port: 9001\nworkerz: 3\n")
    with pytest.raises(ConfigError, match="workerz") as err:
        load_serve_config(path, environ={})
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"AURAL_SERVE_PORT": "eighty"}, "port"),
        ({"AURAL_SERVE_WORKERS": "0"}, "workers"),
        ({"AURAL_SERVE_MAX_UPLOAD_MB": "-1"}, "max_upload_mb"),
        ({"AURAL_SERVE_API_KEY": "  "}, "api_key"),
    ],
)
def test_invalid_values_are_config_errors(env, needle):
    with pytest.raises(ConfigError, match=needle):
        load_serve_config(environ=env)


def test_bad_yaml_and_non_mapping_files(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("port: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_serve_config(bad, environ={})
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_serve_config(listy, environ={})
    with pytest.raises(ConfigError, match="cannot read"):
        load_serve_config(tmp_path / "missing.yaml", environ={})


def test_engine_specs_default_first_without_duplicates():
    cfg = ServeConfig(
        engine="whisper", extra_engines=("sphinx", "whisper", "whisper:base")
    )
    assert cfg.engine_specs == (
        ("whisper", None),
        ("sphinx", None),
        ("whisper", "base"),
    )
