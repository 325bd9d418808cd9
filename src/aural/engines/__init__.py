"""Speech recognition engines behind one interface, created by registered name."""

from aural.engines.base import (
    Engine,
    available_engines,
    create_engine,
    register_engine,
)

__all__ = ["Engine", "available_engines", "create_engine", "register_engine"]
