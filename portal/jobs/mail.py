"""Mail a person asked for without being signed in (a password reset), sent from the worker so
the request that asked answers at once and takes the same time whether the account exists."""

from __future__ import annotations

from flask import current_app

from portal.extensions import db
from portal.services.onboarding.credentials import send_password_reset

from .queue import Priority, get_queue

SEND_RESET = "portal.jobs.mail.send_reset"


def queue_password_reset(email: str, base_url: str) -> None:
    """Queue the reset email for `email` (the job finds out whether it has an account)."""
    queue = get_queue(Priority.INTERACTIVE)  # a person is waiting for this email
    queue.enqueue(SEND_RESET, email, base_url, result_ttl=600, failure_ttl=86400)


def send_reset(email: str, base_url: str) -> str:
    """The RQ entry point."""
    with current_app.app_context():
        sent = send_password_reset(email, base_url)
        db.session.commit()
        return "sent" if sent else "no such account"
