"""Reading an export into voucher rows: which rows are voucher rows, their ledger keys, bad rows.

Ledger key (the identity of an invoice row, the same in every export that contains it):
`item:<Cliniko invoice item id>` when the export has that column and the id is exactly an integer;
otherwise `inv:<invoice number>:<code>:<amount in cents>:<n>`, n counting identical lines on one
invoice. A row keyed by item id also carries its `inv:` key (`alt_ref`), so exports with, without
or with spreadsheet-mangled ids ('1.01926E+18') all meet the same ledger entries. Invoice numbers
are never reused by Cliniko (cliniko.md §4), so both survive re-exports and overlapping ranges.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import insert, select

from portal.extensions import db
from portal.models import Clinic, Voucher
from portal.models.reconciliation import ReconciliationBatch, ReconciliationRow, RowClass
from portal.services.reconciliation.export_reader import RawRow
from portal.services.reconciliation.values import (
    BadValue,
    clean_code,
    is_true,
    parse_cents,
    parse_date,
    parse_quantity,
)

INSERT_BATCH = 1000
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{3,}")
_VOUCHER_WORD = re.compile("voucher|gift", re.IGNORECASE)
_EXACT_ID = re.compile(r"[1-9][0-9]{0,19}")
DUPLICATE_ROW = "This row appears twice in the export (the same invoice item)."
_NEGATIVE_SIGN = re.compile("[-(\u2212]")  # parse_cents reads nothing else as negative


@dataclass
class VoucherIndex:
    """The clinic's voucher codes and provisioned billable items, to spot voucher rows."""

    by_code: dict[str, int]
    by_item: dict[str, int]

    @classmethod
    def load(cls, clinic: Clinic) -> VoucherIndex:
        stmt = select(Voucher.id, Voucher.code, Voucher.cliniko_billable_item_id).where(
            Voucher.clinic_id == clinic.id
        )
        by_code, by_item = {}, {}
        for vid, code, item_id in db.session.execute(stmt):
            by_code[clean_code(code)] = vid
            if item_id:
                by_item[str(item_id)] = vid
        return cls(by_code, by_item)

    def match(self, code: str, name: str, item_id: str) -> tuple[int | None, str]:
        """The voucher a row uses, or a reason it is ambiguous."""
        by_code = self.by_code.get(code) if code else None
        by_item = self.by_item.get(item_id) if item_id else None
        if by_code and by_item and by_code != by_item:
            return None, "The item code and the billable item belong to different vouchers."
        if by_code or by_item or code:
            return by_code or by_item, ""
        found = {
            self.by_code[t] for t in map(clean_code, _TOKEN.findall(name)) if t in self.by_code
        }
        if len(found) > 1:
            return None, "The item name mentions more than one voucher code."
        return (found.pop() if found else None), ""


@dataclass
class ReadStats:
    rows: int = 0
    not_voucher: int = 0
    stored: int = 0
    mangled_ids: int = 0  # rows whose invoice item id a spreadsheet changed (keyed by number)
    keys: Counter[str] = field(default_factory=Counter)


