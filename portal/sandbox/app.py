"""The sandbox Flask app: one process serving all three emulators and the control plane."""

from __future__ import annotations

from flask import Flask

from .world import World


def create_app(seed: int = 1, scale: int = 1) -> Flask:
    """Build the sandbox app with a freshly seeded world."""
    from . import control, control_cliniko, control_vaocherapp, middleware, reckon, vaocherapp
    from .cliniko_routes import bp as cliniko_bp

    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["sandbox"] = World(seed=seed, scale=scale)
    middleware.install(app)
    app.register_blueprint(cliniko_bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(control_cliniko.bp)
    app.register_blueprint(vaocherapp.bp)
    app.register_blueprint(control_vaocherapp.bp)
    for blueprint in reckon.blueprints:
        app.register_blueprint(blueprint)
    return app
