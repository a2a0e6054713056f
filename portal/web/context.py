"""Template globals and filters: who is signed in, where they can go, what they may do here."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request
from flask_login import current_user

from portal.extensions import htmx
from portal.models import Role
from portal.tenancy import (
    Capability,
    accessible_clinics,
    administered_agencies,
    can,
    member_agencies,
)

from .confirm import confirm_button_values
from .formatting import money, register_formatting
from .words import state_label

__all__ = ["money", "query_args", "register_context"]


def _navigation() -> dict[str, Any]:
    # Fragments (the 1-second progress polls among them) have no navigation: no queries for it.
    if not current_user.is_authenticated or (htmx and not htmx.boosted):
        return {"nav_clinics": [], "nav_agencies": [], "nav_member_agencies": []}
    return {
        "nav_clinics": accessible_clinics(current_user),
        "nav_agencies": administered_agencies(current_user),
        "nav_member_agencies": member_agencies(current_user),
    }


# url_for's own keywords, which a query string must never supply.
_RESERVED = {"endpoint", "values", "_method", "_external", "_anchor", "_scheme"}


def query_args(**overrides: Any) -> dict[str, Any]:
    """The request's query arguments, safe to pass on to url_for: none of url_for's own keywords,
    none that would replace the page's path arguments (its clinic, its run), then `overrides`."""
    taken = _RESERVED | set(request.view_args or {})
    kept = {k: v for k, v in request.args.items() if k not in taken and not k.startswith("_")}
    return kept | overrides


def register_context(app: Flask) -> None:
    register_formatting(app)
    app.add_template_global(query_args)  # a global: imported macros (the pager) see it too
    app.add_template_filter(state_label)
    app.add_template_global(confirm_button_values)

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
