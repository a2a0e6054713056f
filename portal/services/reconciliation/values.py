"""Cell values as clinics' exports write them: money, dates, quantities, codes and flags."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# What may stand around a number in a money cell: a currency code at either end, a currency sign,
# spaces, a sign or parentheses. Any other letter is a typo (a letter O for a zero), never noise.
_CURRENCY_CODES = ("AUD", "NZD", "USD", "GBP", "EUR", "CAD", "SGD", "HKD")
_CODE_AT_ENDS = re.compile(r"^(?:%s)\s*|\s*(?:%s)$" % (("|".join(_CURRENCY_CODES),) * 2), re.I)
_CURRENCY_SIGN = re.compile(r"(?:A|AU|NZ|US|S|HK|C)?\$|[€£]")
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d*)?|\.\d+")
_DATE_FORMATS = ("%d/%m/%Y", "%d/%m/%y", "%d-%m-%Y", "%d.%m.%Y", "%d %b %Y", "%d %B %Y")
_TRUE = {"yes", "y", "true", "1", "archived", "deleted", "void", "voided"}


class BadValue(ValueError):
    """A cell that cannot be read; the message names the cell and the problem."""


def parse_cents(text: str, what: str = "amount") -> int:
    """'$1,250.00', '-250.00', '(250.00)', '250.00-', 'AUD 12.5' → cents (signed).

    Only currency codes and signs, thousands separators, spaces, parentheses and signs are
    accepted around the digits: '-1O.00' (a letter O) is refused, never read as -1.00.
    """
    shown = text.strip()[:40]
    raw = text.strip().replace("\u2212", "-")  # the typographic minus Excel sometimes writes
    if not raw:
        raise BadValue(f"the {what} is empty")
    negative = raw.startswith("(") and raw.endswith(")")
    body = raw[1:-1] if negative else raw
    body = _CODE_AT_ENDS.sub("", body.strip())
    if body.endswith("-"):
        negative, body = not negative, body[:-1]
    body = _CURRENCY_SIGN.sub("", body.replace(" ", "").replace("\u00a0", ""), count=1)
    if body[:1] in "-+" and body:
        negative, body = negative != (body[0] == "-"), body[1:]
    body = _CURRENCY_SIGN.sub("", body, count=1)  # '-$50.00' as well as '$-50.00'
    if not _NUMBER.fullmatch(body):
        raise BadValue(f"the {what} {shown!r} is not a number")
    value = Decimal(body.replace(",", ""))
    if abs(value) >= Decimal(10) ** 9:
        raise BadValue(f"the {what} {shown!r} is out of range")
    cents = int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return -cents if negative else cents


def parse_quantity(text: str) -> Decimal:
    """Decimal quantities (Cliniko allows 0.5); empty means 1."""
    raw = text.strip().replace(",", "")
    if not raw:
        return Decimal(1)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise BadValue(f"the quantity {text.strip()[:40]!r} is not a number") from None
    if not value.is_finite() or abs(value) > 100_000:
        raise BadValue(f"the quantity {text.strip()[:40]!r} is out of range")
    return value


def parse_date(text: str) -> date | None:
    """dd/mm/yyyy (Australian exports) or ISO, with or without a time; empty is None."""
    raw = text.strip()
    if not raw:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    head = raw.split(" ")[0] if raw[:1].isdigit() and ":" in raw else raw
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(head, fmt).date()  # noqa: DTZ007 — a local date, no zone
        except ValueError:
            continue
    raise BadValue(f"the date {raw[:40]!r} is neither dd/mm/yyyy nor yyyy-mm-dd")


def clean_code(text: str) -> str:
    """Codes as staff type them: stray spaces (also inside) and case do not matter."""
    return "".join(text.split()).upper()  # split() drops the same whitespace as \s+


def is_true(text: str) -> bool:
    return text.strip().lower() in _TRUE
