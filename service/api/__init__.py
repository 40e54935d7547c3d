"""The JSON API (FastAPI): `create_app(settings)` builds the app that `kith serve` runs."""
from .app import create_app

__all__ = ["create_app"]
