"""Demo only: the messages the local SMTP sink captured ("Sent emails"), so alerts can be seen
without a mail account. Each person sees the mail sent to them and to the people of the agencies
they administer (and the people those agencies invited)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user, login_required

from portal.demo.mailsink import SunkMessage, read_messages
from portal.services.onboarding.invitations import open_invitations
from portal.services.users import list_agency_users
from portal.tenancy import administered_agencies

bp = Blueprint("demo_mail", __name__)


def _visible_addresses() -> set[str]:
    addresses = {current_user.email.lower()}
    for agency in administered_agencies(current_user):
        addresses |= {u.email.lower() for u in list_agency_users(agency)}
        addresses |= {i.email for i in open_invitations(agency)}
    return addresses


def _addressed_to(message: SunkMessage, addresses: set[str]) -> bool:
    return any(any(a in to.lower() for a in addresses) for to in message.to)


@bp.get("/")
@login_required
def index() -> str:
    if not current_app.config["DEMO_MODE"]:
        abort(404)
    sink = current_app.config.get("MAIL_SINK_DIR") or ""
    addresses = _visible_addresses()
    messages = [m for m in read_messages(Path(sink)) if _addressed_to(m, addresses)] if sink else []
    return render_template(
        "demo/sent_emails.html",
        messages=messages,
        sink=sink,
        mail_server=current_app.config.get("MAIL_SERVER"),
    )
