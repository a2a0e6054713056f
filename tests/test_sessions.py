"""Revocable sessions (ASVS 3.2, 3.3): server-side in Redis, dead after sign-out, idle and
absolute limits, a new id at sign-in, sign out everywhere, deactivation ends them."""

from __future__ import annotations

import time

from portal.extensions import db, get_redis
from portal.models import User
from tests.fixtures.portal import csrf_token

HOME = "/c/bondi-physio/"


class Browser:
    """A test client whose every request runs in its own app context, as on a real server: the
    suite's shared context would otherwise let one client's signed-in user leak into another's."""

    def __init__(self, app) -> None:
        self.app, self.client = app, app.test_client()

    def __getattr__(self, name):
        attr = getattr(self.client, name)
        if name not in ("get", "post"):
            return attr

        def call(*args, **kwargs):
            with self.app.app_context():
                return attr(*args, **kwargs)

        return call


def _sign_in(app, email: str = "manager@example.com"):
    client = Browser(app)
    token = csrf_token(client)
    answer = client.post("/login", data={"email": email, "password": "demo", "csrf_token": token})
    assert answer.status_code == 303
    return client


def _signed_in(client) -> bool:
    return client.get(HOME).status_code == 200


def _cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_copied_session_cookie_is_dead_after_sign_out(app, demo):
    client = _sign_in(app)
    stolen = Browser(app)
    stolen.set_cookie("session", _cookie(client))
    assert _signed_in(stolen)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert not _signed_in(stolen)
    assert not _signed_in(client)


def test_sign_in_gives_a_new_session_id_and_no_remember_me_cookie(app, demo):
    client = Browser(app)
    csrf_token(client)
    before = _cookie(client)
    token = csrf_token(client)
    answer = client.post(
        "/login", data={"email": "manager@example.com", "password": "demo", "csrf_token": token}
    )
    assert _cookie(client) != before
    assert "remember_token" not in " ".join(answer.headers.getlist("Set-Cookie"))


def test_an_idle_session_expires_with_its_redis_key(app, demo):
    client = _sign_in(app)
    key = f"{app.config['SESSION_KEY_PREFIX']}{_cookie(client)}"
    idle = app.config["SESSION_IDLE_MINUTES"] * 60
    assert idle - 5 <= get_redis().ttl(key) <= idle  # each request starts the idle clock again
    get_redis().delete(key)  # what Redis does once the session has been idle that long
    assert not _signed_in(client)


def test_a_session_ends_after_its_absolute_lifetime(app, demo):
    client = _sign_in(app)
    with client.session_transaction() as session:
        session["signed_in_at"] = time.time() - app.config["SESSION_ABSOLUTE_HOURS"] * 3600 - 1
    answer = client.get(HOME)
    assert answer.status_code == 303
    assert "/login" in answer.headers["Location"]
    assert not _signed_in(client)


def test_sign_out_everywhere_ends_every_session_of_the_person(app, demo):
    laptop, phone = _sign_in(app), _sign_in(app)
    other = _sign_in(app, "viewer@example.com")
    assert laptop.get("/account/sign-out-everywhere").status_code == 200  # asks first
    assert _signed_in(phone)
    answer = laptop.post("/account/sign-out-everywhere", data={"csrf_token": csrf_token(laptop)})
    assert answer.status_code == 303
    assert not _signed_in(laptop)
    assert not _signed_in(phone)
    assert _signed_in(other)
    assert _signed_in(_sign_in(app))  # signing in again works


def test_deactivating_a_person_ends_their_sessions_and_sign_in(app, demo):
    viewer = _sign_in(app, "viewer@example.com")
    admin = _sign_in(app, "demo@example.com")
    person = db.session.scalar(db.select(User).where(User.email == "viewer@example.com"))
    url = f"/a/harbour/users/{person.id}/deactivate"
    assert "Yes, deactivate" in admin.get(url).get_data(as_text=True)
    assert _signed_in(viewer)  # asking changed nothing
    assert admin.post(url, data={"csrf_token": csrf_token(admin)}).status_code == 303
    assert not _signed_in(viewer)
    client = Browser(app)
    token = csrf_token(client)
    refused = client.post(
        "/login", data={"email": "viewer@example.com", "password": "demo", "csrf_token": token}
    )
    assert refused.status_code == 401
