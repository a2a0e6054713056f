"""Security headers on every kind of response: pages, fragments, CSV, errors, static files."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from portal import create_app
from portal.web.headers import HSTS

EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _assert_headers(response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.status_code)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp


@pytest.mark.parametrize(
    "path", ["/login", "/static/css/app.css", "/no-such-page", "/c/nowhere/vouchers/"]
)
def test_anonymous_responses_carry_the_headers(client, demo, path):
    response = client.get(path)
    response.close()  # a static file's body is a file left open until closed
    _assert_headers(response)
    assert "no-store" not in response.headers.get("Cache-Control", "")


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/c/bondi-physio/", {}),
        ("/c/bondi-physio/vouchers/", {"HX-Request": "true"}),
        ("/c/bondi-physio/vouchers/export.csv", {}),
        ("/c/bondi-physio/jobs/999999", {}),
        ("/c/other-clinic-nobody-has/", {}),
    ],
)
def test_signed_in_responses_are_not_cached(login, demo, path, headers):
    client = login("manager@example.com")
    response = client.get(path, headers=headers)
    _assert_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_stay_cacheable_when_signed_in(login, demo):
    response = login("manager@example.com").get("/static/css/app.css")
    response.close()
    _assert_headers(response)
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_production_adds_hsts(database_url, redis_url):
    app = create_app(
        {
            "MODE": "production",
            "SECRET_KEY": "x" * 40,
            "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
        }
    )
    response = app.test_client().get("/login")
    assert response.headers["Strict-Transport-Security"] == HSTS
    _assert_headers(response)
