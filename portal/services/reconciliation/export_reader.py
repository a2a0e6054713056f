"""Reading Cliniko's "Invoice items" export as clinics produce it: format, encoding, columns, rows.

The real export's headers are not publicly documented (cliniko.md §6), so columns are found by
header name through aliases, in any order; what cannot be found is mapped by a person.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SAMPLE_BYTES = 64 * 1024
REQUIRED = ("invoice_number", "code", "amount")

# field → (label for people, normalised header spellings). Normalising drops case, spaces and
# punctuation, so "Invoice #", "invoice_number" and "INVOICE NO." all meet here.
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "invoice_number": (
        "Invoice number",
        ("invoicenumber", "invoiceno", "invoice", "invoicenum", "invno", "invoiceref"),
    ),
    "code": (
        "Item code",
        ("itemcode", "code", "billableitemcode", "vouchercode", "productcode", "sku"),
    ),
    "amount": (
        "Line total",
        (
            "total",
            "totalincludingtax",
            "totalinctax",
            "totalincltax",
            "totalincgst",
            "linetotal",
            "amount",
            "totalamount",
            "itemtotal",
            "lineamount",
        ),
    ),
    "issue_date": ("Issue date", ("issuedate", "invoicedate", "date", "issued", "dateissued")),
    "invoice_id": ("Invoice ID", ("invoiceid",)),
    "invoice_item_id": ("Invoice item ID", ("invoiceitemid", "itemid", "lineid", "lineitemid")),
    "item_name": ("Item name", ("item", "itemname", "name", "description", "billableitem")),
    "item_type": ("Item type", ("itemtype", "type")),
    "quantity": ("Quantity", ("quantity", "qty")),
    "unit_price": ("Unit price", ("unitprice", "price", "unitamount")),
    "billable_item_id": ("Billable item ID", ("billableitemid",)),
    "archived": ("Archived", ("archived", "deleted", "isarchived", "void", "voided")),
}


class ExportError(ValueError):
    """The file cannot be read as an export; the message says what to do instead."""


@dataclass(frozen=True)
class ExportFormat:
    """How to read one file: its text encoding, delimiter and header row."""

    encoding: str
    delimiter: str
    headers: list[str]


@dataclass(frozen=True)
class RawRow:
    """One data row's cells by field; `number` is the row as a spreadsheet numbers it."""

    number: int
    cells: dict[str, str]
    short: bool = False  # fewer cells than the header: probably a broken line


