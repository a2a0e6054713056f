"""Dates people may type into a form: a clinic's business happens between these years, and a date
outside them (9999-12-31, 0001-01-01) is refused with a message rather than overflowing later."""

from __future__ import annotations

from datetime import date
from typing import Any

from wtforms.validators import ValidationError

EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)


class SaneDate:
    """A date between EARLIEST and LATEST."""

    def __call__(self, form: Any, field: Any) -> None:
        if field.data is not None and not EARLIEST <= field.data <= LATEST:
            raise ValidationError(
                f"Choose a date between {EARLIEST:%d/%m/%Y} and {LATEST:%d/%m/%Y}."
            )
