"""Tolerant converters from upstream JSON values to Python types (shared by all clients)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any


def opt_str(value: Any) -> str | None:
    """A string, or None for null/empty (upstream examples mix "" and null)."""
    return None if value is None or value == "" else str(value)


def to_id(value: Any) -> str:
    """IDs are strings (Cliniko's are 64-bit and old examples send ints)."""
    return "" if value is None else str(value)


def to_decimal(value: Any) -> Decimal | None:
    """Decimal from a decimal string or JSON number (via str, so floats add no binary noise)."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def to_datetime(value: Any) -> datetime | None:
    """Aware datetime from ISO 8601 with Z or offset; None for null/empty."""
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def to_date(value: Any) -> date | None:
    """A calendar date from "YYYY-MM-DD" or the date part of a timestamp."""
    if not value:
        return None
    return date.fromisoformat(str(value)[:10])


def link_id(obj: Any) -> str | None:
    """The trailing id of a `{"links": {"self": ".../things/123"}}` reference."""
    if not isinstance(obj, dict):
        return None
    url = (obj.get("links") or {}).get("self") or ""
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    return tail or None


def ref_id(obj: Any) -> str | None:
    """The id of a Reckon `{id, name}` reference."""
    return opt_str(obj.get("id")) if isinstance(obj, dict) else None


def ref_name(obj: Any) -> str | None:
    """The name of a Reckon `{id, name}` reference."""
    return opt_str(obj.get("name")) if isinstance(obj, dict) else None


def utc_z(moment: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ` in UTC, the form Cliniko filters accept."""
    if moment.tzinfo is None:
        raise ValueError("timestamps sent upstream must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
