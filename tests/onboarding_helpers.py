"""Helpers for the onboarding tests: links read from the mail the test SMTP server received."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from tests.fixtures.mail import Mailbox
from tests.fixtures.portal import csrf_token, wait_for

LINK = re.compile(r"https?://\S+/(?:welcome|reset-password|set-password)/[A-Za-z0-9_.\-]+")
GOOD_PASSWORD = "ferry to manly at dawn"
OTHER_PASSWORD = "pelican over the quiet harbour"


def link_in_mail(mailbox: Mailbox, to: str, count: int = 1) -> str:
    """The onboarding link in the newest message to `to` (waiting for `count` such messages)."""
    messages = wait_for(lambda: len(mailbox.to(to)) >= count and mailbox.to(to))
    match = LINK.search(messages[-1].text)
    assert match, messages[-1].text
    return match.group(0)


def path_of(link: str) -> str:
    return urlsplit(link).path


class Browser:
    """A test client whose every request runs in its own app context, as on a real server (the
    suite's shared context would otherwise let one client's signed-in person leak into
    another's), with the form helpers the onboarding tests need."""

    def __init__(self, app) -> None:
        self.app, self.client = app, app.test_client()

    def get(self, url: str, **kw):
        with self.app.app_context():
            return self.client.get(url, **kw)

    def post(self, url: str, data: dict | None = None, **kw):
        with self.app.app_context():
            token = csrf_token(self.client)
            return self.client.post(url, data={"csrf_token": token, **(data or {})}, **kw)

    def sign_in(self, email: str, password: str = "demo"):  # noqa: S107 — the demo password
        return self.post("/login", {"email": email, "password": password})

    def signed_in(self) -> bool:
        return self.get("/account/").status_code == 200


def page(response) -> str:
    return response.get_data(as_text=True)