def _amount(cells: dict[str, str]) -> int:
    """The line total; without a total column, unit price x quantity."""
    if cells.get("amount", "") or "unit_price" not in cells:
        return parse_cents(cells.get("amount", ""), "line total")
    price = Decimal(parse_cents(cells["unit_price"], "unit price"))
    quantity = parse_quantity(cells.get("quantity", ""))
    return int((price * quantity).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _looks_like_voucher(raw: RawRow, code: str) -> bool:
    """An unknown code is worth asking VaocherApp about when the line takes money off."""
    if _VOUCHER_WORD.search(raw.cells.get("item_name", "")):
        return True
    if not code or not _may_be_negative(raw.cells):  # most rows: no number to parse
        return False
    try:
        return _amount(raw.cells) < 0
    except BadValue:
        return False


def _may_be_negative(cells: dict[str, str]) -> bool:
    """Whether the amount cells carry any sign of a negative (a minus, parentheses)."""
    text = cells.get("amount", "") + cells.get("unit_price", "") + cells.get("quantity", "")
    return _NEGATIVE_SIGN.search(text) is not None


def _base(batch: ReconciliationBatch, raw: RawRow, code: str) -> dict[str, Any]:
    cells = raw.cells
    return {
        "clinic_id": batch.clinic_id,
        "batch_id": batch.id,
        "row_number": raw.number,
        "invoice_number": cells.get("invoice_number", "")[:64],
        "invoice_id": cells.get("invoice_id", "")[:32],
        "invoice_item_id": cells.get("invoice_item_id", "")[:32],
        "code": code[:64],
        "item_name": cells.get("item_name", "")[:255],
        "voucher_id": None,
        "ref": "",
        "alt_ref": "",
        "issue_date": None,
        "amount_cents": 0,
        "line_cents": None,
        "classification": RowClass.PENDING,
        "reason": "",
    }


def _problems(raw: RawRow, row: dict[str, Any]) -> str:
    """Fill amounts and dates; the reason the row is invalid, or ''."""
    if "_error" in raw.cells:
        return f"the line could not be read as CSV ({raw.cells['_error']})"
    if raw.short:
        return "the line has fewer columns than the header"
    if not row["invoice_number"]:
        return "the invoice number is empty"
    try:
        amount = _amount(raw.cells)
        row["issue_date"] = parse_date(raw.cells.get("issue_date", ""))
        parse_quantity(raw.cells.get("quantity", ""))
    except BadValue as bad:
        return str(bad)
    row["amount_cents"] = amount
    return ""


def exact_item_id(text: str) -> str:
    """The invoice item id when it is exactly Cliniko's integer; "" for what a spreadsheet made of
    it ('1.01926E+18', '1019260000000000000.0', a cut-off number), which is never an identity."""
    return text if _EXACT_ID.fullmatch(text) else ""


def _judge(raw: RawRow, row: dict[str, Any], stats: ReadStats) -> None:
    """Classify what can be decided from the row alone; the rest waits for VaocherApp."""
    amount = row["amount_cents"]
    by_number = f"inv:{row['invoice_number']}:{row['code']}:{abs(amount)}"
    stats.keys[by_number] += 1
    by_number = f"{by_number}:{stats.keys[by_number]}"
    item_id = exact_item_id(row["invoice_item_id"])
    if row["invoice_item_id"] and not item_id:
        stats.mangled_ids += 1
    key = f"item:{item_id}" if item_id else by_number
    row["ref"], row["alt_ref"] = key, by_number if item_id else ""
    row["amount_cents"], row["line_cents"] = abs(amount), amount
    if item_id:
        stats.keys[key] += 1
    if item_id and stats.keys[key] > 1:
        row["classification"], row["reason"] = RowClass.AMBIGUOUS, DUPLICATE_ROW
    elif is_true(raw.cells.get("archived", "")):
        row["classification"] = RowClass.AMBIGUOUS
        row["reason"] = "The invoice is archived in Cliniko, so the voucher was not really used."
    elif amount >= 0:
        row["classification"] = RowClass.AMBIGUOUS
        row["reason"] = (
            "This line adds to the invoice instead of taking the voucher off it (a voucher sold "
            "on an invoice?), so it is not a use of the voucher."
        )


def triage(
    batch: ReconciliationBatch, raw: RawRow, index: VoucherIndex, stats: ReadStats
) -> dict[str, Any] | None:
    """The row to store for a voucher row or a bad row; None for rows that are not vouchers."""
    code = clean_code(raw.cells.get("code", ""))
    name = raw.cells.get("item_name", "")
    voucher_id, conflict = index.match(code, name, raw.cells.get("billable_item_id", ""))
    if voucher_id is None and not conflict and not _looks_like_voucher(raw, code):
        return None
    row = _base(batch, raw, code)
    row["voucher_id"] = voucher_id
    problem = _problems(raw, row)
    if problem:
        row["classification"], row["reason"] = RowClass.INVALID, problem
        row["ref"] = f"row:{batch.id}:{raw.number}"
        return row
    _judge(raw, row, stats)
    if conflict:
        row["classification"], row["reason"] = RowClass.AMBIGUOUS, conflict
    return row


def store_rows(
    batch: ReconciliationBatch,
    rows: Iterator[RawRow],
    progress: Callable[[int], bool],
) -> ReadStats:
    """Stream rows into the table in chunks; `progress(n)` returns False to stop early."""
    index, stats, pending = VoucherIndex.load(batch.clinic), ReadStats(), []
    for raw in rows:
        stats.rows += 1
        row = triage(batch, raw, index, stats)
        if row is None:
            stats.not_voucher += 1
        else:
            pending.append(row)
        if len(pending) >= INSERT_BATCH:
            _flush(pending, stats)
        if stats.rows % 5000 == 0 and not progress(stats.rows):
            break
    _flush(pending, stats)
    stats.keys.clear()
    return stats


def _flush(pending: list[dict[str, Any]], stats: ReadStats) -> None:
    if pending:
        db.session.execute(insert(ReconciliationRow), pending)
        stats.stored += len(pending)
        pending.clear()
