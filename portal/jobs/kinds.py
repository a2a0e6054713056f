"""Imports every job-kind module so each registers itself; import this before looking kinds up."""

from . import connection_checks, demo, reconciliation  # noqa: F401
