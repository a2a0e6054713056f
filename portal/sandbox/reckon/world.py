"""ReckonWorld: every Reckon One book, login and token in the sandbox, rebuilt from a seed."""

from __future__ import annotations

import random
import re
import uuid

from ..clock import Clock
from .seed import seed_book
from .store import Book
from .tokens import TokenStore, User


class ReckonWorld:
    """The Reckon side of the sandbox: one book per clinic, an app registration, users, tokens."""

    def __init__(self, seed: int, clinic_names: list[str], clock: Clock) -> None:
        self.clock = clock
        self.books: dict[str, Book] = {}
        for index, name in enumerate(clinic_names):
            book = seed_book(seed, index, name, clock.now())
            self.books[book.id] = book
        self.books_by_clinic = list(self.books)
        rng = random.Random(f"reckon-app:{seed}")
        self.app_credentials = {
            "client_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "client_secret": f"{rng.getrandbits(256):064x}",
            "subscription_key": f"{rng.getrandbits(128):032x}",  # APIM keys are 32 hex chars
        }
        self.users = self._seed_users(rng, clinic_names)
        self.tokens = TokenStore(
            clock, self.app_credentials["client_id"], self.app_credentials["client_secret"]
        )

    def _seed_users(self, rng: random.Random, clinic_names: list[str]) -> list[User]:
        """An owner who reaches every book, then one bookkeeper per clinic's book."""

        def new_id() -> str:
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))

        owner = User(new_id(), "owner@reckon.sandbox", "Practice Owner", tuple(self.books))
        users = [owner]
        for name, book_id in zip(clinic_names, self.books_by_clinic, strict=True):
            slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "clinic"
            users.append(User(new_id(), f"{slug}@reckon.sandbox", f"{name} bookkeeper", (book_id,)))
        return users

    @property
    def access_token_ttl(self) -> int:
        """Seconds an access token lives (10800 unless a test shortens it)."""
        return self.tokens.settings.access_token_ttl

    @access_token_ttl.setter
    def access_token_ttl(self, seconds: int) -> None:
        self.tokens.settings.access_token_ttl = seconds

    def user(self, user_id: str) -> User | None:
        """A login by id."""
        return next((u for u in self.users if u.id == user_id), None)

    def issue_token_for_book(self, book_id: str) -> str:
        """An access token whose user can use exactly this book (KeyError if it is unknown)."""
        if book_id not in self.books:
            raise KeyError(book_id)
        user = next(u for u in self.users[1:] if u.book_ids == (book_id,))
        return self.tokens.issue_access(user)
