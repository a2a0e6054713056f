"""Sending email (Flask-Mailman, configured by the MAIL_* settings): one call for every feature."""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app
from flask_mailman import EmailMultiAlternatives

from portal.services import DomainError


class MailNotConfigured(DomainError):
    """No MAIL_SERVER is set, so nothing can be sent."""

    def __init__(self) -> None:
        super().__init__("Email is not configured (set MAIL_SERVER).")


def mail_configured() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def send_message(to: str | Sequence[str], subject: str, text: str, html: str | None = None) -> None:
    """Send one message now (plain text, with an HTML alternative when given).

    Raises MailNotConfigured without a MAIL_SERVER; the SMTP server's refusals and connection
    errors (smtplib.SMTPException, OSError) reach the caller, which decides whether to retry."""
    if not mail_configured():
        raise MailNotConfigured()
    recipients = [to] if isinstance(to, str) else list(to)
    message = EmailMultiAlternatives(subject=subject, body=text, to=recipients)
    if html is not None:
        message.attach_alternative(html, "text/html")
    message.send(fail_silently=False)
