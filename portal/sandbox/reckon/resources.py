"""The list/get/create/replace/patch/delete routes every Reckon One resource shares [SPEC]."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response

from .api import public
from .http import (
    json_response,
    list_response,
    load,
    load_book,
    locked,
    no_content,
    read_json,
    require_merge_patch,
)
from .store import Book, Record

Build = Callable[[Book, dict[str, Any], "Record | None"], Record]
Hook = Callable[[Book, "Record | None", "Record | None"], None]


def _no_hook(book: Book, old: Record | None, new: Record | None) -> None:
    """Resources without side effects on other records."""


@dataclass
class Resource:
    """How one resource is built from input and what else changes when it does."""

    name: str  # URL segment and Book attribute
    build: Build  # validate input (raising a 400) and return the record to store; no side effects
    created: Callable[[Record], dict[str, Any]] = lambda r: {"id": r["id"]}
    # Called with (old, new) after a store, (old, None) after a delete; may not fail.
    after: Hook = _no_hook
    # Called before a delete; raises when the record may not go.
    check_delete: Callable[[Book, Record], None] = lambda book, record: None
    aliases: tuple[str, ...] = ()  # other spellings of the URL segment the spec uses too


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def register(bp: Blueprint, res: Resource) -> None:
    """Add the six routes of a resource (and of each alias) to a blueprint."""

    def collection(book: Book) -> Any:
        return book.collection(res.name)

    @locked
    def list_all(book_id: str) -> Response:
        return list_response(collection(load_book(book_id)), public)

    @locked
    def get_one(book_id: str, record_id: str) -> Response:
        return json_response(public(load(collection(load_book(book_id)), record_id)))

    @locked
    def create(book_id: str) -> Response:
        book = load_book(book_id)
        record = res.build(book, read_json(), None)
        collection(book).put(record)
        res.after(book, None, record)
        return json_response(res.created(record), 201)

    def _replace(book: Book, old: Record, body: dict[str, Any]) -> Response:
        record = res.build(book, body, old)
        collection(book).put(record)
        res.after(book, old, record)
        return no_content()

    @locked
    def replace(book_id: str, record_id: str) -> Response:
        book = load_book(book_id)
        return _replace(book, load(collection(book), record_id), read_json())

    @locked
    def patch(book_id: str, record_id: str) -> Response:
        book = load_book(book_id)
        old = load(collection(book), record_id)
        require_merge_patch()
        return _replace(book, old, merge_patch(old.get("_input", {}), read_json()))

    @locked
    def delete(book_id: str, record_id: str) -> Response:
        book = load_book(book_id)
        old = load(collection(book), record_id)
        res.check_delete(book, old)
        collection(book).remove(old["id"])
        res.after(book, old, None)
        return no_content()

    for segment in (res.name, *res.aliases):
        base, name = f"/<book_id>/{segment}", f"{res.name}_{segment}"
        bp.add_url_rule(base, f"{name}_list", list_all, methods=["GET"])
        bp.add_url_rule(base, f"{name}_create", create, methods=["POST"])
        one = f"{base}/<record_id>"
        bp.add_url_rule(one, f"{name}_get", get_one, methods=["GET"])
        bp.add_url_rule(one, f"{name}_replace", replace, methods=["PUT"])
        bp.add_url_rule(one, f"{name}_patch", patch, methods=["PATCH"])
        bp.add_url_rule(one, f"{name}_delete", delete, methods=["DELETE"])
