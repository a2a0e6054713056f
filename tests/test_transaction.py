"""One transaction per request: committed on success, rolled back on 4xx, 5xx or a DomainError."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, abort

from portal import create_app
from portal.extensions import db
from portal.models import AuditEvent
from portal.services import DomainError
from portal.services.audit import record_event
from portal.web.htmx import see_other
from portal.web.transaction import after_commit, failed_page
from tests.fixtures.portal import dispose_engines


def _written(action: str) -> int:
    """Rows committed for `action`, read on a connection of its own."""
    with db.engine.connect() as conn:
        stmt = db.select(db.func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        return int(conn.scalar(stmt) or 0)


@pytest.fixture
def plumbing(app: Flask, database_url: str, redis_url: str) -> Iterator[Flask]:
    """A portal app with a few views that write an audit event, then succeed or fail."""
    test_app = create_app(
        {
            "MODE": "test",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "WTF_CSRF_ENABLED": False,
        }
    )
    seen: dict[str, Any] = {}

    def refuse() -> Any:
        record_event("test.refused", None)
        raise DomainError("That is not allowed here.")

    def answer(code: int) -> Any:
        record_event(f"test.answer.{code}", None)
        after_commit(lambda: seen.setdefault("committed_rows", _written(f"test.answer.{code}")))
        if code == 303:
            return see_other("/done")
        if code == 404:
            abort(404)
        return "", code

    def crash() -> Any:
        record_event("test.crash", None)
        raise RuntimeError("a bug")

    def refused_form() -> Any:
        record_event("test.form", None)
        return failed_page(lambda: (str(_count_in_session("test.form")), 200))

    test_app.add_url_rule("/_test/refuse", view_func=refuse, methods=["POST"])
    test_app.add_url_rule("/_test/answer/<int:code>", view_func=answer, methods=["POST"])
    test_app.add_url_rule("/_test/form", view_func=refused_form, methods=["POST"])
    test_app.add_url_rule("/_test/crash", view_func=crash, methods=["POST"])
    test_app.config["SEEN"] = seen
    yield test_app
    dispose_engines(test_app)


def _count_in_session(action: str) -> int:
    stmt = db.select(db.func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    return int(db.session.scalar(stmt) or 0)


def _flashes(client: Any) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        # Sessions are stored as msgpack in Redis, which keeps a (category, message) as a list.
        return [tuple(flash) for flash in session.get("_flashes", [])]


def test_a_domain_error_rolls_back_flashes_and_goes_back_where_the_person_was(plumbing):
    client = plumbing.test_client()
    response = client.post("/_test/refuse", headers={"Referer": "http://localhost/c/x/?page=2"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/c/x/?page=2"
    assert _flashes(client) == [("error", "That is not allowed here.")]
    assert _written("test.refused") == 0


def test_a_domain_error_never_sends_people_to_another_site(plumbing):
    client = plumbing.test_client()
    response = client.post("/_test/refuse", headers={"Referer": "https://evil.example/c/x/"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_a_domain_error_in_an_htmx_request_reloads_the_page_it_came_from(plumbing):
    client = plumbing.test_client()
    headers = {"HX-Request": "true", "HX-Current-URL": "http://localhost/c/x/jobs/7"}
    response = client.post("/_test/refuse", headers=headers)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/c/x/jobs/7"
    assert _flashes(client) == [("error", "That is not allowed here.")]
    assert _written("test.refused") == 0


@pytest.mark.parametrize("code", [200, 204, 303])
def test_a_success_commits_and_only_then_runs_what_waits_for_the_commit(plumbing, code):
    response = plumbing.test_client().post(f"/_test/answer/{code}")
    assert response.status_code == code
    assert _written(f"test.answer.{code}") == 1
    assert plumbing.config["SEEN"] == {"committed_rows": 1}  # it saw the row committed


@pytest.mark.parametrize("code", [400, 404, 409, 500])
def test_a_request_ending_in_4xx_or_5xx_leaves_no_writes(plumbing, code):
    response = plumbing.test_client().post(f"/_test/answer/{code}")
    assert response.status_code == code
    assert _written(f"test.answer.{code}") == 0
    assert plumbing.config["SEEN"] == {}  # nothing committed, so nothing ran after a commit


def test_a_refused_form_is_shown_from_the_state_before_the_attempt(plumbing):
    response = plumbing.test_client().post("/_test/form")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "0"  # rolled back before the page was made
    assert _written("test.form") == 0  # and nothing committed, although the page is a 200


def test_an_exception_rolls_back_and_shows_the_error_page(plumbing):
    plumbing.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the 500 page
    response = plumbing.test_client().post("/_test/crash")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    assert _written("test.crash") == 0
