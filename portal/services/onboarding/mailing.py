"""The onboarding emails: rendered from templates/mail/, sent now through `services.mail`."""

from __future__ import annotations

import smtplib

from flask import current_app

from portal.services import DomainError
from portal.services.mail import send_message


class NotSent(DomainError):
    """The SMTP server could not be reached or refused the message."""


def send_onboarding_mail(to: str, subject: str, template: str, **context: object) -> None:
    """Send `templates/mail/<template>.txt` (and .html) to one person, now."""
    env = current_app.jinja_env
    text = env.get_template(f"mail/{template}.txt").render(**context)
    html = env.get_template(f"mail/{template}.html").render(**context)
    try:
        send_message(to, subject, text, html)
    except (smtplib.SMTPException, OSError) as error:
        raise NotSent(f"The email to {to} could not be sent ({error}); try again.") from error
