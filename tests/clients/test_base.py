"""Pure helpers of the HTTP choke point: backoff, header parsing, error mapping."""

import json
from dataclasses import replace
from decimal import Decimal

import pytest
from urllib3 import HTTPHeaderDict

from portal.clients.base import (
    HttpOptions,
    Response,
    backoff_delay,
    decode_json,
    next_link,
    reset_seconds,
    retry_after_seconds,
    same_origin,
)
from portal.clients.errors import (
    AuthError,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Unavailable,
    UpstreamError,
    ValidationError,
    error_from_response,
    field_errors,
)


def make_response(status: int, body: object = None, headers: dict | None = None) -> Response:
    return Response(
        status,
        HTTPHeaderDict(headers or {}),
        b"" if body is None else json.dumps(body).encode(),
        "http://127.0.0.1:9/cliniko/au1/v1/patients/7",
    )


def test_backoff_doubles_up_to_the_cap_without_jitter():
    opts = HttpOptions(backoff_base=0.5, backoff_cap=3.0, jitter=0.0)
    assert [backoff_delay(n, opts, rand=0.9) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_jitter_only_ever_shortens_the_delay_by_its_share():
    opts = HttpOptions(backoff_base=1.0, backoff_cap=60.0, jitter=0.5)
    assert backoff_delay(2, opts, rand=0.0) == 4.0
    assert backoff_delay(2, opts, rand=1.0) == 2.0


def test_retry_after_in_seconds_and_as_an_http_date():
    assert retry_after_seconds("7", now=0) == 7.0
    assert retry_after_seconds("Thu, 01 Jan 1970 00:00:30 GMT", now=10.0) == pytest.approx(20.0)
    assert retry_after_seconds("soon", now=0) is None
    assert retry_after_seconds(None, now=0) is None


def test_ratelimit_reset_is_a_unix_timestamp():
    assert reset_seconds("1700000030", now=1700000000.5) == pytest.approx(29.5)
    assert reset_seconds("1699999990", now=1700000000) is None  # already past: back off instead
    assert reset_seconds("tomorrow", now=0) is None
    assert reset_seconds(None, now=0) is None


def test_next_link_picks_rel_next_from_a_reckon_style_header():
    header = (
        '<http://x/r1/v2/b/items?page=1&perPage=10>; rel="first", '
        '<http://x/r1/v2/b/items?page=3&perPage=10>; rel="next", '
        '<http://x/r1/v2/b/items?page=9&perPage=10>; rel="last"'
    )
    assert next_link(header) == "http://x/r1/v2/b/items?page=3&perPage=10"
    assert next_link('<http://x/a?page=1>; rel="first"') is None
    assert next_link(None) is None


def test_same_origin_guards_where_credentials_go():
    base = "http://127.0.0.1:5000/cliniko/au1/v1"
    assert same_origin("http://127.0.0.1:5000/cliniko/au1/v1/patients?page=2", base)
    assert not same_origin("https://evil.example/v1/patients?page=2", base)
    assert not same_origin("http://127.0.0.1:5001/cliniko/au1/v1/patients", base)


def test_field_errors_normalises_all_three_upstream_shapes():
    assert field_errors({"errors": {"first_name": "can\u2019t be blank"}}) == {
        "first_name": "can\u2019t be blank"
    }
    assert field_errors({"errors": {"amount": ["too big", "odd"]}}) == {"amount": "too big; odd"}
    reckon = {"errors": [{"location": "name", "message": "Required."}]}
    assert field_errors(reckon) == {"name": "Required."}
    assert field_errors("nonsense") == {}


@pytest.mark.parametrize(
    ("status", "idempotent", "expected"),
    [
        (401, True, AuthError),
        (403, True, AuthError),
        (404, True, NotFound),
        (422, False, ValidationError),
        (400, True, ValidationError),
        (429, False, RateLimited),
        (503, True, Unavailable),
        (500, False, OutcomeUnknown),
        (418, True, UpstreamError),
    ],
)
def test_error_mapping_by_status(status, idempotent, expected):
    error = error_from_response(
        make_response(status, {"message": "x"}), "Cliniko", "GET", idempotent
    )
    assert type(error) is expected
    assert error.status == status
    assert error.service == "Cliniko"
    assert error.path == "/cliniko/au1/v1/patients/7"


def test_validation_error_carries_field_messages_in_readable_text():
    body = {"message": "Validation Failed", "errors": {"last_name": "can\u2019t be blank"}}
    error = error_from_response(make_response(422, body), "Cliniko", "POST", False)
    assert isinstance(error, ValidationError)
    assert error.fields == {"last_name": "can\u2019t be blank"}
    assert str(error) == "Cliniko rejected the data: last_name: can\u2019t be blank"


def test_messages_never_echo_paths_or_credentials():
    response = make_response(401, {"message": "HTTP Basic: Access denied."})
    error = error_from_response(response, "Cliniko", "GET", True)
    assert "c2VjcmV0" not in str(error)
    assert "/patients/7" not in str(error)


def test_decode_json_can_keep_money_exact():
    response = replace(make_response(200), content=b'{"totalAmount": 110.10, "count": 2}')
    assert decode_json(response, "Reckon", decimals=True) == {
        "totalAmount": Decimal("110.10"),
        "count": 2,
    }
    with pytest.raises(UpstreamError, match="could not read"):
        decode_json(replace(response, content=b"<html>"), "Reckon")


def test_http_client_refuses_to_follow_links_to_another_origin():
    from portal.clients.base import HttpClient
    from portal.clients.ratelimit import RateLimit, RateLimiter

    http = HttpClient(
        "Cliniko", "http://127.0.0.1:9/cliniko/au1/v1", limiter=RateLimiter(RateLimit(1, 1))
    )
    assert http.url("patients") == "http://127.0.0.1:9/cliniko/au1/v1/patients"
    assert http.url("http://127.0.0.1:9/cliniko/au1/v1/patients?page=2").endswith("page=2")
    with pytest.raises(UpstreamError, match="another site"):
        http.url("https://api.au1.cliniko.com/v1/patients?page=2")
    http.close()
