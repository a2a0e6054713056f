"""Input checking that collects every problem into one 400 `errors[{location, message}]` [SPEC]."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from . import assumptions as A
from .http import ApiError
from .store import Collection, Record


class Checker:
    """Reads fields of one input object; problems are recorded, not raised, until `done()`."""

    def __init__(self, body: Any, prefix: str = "", errors: list[dict[str, str]] | None = None):
        self.body: dict[str, Any] = body if isinstance(body, dict) else {}
        self.prefix = prefix
        self.errors: list[dict[str, str]] = [] if errors is None else errors
        if not isinstance(body, dict) and body is not None:
            self.fail("", "Must be an object.")

    def child(self, key: str | int, body: Any) -> Checker:
        """A checker for a nested object, sharing this one's error list."""
        location = f"{self.prefix}[{key}]" if isinstance(key, int) else self.loc(key)
        return Checker(body, f"{location}.", self.errors)

    def loc(self, key: str) -> str:
        """The JSON path reported for a field [INF: dotted with [n] for list positions]."""
        return f"{self.prefix}{key}"

    def fail(self, key: str, message: str) -> None:
        """Record a problem at a field."""
        self.errors.append({"location": self.loc(key).rstrip("."), "message": message})

    def has(self, key: str) -> bool:
        """Whether the field was sent at all (null counts as sent)."""
        return key in self.body

    def text(self, key: str, required: bool = False, max_len: int | None = None) -> str | None:
        """An optional or required string field."""
        value = self.body.get(key)
        if value is None or value == "":
            if required:
                self.fail(key, f"The {key} field is required.")
            return None if value is None else ""
        if not isinstance(value, str):
            self.fail(key, f"The {key} field must be a string.")
            return None
        if max_len is not None and len(value) > max_len:
            self.fail(key, f"The {key} field must be at most {max_len} characters.")
        return value

    def decimal(self, key: str, required: bool = False) -> Decimal | None:
        """A JSON number kept exact."""
        value = self.body.get(key)
        if value is None:
            if required:
                self.fail(key, f"The {key} field is required.")
            return None
        if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
            self.fail(key, f"The {key} field must be a number.")
            return None
        try:
            number = Decimal(str(value)) if not isinstance(value, Decimal) else value
        except InvalidOperation:
            self.fail(key, f"The {key} field must be a number.")
            return None
        if not number.is_finite():
            self.fail(key, f"The {key} field must be a number.")
            return None
        return number

    def choice(self, key: str, options: tuple[str, ...], default: str | None = None) -> str | None:
        """A string from a fixed set (enum names are case-insensitive, output is canonical)."""
        value = self.body.get(key)
        if value is None:
            if default is None:
                self.fail(key, f"The {key} field is required.")
            return default
        match = next(
            (o for o in options if isinstance(value, str) and o.lower() == value.lower()), None
        )
        if match is None:
            self.fail(key, f"The {key} field must be one of {', '.join(options)}.")
        return match

    def boolean(self, key: str, default: bool = False) -> bool:
        """A JSON true/false."""
        value = self.body.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(key, f"The {key} field must be true or false.")
            return default
        return value

    def when(self, key: str, required: bool = False) -> str | None:
        """A date or date-time, normalised to `YYYY-MM-DDTHH:MM:SSZ`."""
        value = self.text(key, required=required)
        if not value:
            return None
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            self.fail(key, f"The {key} field is not a valid date.")
            return None
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def reference(
        self, key: str, collection: Collection, required: bool = False, what: str = ""
    ) -> Record | None:
        """An id-or-name reference resolved in a collection [SPEC conventions]."""
        value = self.text(key, required=required)
        if not value:
            return None
        record = collection.resolve(value)
        if record is None:
            self.fail(key, f"The {what or key} '{value}' could not be found.")
        return record

    def done(self) -> None:
        """Raise the collected problems as one 400."""
        if self.errors:
            raise ApiError(400, A.INVALID_REQUEST, list(self.errors))
