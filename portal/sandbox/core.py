"""Small helpers every emulator shares: timestamps, money, ids and JSON errors."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Response, jsonify


def iso_z(when: datetime | None) -> str | None:
    """Cliniko-style UTC timestamp to the second, e.g. 2014-12-18T10:47:08Z."""
    if when is None:
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Parse an ISO date or datetime (Z or offset); naive values are taken as UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_date(text: str) -> date:
    """Parse YYYY-MM-DD."""
    return date.fromisoformat(text.strip())


def dec_str(amount: Decimal | None) -> str | None:
    """Rails BigDecimal#to_s style: 10 -> "10.0", 2367.18 -> "2367.18"."""
    if amount is None:
        return None
    text = format(amount.normalize(), "f")
    return text if "." in text else text + ".0"


def to_decimal(value: Any) -> Decimal | None:
    """Accept a number or a decimal string (Cliniko takes both); None when not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def json_error(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    """A JSON error response with the given status."""
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class IdSequence:
    """Large, increasing ids serialised as strings, like Cliniko's 64-bit ids."""

    def __init__(self, base: int, step: int = 137) -> None:
        self._counter = itertools.count(1)
        self._base = base
        self._step = step

    def next(self) -> str:
        return str(self._base + next(self._counter) * self._step)