def normalise_header(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _refuse_other_formats(head: bytes) -> None:
    """Name the common wrong files plainly rather than failing on their bytes."""
    stripped = head.lstrip(b"\xef\xbb\xbf\xff\xfe\x00 \r\n\t")
    if not stripped:
        raise ExportError("The file is empty. Export the invoice items from Cliniko again.")
    if head.startswith(b"PK\x03\x04"):
        raise ExportError(
            "This is an Excel workbook (.xlsx), not a CSV. In Excel choose File → Save As → "
            "CSV, or upload the CSV Cliniko's data export gives you."
        )
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ExportError("This is an old Excel file (.xls). Save it as CSV and upload that.")
    if head.lstrip().startswith(b"%PDF"):
        raise ExportError("This is a PDF. Upload the CSV from Cliniko's Settings → Data exports.")


def detect_encoding(path: Path) -> str:
    """UTF-8 (± BOM), UTF-16 as Excel saves it, else Windows-1252 (Excel's 'CSV' on Windows).

    UTF-8 is chosen only when the whole file decodes as UTF-8: a Windows-1252 file whose first
    accented name is on row 90,000 is still read as Windows-1252, not with replacement marks.
    """
    with path.open("rb") as raw:
        head = raw.read(SAMPLE_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    if sample and sample.count(b"\x00") * 3 > len(sample):
        # UTF-16 without a BOM: ASCII text leaves every other byte zero.
        return "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
    for encoding in ("utf-8", "cp1252"):
        if _decodes_whole(path, encoding):
            return encoding
    return "latin-1"  # every byte is a character: nothing is replaced, nothing lost


def _decodes_whole(path: Path, encoding: str) -> bool:
    """Whether every byte of the file decodes, read in chunks (never the whole file at once)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with path.open("rb") as raw:
        try:
            while chunk := raw.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _open_text(path: Path, encoding: str) -> io.TextIOWrapper:
    # Strict: the encoding was chosen because the whole file decodes in it.
    return open(path, encoding=encoding, newline="")


def _sniff_delimiter(text: str) -> str:
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        # The sniffer gives up on one-column files and ragged quoting: count instead.
        first = lines[0] if lines else ""
        return max(",;\t|", key=first.count) if any(d in first for d in ",;\t|") else ","


def sniff_export(path: Path) -> ExportFormat:
    """Check the file is a text CSV and read its encoding, delimiter and header row."""
    with path.open("rb") as raw:
        _refuse_other_formats(raw.read(SAMPLE_BYTES))
    encoding = detect_encoding(path)
    with _open_text(path, encoding) as text:
        sample = text.read(SAMPLE_BYTES)
    if "\x00" in sample:
        raise ExportError("This file is not text. Upload the CSV from Cliniko's data export.")
    delimiter = _sniff_delimiter(sample)
    try:
        reader = csv.reader(io.StringIO(sample.lstrip("\ufeff"), newline=""), delimiter=delimiter)
        headers = next(reader, [])
    except csv.Error as exc:
        raise ExportError(f"The first row cannot be read as CSV ({exc}).") from None
    headers = [h.strip().lstrip("\ufeff") for h in headers]
    if not any(headers):
        raise ExportError("The first row has no column names. Export the file from Cliniko again.")
    return ExportFormat(encoding, delimiter, headers)


def guess_mapping(headers: list[str], remembered: dict[str, str] | None = None) -> dict[str, int]:
    """Field → column index: what this clinic mapped before first, then the known aliases."""
    by_name = {normalise_header(h): i for i, h in reversed(list(enumerate(headers))) if h}
    mapping: dict[str, int] = {}
    for field, header in (remembered or {}).items():
        index = by_name.get(normalise_header(header))
        if field in FIELDS and index is not None:
            mapping[field] = index
    taken = set(mapping.values())
    for field, (_label, aliases) in FIELDS.items():
        if field in mapping:
            continue
        index = next((by_name[a] for a in aliases if a in by_name), None)
        if index is not None and index not in taken:
            mapping[field] = index
            taken.add(index)
    return mapping


def missing_fields(mapping: dict[str, int]) -> list[str]:
    """Required fields with no column; a total can be worked out from unit price x quantity."""
    missing = [f for f in REQUIRED if f not in mapping]
    if "amount" in missing and "unit_price" in mapping:
        missing.remove("amount")
    return missing


def iter_rows(path: Path, fmt: ExportFormat, mapping: dict[str, int]) -> Iterator[RawRow]:
    """Data rows one at a time (never the whole file in memory); blank lines are skipped."""
    width = min(len(fmt.headers), max(mapping.values(), default=0) + 1)
    fields, needed = list(mapping.items()), max(mapping.values(), default=-1) + 1
    with _open_text(path, fmt.encoding) as text:
        reader = csv.reader(text, delimiter=fmt.delimiter)
        next(reader, None)  # the header row
        number = 1
        while True:
            number += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a runaway quoted field: report the row, carry on
                yield RawRow(number, {"_error": str(exc)}, short=True)
                continue
            if not (cells and cells[0].strip()) and not any(c.strip() for c in cells):
                continue  # blank (a first cell with text, as in nearly every row, settles it)
            if len(cells) >= needed:
                picked = {f: cells[i].strip() for f, i in fields}
            else:  # a short row: the missing cells are empty
                picked = {f: cells[i].strip() if i < len(cells) else "" for f, i in fields}
            yield RawRow(number, picked, short=len(cells) < width)
