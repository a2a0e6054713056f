"""An in-memory table: rows by id in creation order, plus equality indexes for fast filters."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

Row = dict[str, Any]


class Table:
    """Rows keyed by string id; insertion order is creation order, so the default sort is free."""

    def __init__(self, indexed: Iterable[str] = ()) -> None:
        self.rows: dict[str, Row] = {}
        self._indexes: dict[str, defaultdict[Any, set[str]]] = {
            field: defaultdict(set) for field in indexed
        }

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows.values())

    def get(self, row_id: str) -> Row | None:
        return self.rows.get(str(row_id))

    def insert(self, row: Row) -> Row:
        self.rows[row["id"]] = row
        for field, index in self._indexes.items():
            index[row.get(field)].add(row["id"])
        return row

    def update(self, row: Row, changes: dict[str, Any]) -> Row:
        for field, index in self._indexes.items():
            if field in changes:
                index[row.get(field)].discard(row["id"])
                index[changes[field]].add(row["id"])
        row.update(changes)
        return row

    def delete(self, row: Row) -> None:
        for field, index in self._indexes.items():
            index[row.get(field)].discard(row["id"])
        self.rows.pop(row["id"], None)

    def is_indexed(self, field: str) -> bool:
        return field in self._indexes

    def lookup(self, field: str, values: Iterable[Any]) -> list[Row]:
        """Rows whose indexed field equals one of the values, in creation order."""
        index = self._indexes[field]
        ids: set[str] = set()
        for value in values:
            ids |= index.get(value, set())
        return sorted((self.rows[i] for i in ids), key=lambda r: int(r["id"]))
