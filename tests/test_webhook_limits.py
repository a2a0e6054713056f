"""The webhook endpoint refuses what no real delivery looks like before it costs anything."""

from __future__ import annotations

import io

import pytest

from portal.extensions import db
from portal.models import AuditEvent, Connection, Provider

BONDI = "/c/bondi-physio"


@pytest.fixture
def hook(demo, login, post, bondi_accounts) -> str:
    login("manager@example.com")
    key = bondi_accounts["vaocherapp"]["api_key"]
    assert post(f"{BONDI}/connections/vaocherapp", {"api_key": key}).status_code == 303
    conn = db.session.scalar(
        db.select(Connection).where(Connection.provider == Provider.VAOCHERAPP)
    )
    return f"/hooks/vaocherapp/{conn.webhook_token}"


class CountingStream(io.RawIOBase):
    """An endless body that counts how much of it the server read."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True  # the test client measures its input by seeking; nothing moves

    def seek(self, offset: int, whence: int = 0) -> int:
        return 0

    def tell(self) -> int:
        return 0

    def readinto(self, buffer) -> int:
        size = len(buffer)
        buffer[:size] = b"x" * size
        self.read_bytes += size
        return size


def test_a_body_declared_too_large_is_refused_unread(client, hook):
    stream = CountingStream()
    answer = client.post(
        hook,
        input_stream=stream,
        content_type="application/json",
        environ_overrides={"CONTENT_LENGTH": str(100 * 1024 * 1024)},
    )
    assert answer.status_code == 413
    assert "at most 256 KB" in answer.get_json()["error"]
    assert stream.read_bytes == 0


def test_a_streamed_body_is_cut_off_at_the_limit(client, hook, app):
    stream = CountingStream()
    # Chunked: no Content-Length to refuse up front, so the limit holds while reading.
    environ = {
        "wsgi.input_terminated": True,
        "CONTENT_LENGTH": "",
        "HTTP_TRANSFER_ENCODING": "chunked",
    }
    answer = client.post(
        hook, input_stream=stream, content_type="application/json", environ_overrides=environ
    )
    assert answer.status_code == 413
    assert stream.read_bytes <= app.config["WEBHOOK_MAX_BYTES"] + 64 * 1024


def test_a_non_ascii_signature_is_401_and_audited(client, hook):
    answer = client.post(hook, data=b"{}", headers={"signature": "é" * 64})
    assert answer.status_code == 401
    actions = db.session.scalars(db.select(AuditEvent.action)).all()
    assert "webhook.bad_signature" in actions
