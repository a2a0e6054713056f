"""VaocherApp accounts, vouchers and their ledgers (vaocherapp.md §5-§6); money in integer cents."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from . import assumptions as guess


@dataclass
class Transaction:
    """One ledger entry: a redeem (or, later, a top-up)."""

    id: str
    kind: str
    amount: int
    reason: str
    created_at: datetime


@dataclass
class Voucher:
    """A gift voucher; "partly used" is active with a lower balance."""

    id: str
    code: str
    amount: int
    remain_balance: int
    expiry: datetime | None
    created_at: datetime
    updated_at: datetime
    purchaser_name: str
    purchaser_email: str
    recipient_name: str | None = None
    recipient_email: str | None = None
    message: str | None = None
    order_id: str = ""
    order_number: int = 0
    currency: str = "AUD"
    voided: bool = False
    transactions: list[Transaction] = field(default_factory=list)

    def status_at(self, now: datetime) -> str:
        """Voided wins; then expiry (so moving the clock expires vouchers); then balance."""
        if self.voided:
            return guess.VOUCHER_VOIDED
        if self.expiry is not None and self.expiry <= now:
            return guess.VOUCHER_EXPIRED
        return guess.VOUCHER_REDEEMED if self.remain_balance <= 0 else guess.VOUCHER_ACTIVE


def stamp(when: datetime | None) -> str | None:
    return None if when is None else when.strftime(guess.VAOCHERAPP_TIME_FORMAT)


class _StatusView:
    """A voucher with its status fixed at one moment, for the JSON builder."""

    def __init__(self, voucher: Voucher, now: datetime) -> None:
        self._voucher = voucher
        self.status = voucher.status_at(now)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._voucher, name)


def voucher_json(voucher: Voucher, now: datetime) -> dict[str, Any]:
    return guess.voucher_json(_StatusView(voucher, now), stamp)


@dataclass
class VoucherBook:
    """One mode's vouchers: live and test data never mix (x-vaocherapp-test-mode)."""

    vouchers: dict[str, Voucher] = field(default_factory=dict)
    order_numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(10001))

    def find(self, code: str) -> Voucher | None:
        # The plugin trims codes; staff type them in any case.
        return self.vouchers.get(code.strip().upper())

    def add(self, voucher: Voucher) -> Voucher:
        self.vouchers[voucher.code.upper()] = voucher
        return voucher


@dataclass
class VaocherAccount:
    """A clinic's VaocherApp account: key, webhook secret, registered webhooks, two books."""

    id: str
    name: str
    api_key: str
    webhook_secret: str
    currency: str = "AUD"
    live: VoucherBook = field(default_factory=VoucherBook)
    test: VoucherBook = field(default_factory=VoucherBook)
    webhooks: list[dict[str, str]] = field(default_factory=list)

    def book(self, test_mode: bool) -> VoucherBook:
        return self.test if test_mode else self.live


def new_uuid(rng: Any) -> str:
    """A version-4 UUID string drawn from the seeded generator."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
