"""Voucher actions shared by the API and the staff control plane: redeem, void, sell."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..names import voucher_code
from . import assumptions as guess
from .store import (
    Transaction,
    VaocherAccount,
    Voucher,
    VoucherBook,
    new_uuid,
    stamp,
    voucher_json,
)
from .webhooks import fire


@dataclass(frozen=True)
class Outcome:
    """An HTTP-shaped result: status and JSON body, plus the event to announce if any."""

    status: int
    body: dict[str, Any]
    event: str | None = None


def _amount_error(amount: Any) -> str | None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        return "The amount field must be an integer."
    return "The amount field must be at least 1." if amount < 1 else None


def redeem(
    world: Any,
    account: VaocherAccount,
    book: VoucherBook,
    code: str,
    body: dict[str, Any],
    live: bool = True,
) -> Outcome:
    """Take `amount` cents atomically: all of it or nothing, never below zero."""
    amount, reason = body.get("amount"), str(body.get("reason") or "")
    with world.lock:  # check-and-decrement under one lock: concurrent redeems cannot overdraw
        voucher = book.find(code)
        if voucher is None:
            return Outcome(404, guess.vaocherapp_error(guess.VAOCHERAPP_NOT_FOUND))
        now = world.clock.now()
        status = voucher.status_at(now)
        if status in (guess.VOUCHER_VOIDED, guess.VOUCHER_EXPIRED):
            return Outcome(
                422,
                guess.vaocherapp_error(
                    f"Gift voucher is {status}.", {"code": [f"The gift voucher is {status}."]}
                ),
            )
        problem = _amount_error(amount)
        if problem or not isinstance(amount, int):
            problem = problem or "The amount field must be an integer."
            return Outcome(422, guess.vaocherapp_error(problem, {"amount": [problem]}))
        if amount > voucher.remain_balance:
            message = "The amount exceeds the remaining balance."
            return Outcome(422, guess.vaocherapp_error(message, {"amount": [message]}))
        txn = Transaction(
            f"txn_{len(voucher.transactions) + 1}_{voucher.id[:8]}", "redeem", amount, reason, now
        )
        voucher.transactions.append(txn)
        voucher.remain_balance -= amount
        voucher.updated_at = now
        data = voucher_json(voucher, now)
    result = {**data, "transaction": guess.transaction_json(txn, stamp)}
    return _announce(world, account, Outcome(200, result, guess.EVENT_REDEEMED), data, live)


def void(world: Any, account: VaocherAccount, book: VoucherBook, code: str) -> Outcome:
    """Staff void a voucher in the dashboard; it can no longer be redeemed."""
    with world.lock:
        voucher = book.find(code)
        if voucher is None:
            return Outcome(404, guess.vaocherapp_error(guess.VAOCHERAPP_NOT_FOUND))
        now = world.clock.now()
        voucher.voided = True
        voucher.updated_at = now
        data = voucher_json(voucher, now)
    return _announce(world, account, Outcome(200, data, guess.EVENT_UPDATED), data, True)


@dataclass(frozen=True)
class Sale:
    """What a shop customer enters at checkout."""

    value: int
    purchaser_name: str
    purchaser_email: str
    recipient_name: str | None = None
    recipient_email: str | None = None
    message: str | None = None
    expiry: datetime | None = None
    never_expires: bool = False
    code: str | None = None


def sell(world: Any, account: VaocherAccount, book: VoucherBook, sale: Sale, live: bool) -> Outcome:
    """A customer buys a voucher; default expiry is 12 months after purchase (README)."""
    with world.lock:
        now = world.clock.now()
        rng = random.Random(f"{world.seed}:{account.id}:{len(book.vouchers)}")
        code = (sale.code or voucher_code(rng)).upper()
        while book.find(code) is not None:
            code = voucher_code(rng)
        expiry = None if sale.never_expires else sale.expiry or now + timedelta(days=365)
        voucher = book.add(
            Voucher(
                id=new_uuid(rng),
                code=code,
                amount=sale.value,
                remain_balance=sale.value,
                expiry=expiry,
                created_at=now,
                updated_at=now,
                purchaser_name=sale.purchaser_name,
                purchaser_email=sale.purchaser_email,
                recipient_name=sale.recipient_name,
                recipient_email=sale.recipient_email,
                message=sale.message,
                order_id=new_uuid(rng),
                order_number=next(book.order_numbers),
                currency=account.currency,
            )
        )
        data = voucher_json(voucher, now)
    return _announce(world, account, Outcome(201, data, guess.EVENT_CREATED), data, live)


def _announce(
    world: Any, account: VaocherAccount, outcome: Outcome, data: dict[str, Any], live: bool
) -> Outcome:
    if (live or guess.WEBHOOKS_FOR_TEST_MODE) and outcome.event:
        fire(world, account, outcome.event, data)
    return outcome
