"""The sandbox Flask app: one process serving all three emulators and the control plane."""

from __future__ import annotations

from flask import Flask

from .world import World


def create_app(seed: int = 1, scale: int = 1) -> Flask:
    """Build the sandbox app with a freshly seeded world."""
    app = Flask(__name__)
    app.config["JSON_SORT_KEYS"] = False
    app.extensions["sandbox"] = World(seed=seed, scale=scale)
    # Blueprints are registered here as each emulator lands (cliniko, vaocherapp, reckon, control).
    return app
