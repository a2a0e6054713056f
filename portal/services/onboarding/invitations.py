"""Invitations: an agency admin invites a person by email; the signed link (7 days, single-use)
lets them set their own password, or join with the account they already have.

An admin learns nothing about accounts outside their agency: inviting an address that has an
account elsewhere looks exactly like inviting a new one (same message, same email, no name),
and that account joins only when its owner accepts."""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from sqlalchemy import select

from portal.extensions import db
from portal.models import Agency, Invitation, InvitationState, Role, User
from portal.models.types import utcnow
from portal.services import DomainError
from portal.services.accounts import hash_password, normalise_email
from portal.services.audit import record_event
from portal.services.passwords import check_new_password
from portal.services.users import check_access_choice, grant_access, is_member

from .links import LIFETIMES, LinkNotValid, Purpose, lifetime_words, make_token, public_url
from .links import read_token as _read
from .mailing import send_onboarding_mail

INVITATION_PATH = "/welcome/{token}"  # the invitations blueprint serves this path
EXPIRED = "This invitation has expired. Ask whoever invited you to send it again."


def invite_person(
    agency: Agency,
    actor: User,
    email: str,
    name: str,
    role: Role,
    clinic_ids: Iterable[int],
    base_url: str | None = None,
) -> Invitation:
    """Invite `email` to the agency in `role` and send the link (inviting again renews it)."""
    email = normalise_email(email)
    chosen = check_access_choice(agency, role, clinic_ids)
    if is_member(agency, email):
        raise DomainError(f"{email} already has access to {agency.name}: change their access.")
    invitation = _pending_for(agency, email)
    if invitation is None:
        invitation = Invitation(agency_id=agency.id, email=email)
        db.session.add(invitation)
    invitation.name, invitation.role = name.strip(), str(role)
    invitation.clinic_ids, invitation.invited_by_id = sorted(chosen), actor.id
    _renew_and_send(invitation, actor, base_url)
    detail = {"role": str(role), "clinics": [c.name for c in agency.clinics if c.id in chosen]}
    record_event("user.invite", actor, agency=agency, target=email, detail=detail)
    return invitation


def resend_invitation(invitation: Invitation, actor: User, base_url: str | None = None) -> None:
    """A fresh link, valid for another 7 days; links sent before stop working."""
    if invitation.state() in (InvitationState.ACCEPTED, InvitationState.REVOKED):
        raise DomainError("This invitation was already accepted or revoked.")
    _renew_and_send(invitation, actor, base_url)
    record_event("user.invite_resend", actor, agency=invitation.agency, target=invitation.email)


def revoke_invitation(invitation: Invitation, actor: User) -> None:
    if invitation.state() in (InvitationState.ACCEPTED, InvitationState.REVOKED):
        raise DomainError("This invitation was already accepted or revoked.")
    invitation.revoked_at = utcnow()
    record_event("user.invite_revoke", actor, agency=invitation.agency, target=invitation.email)
    db.session.flush()


def open_invitations(agency: Agency) -> list[Invitation]:
    """Invitations not yet accepted or revoked (expired ones too: they can be sent again)."""
    stmt = (
        select(Invitation)
        .where(
            Invitation.agency_id == agency.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    )
    return list(db.session.scalars(stmt))


def agency_invitation_or_none(agency: Agency, invitation_id: int) -> Invitation | None:
    stmt = select(Invitation).where(
        Invitation.agency_id == agency.id, Invitation.id == invitation_id
    )
    return db.session.scalar(stmt)


def invitation_from_link(token: str) -> Invitation:
    """The pending invitation a link names, or LinkNotValid saying why it cannot be used."""
    payload = _read(Purpose.INVITATION, token, EXPIRED)
    invitation_id, nonce = payload.get("i"), payload.get("n")
    invitation = (
        db.session.get(Invitation, invitation_id) if isinstance(invitation_id, int) else None
    )
    if invitation is None or not isinstance(nonce, str):
        raise LinkNotValid("This invitation link is not valid.")
    state = invitation.state()
    if state == InvitationState.ACCEPTED:
        raise LinkNotValid("This invitation was already accepted: sign in instead.")
    if state == InvitationState.REVOKED:
        raise LinkNotValid("This invitation was withdrawn.")
    if state == InvitationState.EXPIRED:
        raise LinkNotValid(EXPIRED)
    if not secrets.compare_digest(nonce, invitation.nonce):
        raise LinkNotValid("A newer invitation was sent to you: use the link in that email.")
    return invitation


def existing_account(invitation: Invitation) -> User | None:
    return db.session.scalar(select(User).where(User.email == invitation.email))


def accept_as_new_person(invitation: Invitation, name: str, password: str) -> User:
    """Make the account with the person's own password, and give it the invited access."""
    if existing_account(invitation) is not None:
        raise DomainError("You already have an account: sign in to accept this invitation.")
    name = name.strip() or invitation.name
    check_new_password(password, email=invitation.email, name=name)
    user = User(email=invitation.email, name=name, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    _accept(invitation, user)
    return user


def accept_as_signed_in(invitation: Invitation, user: User) -> None:
    """The person, signed in with the invited email, joins the agency."""
    if user.email != invitation.email:
        raise DomainError(f"This invitation is for {invitation.email}: sign in with that email.")
    _accept(invitation, user)


def _accept(invitation: Invitation, user: User) -> None:
    agency = invitation.agency
    role = Role(invitation.role)
    clinic_ids = {c.id for c in agency.clinics} & set(invitation.clinic_ids or [])
    if role != Role.AGENCY_ADMIN and not clinic_ids:
        raise DomainError("The clinics of this invitation no longer exist: ask for a new one.")
    grant_access(agency, user, role, clinic_ids)
    invitation.accepted_at, invitation.accepted_by_id = utcnow(), user.id
    record_event("user.accept_invitation", user, agency=agency, target=user.email)
    db.session.flush()


def _pending_for(agency: Agency, email: str) -> Invitation | None:
    stmt = (
        select(Invitation)
        .where(
            Invitation.agency_id == agency.id,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .order_by(Invitation.id.desc())
        .limit(1)
    )
    return db.session.scalar(stmt)


def _renew_and_send(invitation: Invitation, actor: User, base_url: str | None) -> None:
    now = utcnow()
    invitation.nonce = secrets.token_urlsafe(16)
    invitation.expires_at = now + LIFETIMES[Purpose.INVITATION]
    invitation.sent_at = now
    db.session.flush()
    token = make_token(Purpose.INVITATION, {"i": invitation.id, "n": invitation.nonce})
    link = public_url(INVITATION_PATH.format(token=token), base_url)
    send_onboarding_mail(
        invitation.email,
        f"{actor.name} invited you to {invitation.agency.name} on Clinic Portal",
        "invitation",
        invitation=invitation,
        inviter=actor,
        role_label=Role(invitation.role).label,
        link=link,
        lifetime=lifetime_words(Purpose.INVITATION),
    )
