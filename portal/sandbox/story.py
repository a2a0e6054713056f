"""The vouchers each clinic has sold: one plan both the VaocherApp and Cliniko seeds follow."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from .names import person, voucher_code


@dataclass(frozen=True)
class VoucherStory:
    """A voucher's life so far, in both systems."""

    code: str
    amount: int  # cents
    remain: int
    expiry: datetime | None
    voided: bool
    created_at: datetime
    purchaser: tuple[str, str, str]
    in_cliniko: bool  # the integration already made the patient and billable item
    use: str | None  # "less" | "equal" | "more" | "done": how a Cliniko invoice used it
    label: str


# (label, amount, remain, expiry, voided, in_cliniko, use): every state the portal must handle.
BASE_STORIES = (
    ("active-full", 10000, 10000, "future", False, True, None),
    ("active-partly-used", 15000, 6000, "future", False, True, None),
    ("redeemed", 9500, 0, "future", False, True, "done"),
    ("voided", 5000, 5000, "future", True, True, None),
    ("expired", 7500, 7500, "past", False, True, None),
    ("never-expires", 20000, 20000, "never", False, True, None),
    ("used-less", 5000, 5000, "future", False, True, "less"),
    ("used-equal", 9500, 9500, "never", False, True, "equal"),
    ("used-more", 15000, 15000, "future", False, True, "more"),
    ("not-yet-in-cliniko", 12000, 12000, "future", False, False, None),
)


def _story(rng: random.Random, anchor: datetime, spec: tuple, codes: set[str]) -> VoucherStory:
    label, amount, remain, expiry_kind, voided, in_cliniko, use = spec
    # Expired vouchers were bought over a year ago; the rest in the last few months.
    days = rng.randint(400, 500) if expiry_kind == "past" else rng.randint(30, 200)
    created = anchor - timedelta(days=days, seconds=rng.randint(0, 86_399))
    expiry = None if expiry_kind == "never" else created + timedelta(days=365)
    code = voucher_code(rng)
    while code in codes:
        code = voucher_code(rng)
    codes.add(code)
    return VoucherStory(
        code, amount, remain, expiry, voided, created, person(rng), in_cliniko, use, label
    )


def voucher_stories(rng: random.Random, anchor: datetime, scale: int) -> list[VoucherStory]:
    """The base set plus, with scale, more vouchers in random states."""
    codes: set[str] = set()
    stories = [_story(rng, anchor, spec, codes) for spec in BASE_STORIES]
    for _ in range((scale - 1) * 10):
        label, _amount, _remain, expiry, voided, in_cliniko, use = rng.choice(BASE_STORIES)
        amount = rng.choice((5000, 7500, 9500, 10000, 15000, 20000))
        remain = {"redeemed": 0, "active-partly-used": amount * 2 // 5}.get(label, amount)
        spec = (label, amount, remain, expiry, voided, in_cliniko, use)
        stories.append(_story(rng, anchor, spec, codes))
    return stories
