"""Cliniko: link an API key (its shard from the key's suffix), check it, build the client."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app

from portal.clients import UpstreamError
from portal.clients.cliniko import RATE_LIMIT, ClinikoClient, shard_from_api_key
from portal.clients.cliniko_links import valid_subdomain
from portal.clients.ratelimit import RateLimit
from portal.extensions import db, redis_holder
from portal.models import Clinic, Connection, Provider, User
from portal.services import UpstreamFailed
from portal.services.audit import record_event
from portal.services.connections.records import (
    connection_row,
    probe,
    record_check,
    secrets_of,
    store_secrets,
)


def cliniko_client(conn: Connection) -> ClinikoClient:
    cfg = current_app.config
    return ClinikoClient(
        secrets_of(conn)["api_key"],
        app_name=cfg["CLINIKO_APP_NAME"],
        contact_email=cfg["CLINIKO_CONTACT_EMAIL"],
        base_url_template=cfg["CLINIKO_BASE_URL_TEMPLATE"],
        rate_limit=RateLimit(RATE_LIMIT.limit, cfg["CLINIKO_RATE_WINDOW_SECONDS"]),
        rate_store=redis_holder.get_or_none(),  # one window for all workers
    )


def link_cliniko(clinic: Clinic, actor: User, api_key: str) -> Connection:
    """Test the key against Cliniko, then store it with the account's name and subdomain."""
    api_key = api_key.strip()
    try:
        shard = shard_from_api_key(api_key)
    except UpstreamError as error:  # UnknownShard says what is wrong with the suffix
        raise UpstreamFailed(str(error)) from error
    conn = connection_row(clinic, Provider.CLINIKO)
    store_secrets(conn, {"api_key": api_key}, api_key)
    conn.details = {"shard": shard}
    check_cliniko(conn, refuse_rejected=True)
    client = cliniko_client(conn)
    try:
        zone = _business_zone(client) or conn.details.get("time_zone")
    finally:
        client.close()
    if (
        zone and _valid_zone(zone) and zone != clinic.timezone
    ):  # accounting dates are the clinic's local dates
        clinic.timezone = zone
        record_event("clinic.timezone", actor, clinic=clinic, target=zone)
    record_event("connection.link", actor, clinic=clinic, target="cliniko")
    db.session.flush()
    return conn


def _business_zone(client: ClinikoClient) -> str | None:
    """The first business's IANA time zone (where its invoices are dated), if it says."""
    try:
        row = next(iter(client.iter_records("businesses", [])), None)
    except UpstreamError:
        return None
    return str(row.get("time_zone_identifier") or "") if row else None


def _valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):
        return False
    return True


def check_cliniko(conn: Connection, refuse_rejected: bool = False) -> None:
    client = cliniko_client(conn)
    answer = probe(
        conn, client, lambda: (client.get_user(), client.get_settings()), refuse_rejected
    )
    if answer is None:
        return
    user, settings = answer
    conn.details = {
        **conn.details,
        "account_name": settings.account_name,
        # Used in deep links: kept only when it is a plain subdomain (no dots, slashes or '@').
        "subdomain": settings.subdomain if valid_subdomain(settings.subdomain) else "",
        "user_name": f"{user.first_name} {user.last_name}".strip(),
    }
    if settings.time_zone_identifier and _valid_zone(settings.time_zone_identifier):
        conn.details = {**conn.details, "time_zone": settings.time_zone_identifier}
    record_check(conn, None)
