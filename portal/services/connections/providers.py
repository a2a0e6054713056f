"""The provider table: what checking each provider's connection means, in one place."""

from __future__ import annotations

from collections.abc import Callable

from portal.extensions import db
from portal.models import Connection, ConnectionStatus, Provider
from portal.services.connections.cliniko import check_cliniko
from portal.services.connections.reckon import check_reckon
from portal.services.connections.vaocherapp import check_vaocherapp

CHECKS: dict[Provider, Callable[[Connection], None]] = {
    Provider.CLINIKO: check_cliniko,
    Provider.VAOCHERAPP: check_vaocherapp,
    Provider.RECKON: check_reckon,
}


def check_connection(conn: Connection) -> ConnectionStatus:
    """Call the upstream with the stored credentials and record the connection's health."""
    CHECKS[Provider(conn.provider)](conn)
    db.session.flush()
    return ConnectionStatus(conn.status)
