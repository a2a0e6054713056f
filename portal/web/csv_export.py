"""CSV downloads that are safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence

from flask import Response, stream_with_context

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(cell: object) -> str:
    """Neutralise cells a spreadsheet would run as a formula (upstream text is untrusted)."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_response(
    filename: str, header: Sequence[str], read_rows: Callable[[], Iterable[Sequence[object]]]
) -> Response:
    """A CSV attachment, streamed; every cell goes through `spreadsheet_safe`.

    `read_rows` is called while the body streams, after the view has returned and its
    database session has closed; `stream_with_context` gives it the request's context (and
    a session) again, so its queries must run inside it, not in the view."""

    def generate() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for row in read_rows():
            writer.writerow([spreadsheet_safe(cell) for cell in row])
            if buffer.tell() > 64_000:  # stream big exports in chunks
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
