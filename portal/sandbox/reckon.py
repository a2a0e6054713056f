"""Reckon One emulator: identity server, v2 API and control routes, wired for the sandbox app.

`World.reset` builds `ReckonWorld(seed, clinic_names, clock)`; `create_app` registers `blueprints`.
Inferred behaviour lives in `reckon_assumptions.py`.
"""

from __future__ import annotations

from flask import Blueprint

from . import (
    reckon_api,
    reckon_control,
    reckon_identity,
    reckon_invoices,
    reckon_parties,
    reckon_receipts,
)
from .reckon_world import ReckonWorld

blueprints: list[Blueprint] = [
    reckon_identity.bp,
    reckon_api.bp,
    reckon_parties.bp,
    reckon_invoices.bp,
    reckon_receipts.bp,
    reckon_control.bp,
]

__all__ = ["ReckonWorld", "blueprints"]
