"""Money, times and dates as people in an Australian clinic read them (Babel, en_AU), every time
in the zone of the page: a clinic's own, an agency's (the zone most of its clinics are in), or
else the person's. Filters that make a time return a <time> element with the instant in ISO."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from email.utils import parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_timedelta
from babel.numbers import format_currency
from flask import Flask, g, has_request_context
from flask_babel import Babel
from flask_login import current_user
from markupsafe import Markup

from portal.models.types import utcnow
from portal.services.timezones import DEFAULT_TIMEZONE, agency_timezone, user_timezone

LOCALE = "en_AU"
CURRENCY = "AUD"
FORMATS = {
    "datetime": "d MMM y, h:mm a z",
    "seconds": "d MMM y, h:mm:ss a z",
    "time": "h:mm:ss a",
    "short": "d MMM, h:mm a z",
}
MINUS = "\u2212"  # a true minus sign, as wide as the plus: U+2212
SIGNED = f"+¤#,##0.00;{MINUS}¤#,##0.00"


def money(cents: int | None) -> str:
    """Cents as people read dollars: 150000 → "$1,500.00", -5000 → "-$50.00"."""
    if cents is None:
        return ""
    return format_currency(Decimal(int(cents)) / 100, CURRENCY, locale=LOCALE)


def signed_money(cents: int | None) -> str:
    """Money with its sign always shown: +$500.00 for a sale line, minus $500.00 for a use."""
    if cents is None:
        return ""
    if cents == 0:
        return money(0)
    return format_currency(Decimal(int(cents)) / 100, CURRENCY, format=SIGNED, locale=LOCALE)


def dollars(amount: str | Decimal | None) -> str:
    """A decimal amount in dollars ("1500.5", as stored for accounting) shown as `money` does."""
    if amount in (None, ""):
        return ""
    return money(int((Decimal(str(amount)) * 100).to_integral_value(ROUND_HALF_UP)))


def amount_or_text(value: str | None) -> str:
    """A stored value that is an amount in dollars ("12.5") as money; words ("Paid") as they are."""
    if value in (None, ""):
        return ""
    try:
        return dollars(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return str(value)


def page_zone() -> ZoneInfo:
    """The zone this page shows times in (worked out once per request)."""
    if not has_request_context():
        return ZoneInfo(DEFAULT_TIMEZONE)
    if "page_zone" not in g:
        clinic, agency = g.get("clinic"), g.get("agency")
        if clinic is not None:
            name = clinic.timezone
        elif agency is not None:
            name = agency_timezone(agency)
        elif current_user.is_authenticated:
            name = user_timezone(current_user)
        else:
            name = DEFAULT_TIMEZONE
        g.page_zone = ZoneInfo(name)
    zone: ZoneInfo = g.page_zone
    return zone


def _zone(zone: str | None) -> ZoneInfo:
    return ZoneInfo(zone) if zone else page_zone()


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=ZoneInfo("UTC"))


def time_text(when: datetime | None, style: str = "datetime", zone: str | None = None) -> str:
    """An instant as plain text in the page's zone, with the zone: "5 Mar 2026, 2:30 pm AEDT"."""
    if when is None:
        return ""
    return format_datetime(_aware(when), FORMATS[style], tzinfo=_zone(zone), locale=LOCALE)


def local_time(when: datetime | None, style: str = "datetime", zone: str | None = None) -> Markup:
    """`time_text` in a <time> element that carries the exact instant."""
    if when is None:
        return Markup("")
    text = time_text(when, style, zone)
    return Markup('<time datetime="{}">{}</time>').format(_aware(when).isoformat(), text)


def local_date(when: date | datetime | None, zone: str | None = None) -> str:
    """A day as people write it: "5 Mar 2026" (an instant's day in the page's zone)."""
    if when is None:
        return ""
    if isinstance(when, datetime):
        when = _aware(when).astimezone(_zone(zone)).date()
    return format_date(when, "d MMM y", locale=LOCALE)


def ago_text(when: datetime | None, now: datetime | None = None) -> str:
    """How long ago (or from now): "3 minutes ago", "in 2 hours", "just now"."""
    if when is None:
        return ""
    delta = _aware(when) - (now or utcnow())
    if abs(delta) < timedelta(seconds=10):
        return "just now"
    return format_timedelta(delta, add_direction=True, threshold=1.0, locale=LOCALE)


def ago(when: datetime | None) -> Markup:
    """`ago_text` in a <time> element whose title is the full local time."""
    if when is None:
        return Markup("")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        _aware(when).isoformat(), time_text(when), ago_text(when)
    )


def duration(seconds: float | None) -> str:
    """A span of time, to the second under an hour: "1 min 05 s", "2 h 03 min", "12 s"."""
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def zone_name(zone: str | None = None) -> str:
    """The page's zone as people name it: "Australia/Sydney (AEDT)"."""
    tz = _zone(zone)
    short = format_datetime(utcnow(), "z", tzinfo=tz, locale=LOCALE)
    return f"{tz.key.replace('_', ' ')} ({short})" if short != tz.key else tz.key


def month(value: str | None) -> str:
    """A stored month ("2026-03") as people write it: "Mar 2026"."""
    try:
        year, mon = (int(part) for part in str(value or "").split("-")[:2])
        return format_date(date(year, mon, 1), "MMM y", locale=LOCALE)
    except ValueError:
        return str(value or "")


def mail_date(value: str | None) -> str:
    """A mail's Date header ("Mon, 30 Nov 2026 01:02:03 +0000") as a local time."""
    try:
        return time_text(parsedate_to_datetime(str(value or "")))
    except (TypeError, ValueError):
        return str(value or "")


def number(value: int | None) -> str:
    return "" if value is None else f"{int(value):,}"


def register_formatting(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", LOCALE)
    Babel(app, timezone_selector=lambda: page_zone().key)
    filters: dict[str, Callable[..., Any]] = {
        "money": money,
        "signed_money": signed_money,
        "dollars": dollars,
        "amount_or_text": amount_or_text,
        "local_time": local_time,
        "time_text": time_text,
        "local_date": local_date,
        "ago": ago,
        "ago_text": ago_text,
        "duration": duration,
        "number": number,
        "month": month,
        "mail_date": mail_date,
    }
    for name, fn in filters.items():
        app.add_template_filter(fn, name)
    app.add_template_global(zone_name)
