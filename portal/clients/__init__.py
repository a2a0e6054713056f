"""One module per upstream API (no Flask, no database); see base.py for the shared HTTP choke point.

Import the client you need from its module, e.g. `from portal.clients.cliniko import ClinikoClient`;
the errors every client raises are re-exported here.
"""

from .base import HttpOptions
from .errors import (
    AuthError,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Unavailable,
    UpstreamError,
    ValidationError,
)
from .ratelimit import RateLimit

__all__ = [
    "AuthError",
    "HttpOptions",
    "NotFound",
    "OutcomeUnknown",
    "RateLimit",
    "RateLimited",
    "Unavailable",
    "UpstreamError",
    "ValidationError",
]
