"""The domain: `verb_noun(...)` functions that flush and raise domain errors; callers commit.

The few writes that must outlive a failed request use `own_transaction.in_own_transaction`.
"""


class DomainError(Exception):
    """A rule of the domain was broken; the message is safe to show to the user."""


class UpstreamFailed(DomainError):
    """Cliniko, VaocherApp or Reckon did not do what was asked; the message says what happened
    (services turn the clients' errors into this, so views never handle client errors)."""
