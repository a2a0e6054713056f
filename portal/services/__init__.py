"""The domain: `verb_noun(...)` functions that flush and raise domain errors; callers commit."""


class DomainError(Exception):
    """A rule of the domain was broken; the message is safe to show to the user."""
