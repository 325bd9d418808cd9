"""Training aural's own models: recipes, the loop, checkpoints, tracking and export."""

from aural.training.config import TrainConfig, load_config, parse_config

__all__ = ["TrainConfig", "load_config", "parse_config", "train"]


def train(config: TrainConfig, *, resume: bool = False):  # type: ignore[no-untyped-def]
    """Run a recipe and return its :class:`~aural.training.trainer.TrainResult`."""
    from aural.training.trainer import Trainer  # late: pulls in torch

    return Trainer(config, resume=resume).run()
