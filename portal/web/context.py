"""Template globals: who is signed in, where they can go, and what they may do here."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from flask_login import current_user

from portal.models import Role
from portal.tenancy import Capability, accessible_clinics, administered_agencies, can


def _navigation() -> dict[str, Any]:
    if not current_user.is_authenticated:
        return {"nav_clinics": [], "nav_agencies": []}
    return {
        "nav_clinics": accessible_clinics(current_user),
        "nav_agencies": administered_agencies(current_user),
    }


def register_context(app: Flask) -> None:
    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            **_navigation(),
            "can": can,
            "Capability": Capability,
            "Role": Role,
            "demo_mode": current_app.config["DEMO_MODE"],
            "clinic": g.get("clinic"),
            "agency": g.get("agency"),
            "role": g.get("role"),
        }
