"""Experiment tracking: MLflow (local file store by default), Weights & Biases, or
nothing.

Only rank 0 of a distributed run tracks. Trackers share one small interface so the
trainer never checks which ones are on.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

from aural.errors import MissingDependencyError
from aural.training.config import TrackingConfig

__all__ = ["MlflowTracker", "MultiTracker", "Tracker", "WandbTracker", "build_tracker"]

logger = logging.getLogger(__name__)


class Tracker(Protocol):
    def log_params(self, params: dict[str, Any]) -> None: ...

    def log_metrics(self, metrics: dict[str, float], step: int) -> None: ...

    def log_artifact(self, path: Path) -> None: ...

    def log_text(self, text: str, name: str) -> None: ...

    def close(self, status: str = "FINISHED") -> None: ...


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = str(v)[:500]
    return out


class MlflowTracker:
    """Logs to a local MLflow store: ``<tracking_dir>/mlflow.db`` (SQLite) for runs and
    metrics, ``<tracking_dir>/artifacts`` for files (MLflow 3 retired the plain folder
    store). View it with
    ``mlflow ui --backend-store-uri sqlite:///<tracking_dir>/mlflow.db``.

    Uses an explicit ``MlflowClient`` so no process-wide MLflow state is touched.
    """

    def __init__(
        self,
        tracking_dir: Path,
        experiment: str,
        run_name: str | None,
        run_id: str | None = None,
        tracking_uri: str | None = None,
    ) -> None:
        try:
            from mlflow.tracking import MlflowClient
        except ImportError as err:
            raise MissingDependencyError(
                "MLflow tracking needs the 'mlflow' package; install it with "
                "`pip install 'aural[train]'` or set tracking.mlflow: false"
            ) from err
        tracking_dir = tracking_dir.resolve()
        tracking_dir.mkdir(parents=True, exist_ok=True)
        self.uri = tracking_uri or f"sqlite:///{tracking_dir / 'mlflow.db'}"
        self.client = MlflowClient(tracking_uri=self.uri)
        exp = self.client.get_experiment_by_name(experiment)
        exp_id = (
            exp.experiment_id
            if exp
            else self.client.create_experiment(
                experiment, artifact_location=(tracking_dir / "artifacts").as_uri()
            )
        )
        if run_id is not None:
            self.run_id = run_id
        else:
            self.run_id = self.client.create_run(exp_id, run_name=run_name).info.run_id

    def log_params(self, params: dict[str, Any]) -> None:
        from mlflow.entities import Param

        flat = _flatten(params)
        items = [Param(k, v) for k, v in flat.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[i : i + 100])

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        import time

        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.client.log_batch(
            self.run_id,
            metrics=[Metric(k, float(v), now, step) for k, v in metrics.items()],
        )

    def log_artifact(self, path: Path) -> None:
        self.client.log_artifact(self.run_id, str(path))

    def log_text(self, text: str, name: str) -> None:
        self.client.log_text(self.run_id, text, name)

    def close(self, status: str = "FINISHED") -> None:
        self.client.set_terminated(self.run_id, status=status)


class WandbTracker:
    """Logs to Weights & Biases (offline unless the environment says otherwise)."""

    def __init__(self, project: str, run_name: str | None, output_dir: Path) -> None:
        try:
            import wandb
        except ImportError as err:
            raise MissingDependencyError(
                "tracking.wandb: true needs the 'wandb' package; install it with "
                "`pip install wandb` or set tracking.wandb: false"
            ) from err
        self._run = wandb.init(
            project=project, name=run_name, dir=str(output_dir), resume="allow"
        )

    def log_params(self, params: dict[str, Any]) -> None:
        self._run.config.update(params, allow_val_change=True)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        self._run.log(dict(metrics), step=step)

    def log_artifact(self, path: Path) -> None:
        self._run.save(str(path), base_path=str(path.parent))

    def log_text(self, text: str, name: str) -> None:
        self._run.log({name: text})

    def close(self, status: str = "FINISHED") -> None:
        self._run.finish(exit_code=0 if status == "FINISHED" else 1)


class MultiTracker:
    """Forwards every call to each tracker (none = a no-op tracker)."""

    def __init__(self, trackers: list[Tracker]) -> None:
        self.trackers = trackers

    def log_params(self, params: dict[str, Any]) -> None:
        for t in self.trackers:
            t.log_params(params)

    def log_metrics(self, metrics: dict[str, float], step: int) -> None:
        for t in self.trackers:
            t.log_metrics(metrics, step)

    def log_artifact(self, path: Path) -> None:
        for t in self.trackers:
            t.log_artifact(path)

    def log_text(self, text: str, name: str) -> None:
        for t in self.trackers:
            t.log_text(text, name)

    def close(self, status: str = "FINISHED") -> None:
        for t in self.trackers:
            t.close(status)


def build_tracker(
    config: TrackingConfig,
    output_dir: Path,
    run_name: str,
    mlflow_run_id: str | None = None,
) -> MultiTracker:
    """The trackers a config asks for; ``mlflow_run_id`` continues a run after
    resume."""
    trackers: list[Tracker] = []
    if config.mlflow:
        folder = Path(config.mlflow_dir) if config.mlflow_dir else output_dir / "mlruns"
        trackers.append(
            MlflowTracker(
                folder,
                config.experiment,
                config.run_name or run_name,
                mlflow_run_id,
                config.mlflow_uri,
            )
        )
    if config.wandb:
        trackers.append(
            WandbTracker(config.wandb_project, config.run_name or run_name, output_dir)
        )
    return MultiTracker(trackers)
