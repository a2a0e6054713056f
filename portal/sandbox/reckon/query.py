"""Reckon One's `filter=` and `orderby=` query syntax [DOC HELP ksqce865me, h9sxz6smwn]."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from .store import Collection, Record, get_path

Getter = Callable[[Record], Any]
Predicate = Callable[[Record], bool]

TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>'(?:[^']|'')*'|"(?:[^"\\]|\\.)*")
    |(?P<date>\d{4}-\d{2}-\d{2}(?:[T\ ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?)
    |(?P<num>-?\d+(?:\.\d+)?)
    |(?P<punct>[(),])
    |(?P<word>[A-Za-z_][\w.]*)
    )""",
    re.VERBOSE,
)
DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}")
OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le", "contains", "startswith", "endswith", "anyof")
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "tolower": lambda s: s.lower() if isinstance(s, str) else s,
    "toupper": lambda s: s.upper() if isinstance(s, str) else s,
    "trim": lambda s: s.strip() if isinstance(s, str) else s,
    "length": lambda s: Decimal(len(s)) if isinstance(s, str) else None,
    "substring": lambda s, a, b=None: s[int(a) : None if b is None else int(a) + int(b)],
    "year": lambda s: _part(s, "year"),
    "month": lambda s: _part(s, "month"),
    "day": lambda s: _part(s, "day"),
    "hour": lambda s: _part(s, "hour"),
    "minute": lambda s: _part(s, "minute"),
    "second": lambda s: _part(s, "second"),
    "round": lambda n, x=0: _num(n).quantize(Decimal(1).scaleb(-int(x)), ROUND_HALF_UP),
    "floor": lambda n: Decimal(math.floor(_num(n))),
    "ceiling": lambda n: Decimal(math.ceil(_num(n))),
}


class QueryError(ValueError):
    """A filter or orderby the emulator cannot parse (reported as a 400 on that parameter)."""


@dataclass
class Compare:
    """One `operand [not] op value` clause; `path` is set when the operand is a bare field."""

    getter: Getter
    op: str
    value: Any
    negate: bool
    path: str | None

    def __call__(self, record: Record) -> bool:
        value = self.getter(record)
        if isinstance(value, list):  # a field inside a list matches when any element does [INF]
            return any(_compare(v, self.op, self.value) for v in value) != self.negate
        return _compare(value, self.op, self.value) != self.negate


