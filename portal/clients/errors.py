"""Typed errors raised by every upstream client; messages are safe to show to clinic staff."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit


class Answer(Protocol):
    """An HTTP answer as the error mapping reads it (`base.Response`)."""

    @property
    def status_code(self) -> int: ...

    @property
    def url(self) -> str: ...

    def json(self) -> Any: ...


class UpstreamError(Exception):
    """Something went wrong talking to Cliniko, VaocherApp or Reckon."""

    def __init__(
        self,
        message: str,
        *,
        service: str = "",
        status: int | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.service = service
        self.status = status
        # Method and path are for logs only: the message never includes them because a path can
        # carry a voucher code, which is as good as cash.
        self.method = method
        self.path = path

    def __str__(self) -> str:
        return self.message


E = TypeVar("E", bound=UpstreamError)


def reworded(error: UpstreamError, kind: type[E], message: str) -> E:
    """The same failure (service, status, method, path) as `kind`, told in the caller's words."""
    return kind(
        message, service=error.service, status=error.status, method=error.method, path=error.path
    )


class AuthError(UpstreamError):
    """The credentials were refused or have expired: someone must reconnect or fix the key."""


class NotFound(UpstreamError):
    """The record does not exist (or is not visible to these credentials)."""


class ValidationError(UpstreamError):
    """The upstream refused the data; `fields` maps each field to its message."""

    def __init__(self, message: str, *, fields: Mapping[str, str] | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.fields: dict[str, str] = dict(fields or {})


class RateLimited(UpstreamError):
    """Too many requests, and waiting longer than allowed would be needed; `retry_after` in s."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class Unavailable(UpstreamError):
    """The upstream is down, slow or unreachable; nothing was changed, so trying later is safe."""


class OutcomeUnknown(UpstreamError):
    """A write may or may not have happened (timeout, dropped connection, 5xx): check first.

    Deliberately not an `Unavailable`: code that retries on `Unavailable` must not repeat a write
    such as a voucher redeem without first looking at the upstream's state.
    """


def field_errors(body: Any) -> dict[str, str]:
    """Field → message from Cliniko {f: msg}, Laravel {f: [msg]} or Reckon [{location, message}]."""
    errors = body.get("errors") if isinstance(body, Mapping) else None
    fields: dict[str, str] = {}
    if isinstance(errors, Mapping):
        for name, msg in errors.items():
            fields[str(name)] = "; ".join(map(str, msg)) if isinstance(msg, list) else str(msg)
    elif isinstance(errors, list):
        for item in errors:
            if isinstance(item, Mapping):
                name = str(item.get("location") or item.get("field") or "")
                msg = str(item.get("message", ""))
                fields[name] = f"{fields[name]}; {msg}" if name in fields else msg
    return fields


def error_from_response(
    response: Answer, service: str, method: str, idempotent: bool
) -> UpstreamError:
    """Map an error status to the typed error the portal handles."""
    status = response.status_code
    ctx: dict[str, Any] = {"service": service, "status": status, "method": method}
    ctx["path"] = urlsplit(response.url or "").path
    if status in (401, 403):
        return AuthError(f"{service} refused our credentials (HTTP {status}).", **ctx)
    if status == 404:
        return NotFound(f"{service} could not find that record.", **ctx)
    if status == 429:
        return RateLimited(f"{service} asked us to slow down; try again shortly.", **ctx)
    if status >= 500 and idempotent:
        return Unavailable(f"{service} is having trouble (HTTP {status}); try again later.", **ctx)
    if status >= 500:
        return OutcomeUnknown(unknown_outcome_message(service), **ctx)
    body = _json_or_none(response)
    fields = field_errors(body)
    if status in (400, 409, 422) or fields:
        return ValidationError(_validation_message(service, body, fields), fields=fields, **ctx)
    return UpstreamError(f"{service} gave an unexpected answer (HTTP {status}).", **ctx)


def unknown_outcome_message(service: str) -> str:
    """What to tell staff when a write may or may not have happened."""
    return (
        f"We lost contact with {service} while it was handling a change, so we can't tell whether "
        "it was saved. Check in the service before trying again."
    )


def _validation_message(service: str, body: Any, fields: Mapping[str, str]) -> str:
    if fields:
        detail = "; ".join(f"{name}: {msg}" if name else msg for name, msg in fields.items())
    else:
        detail = str(body.get("message", "")) if isinstance(body, Mapping) else ""
    # Cap the length: the message is for a person, and bodies can be long.
    return f"{service} rejected the data: {detail or 'no reason given'}"[:500]


def _json_or_none(response: Answer) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
