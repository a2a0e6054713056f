"""No request answers 5xx for bad input: every route, walked with hostile values for each
parameter (over-long integers, far dates, unknown enum values, extra query arguments)."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import pytest

from portal.extensions import db
from tests.fixtures.portal import csrf_token

HUGE = "99999999999999999999"  # past a 64-bit integer
QUERIES = [
    {"page": HUGE},
    {"page": "-1"},
    {"page": "abc"},
    {"_method": "DELETE", "endpoint": "x", "clinic": "other", "agency": "other"},
    {"date_from": "0001-01-01", "date_to": "9999-12-31"},
    {"date_from": "2026-13-45", "date_to": "not a date"},
    {"status": "bogus", "kind": "bogus", "class": "bogus", "outcome": "bogus", "sort": "bogus"},
    {"q": "%" * 300, "code": "\x00", "patient_id": HUGE, "run": HUGE},
    {"q": "caf\u00e9 \x00", "next": "\x00//evil.example"},
    {"items": HUGE, "per_page": HUGE, "limit": HUGE, "offset": HUGE},
]
VALUES = {"int": HUGE, "default": "bondi-physio", "string": "bondi-physio"}
FORMS = [
    {"kind": "bogus", "mode": "bogus", "enabled": "maybe", "hour": HUGE, "weekday": HUGE},
    {"items": HUGE, "role": "bogus", "clinics": HUGE, "excluded": "2", "decision": "bogus"},
    {"date_from": "9999-12-31", "date_to": "0001-01-01", "codes": "\x00" * 10},
]


def _urls(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/_"):
            continue
        values = {}
        for name, converter in rule._converters.items():
            kind = type(converter).__name__.lower().replace("converter", "")
            values[name] = VALUES.get(kind, "bondi-physio")
            if name == "agency":
                values[name] = "harbour"
            if kind == "unicode" and name not in ("clinic", "agency"):
                values[name] = "%00" + "x" * 300
        yield rule, values


def _path(rule, values) -> str:
    path = rule.rule
    for name, value in values.items():
        path = path.replace(f"<int:{name}>", value).replace(f"<{name}>", value)
        path = path.replace(f"<string:{name}>", value).replace(f"<path:{name}>", value)
    return path


@pytest.mark.parametrize("who", [None, "manager@example.com", "demo@example.com"])
def test_no_route_answers_5xx_to_hostile_values(app, demo, client, login, who):
    if who:
        login(who)
    failures: list[tuple] = []
    for rule, values in _urls(app):
        path = _path(rule, values)
        if "GET" in rule.methods:
            for query in QUERIES:
                url = f"{path}?{urlencode(query)}"
                for headers in ({}, {"HX-Request": "true"}):
                    status = _status(client.get, url, headers=headers)
                    if status >= 500:
                        failures.append(("GET", rule.rule, query, headers, status))
        if "POST" in rule.methods and "logout" not in rule.endpoint:
            for form in FORMS:
                data = {**form, "csrf_token": csrf_token(client)}
                url = f"{path}?{urlencode(QUERIES[3])}"
                status = _status(client.post, url, data=data)
                if status >= 500:
                    failures.append(("POST", rule.rule, form, status))
    assert failures == [], "\n".join(map(str, failures))


def _status(send, url: str, **kw) -> int:
    """The status, or 500 for an error the test app propagates instead of answering."""
    try:
        response = send(url, **kw)
    except Exception as error:  # the suite runs with exceptions propagated, not turned into 500s
        db.session.rollback()
        print("error:", type(error).__name__, error)
        return 500
    response.close()
    return response.status_code


def test_an_oversize_upload_is_a_plain_413(app, demo, login):
    client = login("manager@example.com")
    too_big = app.config["MAX_CONTENT_LENGTH"] + 1
    response = client.post(
        "/c/bondi-physio/reconciliation/upload",
        input_stream=io.BytesIO(b""),
        content_type="multipart/form-data; boundary=x",
        environ_overrides={"CONTENT_LENGTH": str(too_big)},
    )
    assert response.status_code == 413
    assert "larger than" in response.get_data(as_text=True)


def test_a_nul_in_a_slug_or_token_is_a_400_or_404(client, demo, login):
    login("manager@example.com")
    for path in ("/c/%00bondi/", "/a/%00harbour/inbox", "/hooks/vaocherapp/%00abc"):
        assert client.get(path).status_code in (400, 404, 405)
    assert client.post("/hooks/vaocherapp/" + "x" * 40 + "%00", data=b"{}").status_code in (
        400,
        404,
    )