def _num(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _when(value: Any) -> datetime | None:
    """A date or date-time string as a naive datetime (Reckon stores UTC), else None."""
    if not isinstance(value, str) or not DATE_LIKE.match(value):
        return None
    text = value.replace(" ", "T").rstrip("Z")
    try:
        return datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        return None


def _part(value: Any, unit: str) -> Decimal | None:
    when = _when(value)
    return None if when is None else Decimal(getattr(when, unit))


def _coerce(field: Any, literal: Any) -> tuple[Any, Any] | None:
    """Bring a field value and a literal to one comparable type, or None if they cannot be."""
    if isinstance(field, bool) or isinstance(literal, bool):
        return (field, literal) if isinstance(field, bool) and isinstance(literal, bool) else None
    if isinstance(field, Decimal | int) and isinstance(literal, Decimal | int | str):
        try:
            return _num(field), _num(literal)
        except ArithmeticError:
            return None
    if isinstance(field, str) and isinstance(literal, str):
        left, right = _when(field), _when(literal)
        if left is not None and right is not None:
            return left, right
        return field, literal
    return None


def _compare(field: Any, op: str, literal: Any) -> bool:
    if op == "anyof":
        return any(_compare(field, "eq", item) for item in literal)
    if field is None or literal is None:
        return (op == "eq") == (field is None and literal is None) if op in ("eq", "ne") else False
    if op in ("contains", "startswith", "endswith"):
        if not isinstance(field, str) or not isinstance(literal, str):
            return False
        if op == "contains":
            return literal in field
        return field.startswith(literal) if op == "startswith" else field.endswith(literal)
    pair = _coerce(field, literal)
    if pair is None:
        return op == "ne"
    left, right = pair
    return {
        "eq": left == right,
        "ne": left != right,
        "gt": left > right,
        "ge": left >= right,
        "lt": left < right,
        "le": left <= right,
    }[op]


class _Parser:
    """Recursive descent: or-expressions of and-terms of (parenthesised) comparisons."""

    def __init__(self, text: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        pos, text = 0, text.strip()
        while pos < len(text):
            match = TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                raise QueryError(f"Unexpected text at position {pos}: {text[pos : pos + 20]!r}")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.pos = 0

    def peek(self, value: str | None = None) -> tuple[str, str] | None:
        token = self.tokens[self.pos] if self.pos < len(self.tokens) else None
        if token and value is not None and token[1].lower() != value:
            return None
        return token

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek(value)
        if token is None:
            raise QueryError(f"Expected {value or 'more input'}")
        self.pos += 1
        return token

    def parse(self) -> Predicate:
        result = self.expr()
        if self.peek() is not None:
            raise QueryError(f"Unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return result

    def expr(self) -> Predicate:
        parts = [self.term()]
        while self.peek("or"):
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else _any(parts)

    def term(self) -> Predicate:
        parts = [self.factor()]
        while self.peek("and"):
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else _all(parts)

    def factor(self) -> Predicate:
        if self.peek("("):
            self.take()
            inner = self.expr()
            self.take(")")
            return inner
        getter, path = self.operand()
        negate = bool(self.peek("not")) and bool(self.take())
        op = self.take()[1].lower()
        if op not in OPERATORS:
            raise QueryError(f"Unknown operator {op!r}")
        value = self.literal_list() if op == "anyof" else self.literal()
        return Compare(getter, op, value, negate, path)

    def operand(self) -> tuple[Getter, str | None]:
        kind, word = self.take()
        if kind != "word":
            raise QueryError(f"Expected a field name, got {word!r}")
        if not self.peek("("):
            return (lambda r: get_path(r, word)), word
        func = FUNCTIONS.get(word.lower())
        if func is None:
            raise QueryError(f"Unknown function {word!r}")
        self.take("(")
        inner, _ = self.operand()
        extra = []
        while self.peek(","):
            self.take()
            extra.append(self.literal())
        self.take(")")
        return (lambda r: _apply(func, inner(r), extra)), None

    def literal(self) -> Any:
        kind, text = self.take()
        if kind == "str":
            quote = text[0]
            body = text[1:-1]
            return body.replace("''", "'") if quote == "'" else re.sub(r"\\(.)", r"\1", body)
        if kind == "num":
            return Decimal(text)
        if kind == "date":
            return text
        lowered = text.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        raise QueryError(f"Expected a value, got {text!r}")

    def literal_list(self) -> list[Any]:
        wrapped = bool(self.peek("(")) and bool(self.take())
        values = [self.literal()]
        while self.peek(","):
            self.take()
            values.append(self.literal())
        if wrapped:
            self.take(")")
        return values


def _apply(func: Callable[..., Any], value: Any, extra: list[Any]) -> Any:
    if isinstance(value, list):
        return [_apply(func, v, extra) for v in value]
    try:
        return None if value is None else func(value, *extra)
    except (TypeError, ValueError, ArithmeticError):
        return None


def _any(parts: list[Predicate]) -> Predicate:
    return lambda r: any(p(r) for p in parts)


def _all(parts: list[Predicate]) -> Predicate:
    return lambda r: all(p(r) for p in parts)


def parse_filter(text: str) -> Predicate:
    """Compile a filter expression into a predicate over stored records."""
    return _Parser(text).parse()


def _sort_key(value: Any) -> tuple[int, Any]:
    # [INF] text sorts case-insensitively (SQL Server's default collation); nulls first.
    if value is None:
        return (0, 0)
    if isinstance(value, bool | int | Decimal):
        return (1, _num(value))
    return (2, str(value).lower())


def _key_for(path: str) -> Callable[[Record], tuple[int, Any]]:
    return lambda record: _sort_key(get_path(record, path))


def order_records(records: list[Record], orderby: str) -> list[Record]:
    """Sort by `field [asc|desc]` clauses, the first clause most significant."""
    clauses = [c.split() for c in orderby.split(",") if c.strip()]
    for clause in reversed(clauses):
        if len(clause) > 2 or (len(clause) == 2 and clause[1].lower() not in ("asc", "desc")):
            raise QueryError(f"Cannot order by {' '.join(clause)!r}")
        path, descending = clause[0], len(clause) == 2 and clause[1].lower() == "desc"
        records.sort(key=_key_for(path), reverse=descending)
    return records


def select_records(collection: Collection, filter_text: str, orderby: str) -> list[Record]:
    """Filter (through an index when the filter is one indexed `eq`) and then sort."""
    if not filter_text:
        records = collection.values()
    else:
        predicate = parse_filter(filter_text)
        candidates = _indexed(collection, predicate)
        pool = collection.values() if candidates is None else candidates
        records = [r for r in pool if predicate(r)]
    return order_records(records, orderby) if orderby else records


def _indexed(collection: Collection, predicate: Predicate) -> list[Record] | None:
    """Why: finding an invoice by reference must stay fast with tens of thousands of invoices."""
    if not isinstance(predicate, Compare) or predicate.op != "eq" or predicate.negate:
        return None
    if predicate.path is None or not isinstance(predicate.value, str):
        return None
    if DATE_LIKE.match(predicate.value):  # dates compare by value, not by the stored text
        return None
    for indexed_path in collection.indexes:
        if indexed_path.lower() == predicate.path.lower():
            return collection.find(indexed_path, predicate.value)
    return None
