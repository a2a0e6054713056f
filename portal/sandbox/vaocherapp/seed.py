"""Deterministic VaocherApp vouchers for one clinic, following the shared voucher stories."""

from __future__ import annotations

import random
from datetime import timedelta

from ..names import person
from ..story import VoucherStory
from .store import Transaction, VaocherAccount, Voucher, VoucherBook, new_uuid


def _voucher(rng: random.Random, book: VoucherBook, story: VoucherStory) -> Voucher:
    first, last, email = story.purchaser
    gift = rng.random() < 0.5  # about half are bought for someone else
    recipient = person(rng) if gift else None
    voucher = Voucher(
        id=new_uuid(rng),
        code=story.code,
        amount=story.amount,
        remain_balance=story.amount,
        expiry=story.expiry,
        created_at=story.created_at,
        updated_at=story.created_at,
        purchaser_name=f"{first} {last}",
        purchaser_email=email,
        recipient_name=f"{recipient[0]} {recipient[1]}" if recipient else None,
        recipient_email=recipient[2] if recipient else None,
        message="Happy birthday! Enjoy a treatment on us." if gift else None,
        order_id=new_uuid(rng),
        order_number=next(book.order_numbers),
        voided=story.voided,
    )
    used = story.amount - story.remain
    if used:
        when = story.created_at + timedelta(days=rng.randint(5, 25))
        voucher.transactions.append(
            Transaction(new_uuid(rng), "redeem", used, "Redeemed at reception", when)
        )
        voucher.remain_balance = story.remain
        voucher.updated_at = when
    if story.voided:
        voucher.updated_at = story.created_at + timedelta(days=3)
    return voucher


def seed_vaocherapp(
    account: VaocherAccount,
    rng: random.Random,
    stories: list[VoucherStory],
    test_stories: list[VoucherStory],
) -> None:
    """Live vouchers from the stories; a few separate ones in the test book."""
    for story in sorted(stories, key=lambda s: s.created_at):
        account.live.add(_voucher(rng, account.live, story))
    for story in sorted(test_stories, key=lambda s: s.created_at):
        account.test.add(_voucher(rng, account.test, story))
