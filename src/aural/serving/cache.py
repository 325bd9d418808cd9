"""``ModelCache``: the engines a server has loaded, keyed by (engine, model).

Owned by whoever creates it (the app's lifespan, or a test that shares engines between
apps); :meth:`ModelCache.clear` closes them. Requests only pick among loaded engines, so
a request can never make the server load (or download) a model.

Engines that declare themselves thread-safe (``engine.capabilities.thread_safe``:
Whisper with CTranslate2 workers, PocketSphinx with a decoder per thread) are shared;
any other engine is loaded once per worker thread and leased to one request at a time.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aural.engines import Engine, create_engine
from aural.errors import ConfigError

__all__ = ["LoadedEngine", "ModelCache"]

Key = tuple[str, "str | None"]


class LoadedEngine:
    """One loaded (engine, model): its replicas and who may use them.

    Args:
        replicas: one instance for a thread-safe engine, else one per worker thread.
        shared: True when ``replicas[0]`` may serve several threads at once.
    """

    def __init__(self, replicas: list[Engine], shared: bool) -> None:
        self.loaded_at = int(time.time())  # Unix seconds (GET /v1/models' created)
        self.primary = replicas[0]
        self.shared = shared
        self._replicas = replicas
        self._free: queue.SimpleQueue[Engine] = queue.SimpleQueue()
        for replica in replicas:
            self._free.put(replica)

    @property
    def name(self) -> str:
        return self.primary.name

    @property
    def model_id(self) -> str:
        return self.primary.model_id

    @property
    def sample_rate(self) -> int:
        return self.primary.sample_rate

    @contextmanager
    def lease(self) -> Iterator[Engine]:
        """An engine instance for this thread's use (blocks until one is free)."""
        if self.shared:
            yield self.primary
            return
        engine = self._free.get()
        try:
            yield engine
        finally:
            self._free.put(engine)

    def close(self) -> None:
        for replica in self._replicas:
            replica.close()


class ModelCache:
    """Loaded engines by ``(engine name, model)``; the first loaded is the default."""

    def __init__(self) -> None:
        self._engines: dict[Key, LoadedEngine] = {}
        self._default: Key | None = None
        self._lock = threading.Lock()

    def load(
        self,
        name: str,
        model: str | None,
        settings: dict[str, Any] | None = None,
        replicas: int = 1,
    ) -> LoadedEngine:
        """Create (once) and keep the engine ``name`` with ``model``.

        Args:
            name: registered engine name.
            model: model name or path (None = the engine's default).
            settings: engine settings for :func:`aural.engines.create_engine`.
            replicas: instances to create when the engine is not thread-safe.

        Raises:
            EngineNotFoundError, ModelNotFoundError, MissingDependencyError: from
                :func:`aural.engines.create_engine`.
        """
        key: Key = (name, model)
        with self._lock:
            if key not in self._engines:
                first = create_engine(name, model, **(settings or {}))
                shared = first.capabilities.thread_safe
                count = 1 if shared else max(1, replicas)
                instances = [first] + [
                    create_engine(name, model, **(settings or {}))
                    for _ in range(count - 1)
                ]
                self._engines[key] = LoadedEngine(instances, shared)
            if self._default is None:
                self._default = key
            return self._engines[key]

    @property
    def is_loaded(self) -> bool:
        return self._default is not None

    @property
    def default(self) -> LoadedEngine:
        if self._default is None:
            raise ConfigError("no engine is loaded yet; wait until /ready answers 200")
        return self._engines[self._default]

    def get(self, name: str | None = None, model: str | None = None) -> LoadedEngine:
        """The loaded engine matching ``name``/``model`` (None = the default's).

        ``model`` may be the name given at load time or the engine's resolved model id.

        Raises:
            ConfigError: no loaded engine matches (the message lists the loaded ones).
        """
        if name is None and model is None:
            return self.default
        with self._lock:
            for (eng_name, eng_model), loaded in self._engines.items():
                if name is not None and eng_name != name:
                    continue
                if model is None or model in (eng_model, loaded.model_id):
                    return loaded
        raise ConfigError(
            f"engine {name or self.default.name!r} with model {model or 'default'!r} "
            f"is not loaded on this server; loaded: {', '.join(self.describe())}"
        )

    def describe(self) -> list[str]:
        """``engine:model_id`` of every loaded engine, the default first."""
        with self._lock:
            return [f"{e.name}:{e.model_id}" for e in self._engines.values()]

    def engines(self) -> list[LoadedEngine]:
        with self._lock:
            return list(self._engines.values())

    def clear(self) -> None:
        """Close and forget every engine."""
        with self._lock:
            engines = list(self._engines.values())
            self._engines.clear()
            self._default = None
        for loaded in engines:
            loaded.close()
