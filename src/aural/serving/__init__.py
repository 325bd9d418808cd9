"""The HTTP/WebSocket server behind ``aural serve`` (FastAPI on uvicorn).

Build the app with :func:`create_app` from a :class:`ServeConfig`; see DESIGN.md for the
endpoints.
"""

from aural.serving.app import create_app
from aural.serving.cache import ModelCache
from aural.serving.config import ServeConfig, load_serve_config

__all__ = ["ModelCache", "ServeConfig", "create_app", "load_serve_config"]
