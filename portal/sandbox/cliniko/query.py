"""Cliniko list semantics: `q[]` filters, `sort`, and page/per_page pagination (cliniko.md §2)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from ..core import parse_date, parse_iso
from ..store import Row, Table

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100
# Longest operators first so ">=" is not read as ">" followed by "=".
OPERATORS = ("!?", "!=", ">=", "<=", "~~", "=", ">", "<", "~", "?", "*")
ALLOWED = {
    "id": {"=", "!=", ">=", ">", "<=", "<", "?", "!?", "*"},
    "int": {"=", "!=", ">=", ">", "<=", "<", "?", "!?", "*"},
    "datetime": {"=", ">=", ">", "<=", "<", "?", "!?", "*"},
    "date": {"=", ">=", ">", "<=", "<", "?", "!?", "*"},
    "string": {"=", "!=", "~", "~~", "?", "!?", "*"},
}


class QueryError(Exception):
    """A list request Cliniko would answer with 400 and this message."""


@dataclass(frozen=True)
class Filter:
    field: str
    op: str
    value: str


def parse_filters(raw: Iterable[str], fields: dict[str, str]) -> list[Filter]:
    """Split each `field:OPvalue`; unknown fields are 'not searchable' (cliniko.md §1 errors)."""
    filters = []
    for item in raw:
        field, _, rest = item.partition(":")
        if field not in fields:
            raise QueryError("This column is not searchable.")
        op = next((o for o in OPERATORS if rest.startswith(o)), None)
        if op is None or op not in ALLOWED[fields[field]]:
            raise QueryError("Invalid search operator.")
        filters.append(Filter(field, op, rest[len(op) :]))
    return filters


def _coerce(kind: str, text: str) -> Any:
    try:
        if kind in ("id", "int"):
            return int(text)
        if kind == "datetime":
            return parse_iso(text)
        if kind == "date":
            return parse_date(text)
    except ValueError as exc:
        raise QueryError("Invalid search value.") from exc
    return text


def _typed(kind: str, value: Any) -> Any:
    """Stored value in comparable form: ids are strings in rows but compare as numbers."""
    if value is None:
        return None
    return int(value) if kind in ("id", "int") else value


def _date_wildcard(pattern: str) -> Callable[[Any], bool]:
    def match(value: Any) -> bool:
        text = value.isoformat() if isinstance(value, date | datetime) else ""
        return len(text) >= len(pattern) and all(
            p in ("*", c) for p, c in zip(pattern, text, strict=False)
        )

    return match


def _predicate(kind: str, op: str, text: str) -> Callable[[Any], bool]:
    if op == "*":
        return lambda v: True
    if op == "?":
        return lambda v: v is not None
    if op == "!?":
        return lambda v: v is None
    if kind == "date" and op == "=" and "*" in text:
        return _date_wildcard(text)
    if kind == "string":
        return _string_predicate(op, text)
    if op == "=" and kind in ("id", "int"):
        wanted = {_coerce(kind, part) for part in text.split(",")}
        return lambda v: v in wanted
    target = _coerce(kind, text)
    compare: dict[str, Callable[[Any], bool]] = {
        "=": lambda v: v == target,
        "!=": lambda v: v != target,
        ">": lambda v: v is not None and v > target,
        ">=": lambda v: v is not None and v >= target,
        "<": lambda v: v is not None and v < target,
        "<=": lambda v: v is not None and v <= target,
    }
    return compare[op]


def _string_predicate(op: str, text: str) -> Callable[[Any], bool]:
    if op == "=":
        return lambda v: v == text
    if op == "!=":
        return lambda v: v != text
    needle = text.lower()
    if op == "~":
        return lambda v: v is not None and needle in v.lower()
    # "~~" is a LIKE pattern whose % matches any run of characters.
    pattern = re.compile(".*".join(re.escape(part) for part in needle.split("%")), re.DOTALL)
    return lambda v: v is not None and pattern.fullmatch(v.lower()) is not None


def _candidates(table: Table, filters: list[Filter], fields: dict[str, str]) -> list[Row] | None:
    """Use an equality index when one applies, so `invoice_id:=N` does not scan 100k rows."""
    for f in filters:
        if f.op == "=" and table.is_indexed(f.field) and "*" not in f.value:
            kind = fields[f.field]
            parts = f.value.split(",") if kind in ("id", "int") else [f.value]
            values = [str(_coerce(kind, p)) if kind == "id" else _coerce(kind, p) for p in parts]
            return table.lookup(f.field, values)
    return None


def select(table: Table, filters: list[Filter], fields: dict[str, str]) -> list[Row]:
    """Rows matching every filter; archived rows only when a filter names archived_at."""
    checks = [
        (f.field, fields[f.field], _predicate(fields[f.field], f.op, f.value)) for f in filters
    ]
    show_archived = any(f.field == "archived_at" for f in filters)
    rows = _candidates(table, filters, fields)
    source: Iterable[Row] = table if rows is None else rows
    return [
        row
        for row in source
        if (show_archived or row.get("archived_at") is None)
        and all(check(_typed(kind, row.get(field))) for field, kind, check in checks)
    ]


def _sort_key(col: str, kind: str) -> Callable[[Row], tuple[bool, Any]]:
    def key(row: Row) -> tuple[bool, Any]:
        value = row.get(col)
        return (value is None, 0 if value is None else _typed(kind, value))

    return key


def sort_rows(
    rows: list[Row], sort: str | None, order: str | None, fields: dict[str, str]
) -> list[Row]:
    """Apply `sort=col,col2:desc` (default created_at ascending, which is insertion order)."""
    if sort:
        keys = []
        for part in sort.split(","):
            col, _, direction = part.strip().partition(":")
            if col not in fields:
                raise QueryError("This column is not sortable.")
            keys.append((col, fields[col], direction.lower() == "desc"))
        # Stable sorts applied last key first; None sorts last ascending, as in PostgreSQL.
        for col, kind, desc in reversed(keys):
            rows = sorted(rows, key=_sort_key(col, kind), reverse=desc)
    if (order or "").lower() == "desc":
        rows = list(reversed(rows))
    return rows


def page_params(args: Any) -> tuple[int, int]:
    """page from 1; per_page defaults to 50 and is capped at 100."""
    try:
        page = max(1, int(args.get("page", 1)))
        per_page = int(args.get("per_page", DEFAULT_PER_PAGE))
    except ValueError as exc:
        raise QueryError("Invalid pagination parameters.") from exc
    return page, min(max(1, per_page), MAX_PER_PAGE)
