"""The sandbox Flask app: one process serving all three emulators and the control plane."""

from __future__ import annotations

from flask import Flask

from .world import World


def create_app(seed: int = 1, scale: int = 1, extra_clinics: int = 0) -> Flask:
    """Build the sandbox app with a freshly seeded world (plus `extra_clinics` of one agency)."""
    from . import middleware
    from .cliniko.routes import bp as cliniko_bp
    from .control import cliniko as control_cliniko
    from .control import plane as control
    from .control import reckon as control_reckon
    from .control import vaocherapp as control_vaocherapp
    from .reckon.blueprints import blueprints as reckon_blueprints
    from .vaocherapp import api as vaocherapp

    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["sandbox"] = World(seed=seed, scale=scale, extra_clinics=extra_clinics)
    middleware.install(app)
    app.register_blueprint(cliniko_bp)
    app.register_blueprint(control.bp)
    app.register_blueprint(control_cliniko.bp)
    app.register_blueprint(vaocherapp.bp)
    app.register_blueprint(control_vaocherapp.bp)
    for blueprint in reckon_blueprints:
        app.register_blueprint(blueprint)
    app.register_blueprint(control_reckon.bp)
    return app
