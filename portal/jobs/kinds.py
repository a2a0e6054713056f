"""Imports every job-kind module so each registers itself; import this before looking kinds up."""

from . import connection_checks, demo, reconciliation, vouchers  # noqa: F401
from .accounting_report import run_accounting_report  # noqa: F401
from .accounting_sync import run_accounting_sync  # noqa: F401
