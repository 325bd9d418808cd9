"""Recipe validation: unknown keys and bad values are errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from aural.errors import ConfigError
from aural.training.config import load_config, parse_config

REPO = Path(__file__).resolve().parents[2]
MINIMAL = {"name": "x", "output_dir": "out", "data": {"train": [{"path": "d"}]}}


def _with(**changes: object) -> dict:
    d = {k: (dict(v) if isinstance(v, dict) else v) for k, v in MINIMAL.items()}
    d.update(changes)
    return d


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (_with(learning_rate=0.1), "learning_rate: extra inputs are not permitted"),
        (
            _with(optim={"lr_peak": 0.1}),
            "optim.lr_peak: extra inputs are not permitted",
        ),
        (_with(optim={"lr": -1}), "optim.lr: input should be greater than 0"),
        (_with(model={"size": "huge"}), "model.size"),
        (_with(training={"amp": "fp8"}), "training.amp"),
        (_with(data={"train": []}), "data.train"),
        (_with(data={"train": [{"path": "d", "id_pattern": "("}]}), "id_pattern"),
        (_with(augment={"noise": {"snr": 3}}), "augment.noise.snr"),
        ({"name": "x"}, "output_dir: field required"),
    ],
)
def test_bad_recipe_is_an_error_naming_the_key(data: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_config(data, "r.yaml")


def test_bad_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ConfigError, match=r"nope\.yaml"):
        load_config(tmp_path / "nope.yaml")
    bad.write_text(yaml.safe_dump(_with(optim={"lr_peak": 1})))
    with pytest.raises(ConfigError, match=f"{bad}: optim.lr_peak"):
        load_config(bad)


@pytest.mark.parametrize(
    "recipe",
    # aural train's recipes; finetune_*/distill_* are aural finetune's and aural
    # distill's (validated in tests/finetune)
    sorted(
        p
        for p in (REPO / "recipes").glob("*.yaml")
        if not p.stem.startswith(("finetune_", "distill_"))
    ),
    ids=lambda p: p.stem,
)
def test_shipped_recipes_validate(recipe: Path) -> None:
    cfg = load_config(recipe)
    assert cfg.name == recipe.stem
    round_trip = parse_config(yaml.safe_load(cfg.to_yaml()))
    assert round_trip == cfg


def test_with_changes_revalidates() -> None:
    cfg = parse_config(MINIMAL)
    assert cfg.with_changes({"training": {"max_steps": 7}}).training.max_steps == 7
    with pytest.raises(ConfigError, match=r"training\.max_steps"):
        cfg.with_changes({"training": {"max_steps": 0}})
