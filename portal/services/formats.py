"""Money as the portal writes it into stored messages (timelines, reasons, report lines): the same
Babel en_AU format the pages use, so "$1,500.00" reads the same everywhere."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel.numbers import format_currency

LOCALE = "en_AU"
CURRENCY = "AUD"


def money_text(cents: int) -> str:
    """150000 → "$1,500.00"; -5000 → "-$50.00"."""
    return _money_text(int(cents))


@lru_cache(maxsize=4096)
def _money_text(cents: int) -> str:
    # Babel takes ~0.1 ms a call; a plan writes a few amounts thousands of times over.
    return format_currency(Decimal(cents) / 100, CURRENCY, locale=LOCALE)


def dollars_text(amount: Decimal | str) -> str:
    """A decimal amount in dollars ("12.5") → "$12.50"."""
    return format_currency(Decimal(str(amount)), CURRENCY, locale=LOCALE)
