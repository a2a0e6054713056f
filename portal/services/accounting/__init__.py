"""Accounting: keeping the clinic's Reckon book in step with Cliniko.

setup (mapping settings), schedule (when syncs run), source (Cliniko reads), map (Cliniko → Reckon
shapes), push (Reckon writes), sync (one run's phases), compare and report (the mismatch report),
links (deep links to both sides). May import models, clients, `portal.services` single-file
services and `portal.services.connections`; never jobs or web.
"""
