"""The Reckon One emulator's blueprints (identity server and v2 API), for `create_app` to register.

`World.reset` builds `world.ReckonWorld(seed, clinic_names, clock)`; the test-only routes under
/_sandbox/reckon are `control.reckon`. Inferred behaviour lives in `assumptions.py`.
"""

from __future__ import annotations

from flask import Blueprint

from . import api, creditnotes, identity, invoices, parties, receipts

blueprints: list[Blueprint] = [
    identity.bp,
    api.bp,
    parties.bp,
    invoices.bp,
    receipts.bp,
    creditnotes.bp,
]
