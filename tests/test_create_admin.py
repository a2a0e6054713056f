"""`flask create-admin`: the agency (if new) and its first admin without a password, and a
single-use link that sets it (emailed when mail is configured)."""

from __future__ import annotations

from portal.extensions import db
from portal.models import Agency, AuditEvent, Role, User
from tests.onboarding_helpers import GOOD_PASSWORD, OTHER_PASSWORD, Browser, page, path_of

ARGS = ["create-admin", "--email", "Ada@Allied.example", "--name", "Ada Lovelace"]


def _run(app, *extra: str):
    return app.test_cli_runner().invoke(args=[*ARGS, *extra])


def _link(output: str) -> str:
    return next(line for line in output.splitlines() if "/set-password/" in line).strip()


def test_create_admin_makes_the_agency_and_an_admin_who_sets_their_password(
    app, mailbox, monkeypatch
):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://portal.example")
    result = _run(app, "--agency", "Allied Together")
    assert result.exit_code == 0, result.output
    assert "Created the agency Allied Together (/a/allied-together/)" in result.output
    link = _link(result.output)
    assert link.startswith("https://portal.example/set-password/")
    [message] = mailbox.wait_for(1)
    assert message.to == ["ada@allied.example"]
    assert link in message.text
    ada = db.session.scalar(db.select(User).where(User.email == "ada@allied.example"))
    assert ada.password_hash == ""
    assert [(m.role, m.agency.slug) for m in ada.memberships] == [
        (Role.AGENCY_ADMIN, "allied-together")
    ]
    browser = Browser(app)
    assert browser.sign_in("ada@allied.example", "any password at all").status_code == 401
    assert "Welcome, choose your password" in page(browser.get(path_of(link)))
    answer = browser.post(path_of(link), {"password": GOOD_PASSWORD, "confirm": GOOD_PASSWORD})
    assert answer.status_code == 303
    assert browser.signed_in()  # a first admin starts straight away
    assert browser.get("/a/allied-together/").status_code == 200
    again = Browser(app).post(
        path_of(link), {"password": OTHER_PASSWORD, "confirm": OTHER_PASSWORD}
    )
    assert again.status_code == 400  # single use
    actions = set(db.session.scalars(db.select(AuditEvent.action)))
    assert {"agency.create", "user.create_admin", "user.set_password"} <= actions


def test_running_it_again_finds_the_agency_and_leaves_a_set_password_alone(
    app, demo, mailbox, monkeypatch
):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://portal.example")
    _run(app, "--agency", "Allied Together")
    second = _run(app, "--agency", "allied together")  # same agency, whatever the case
    assert "Found the agency Allied Together" in second.output
    assert "/set-password/" in second.output  # still no password: a link again
    assert db.session.scalar(db.select(db.func.count()).select_from(Agency)) == 3  # 2 demo + 1
    # Someone who already has a password (demo's manager) is made admin and keeps it.
    result = app.test_cli_runner().invoke(
        args=[
            "create-admin",
            "--email",
            "manager@example.com",
            "--name",
            "M",
            "--agency",
            "Allied Together",
        ]
    )
    assert "already have a password" in result.output
    assert "/set-password/" not in result.output


def test_without_a_public_address_it_says_so_and_saves_nothing(app, mailbox):
    result = _run(app, "--agency", "Nowhere Health")
    assert result.exit_code != 0
    assert "PUBLIC_BASE_URL" in result.output
    assert db.session.scalar(db.select(Agency).where(Agency.name == "Nowhere Health")) is None
    with_base = _run(app, "--agency", "Nowhere Health", "--base-url", "http://10.0.0.5:5000/")
    assert "http://10.0.0.5:5000/set-password/" in with_base.output


def test_without_mail_the_link_is_printed_only(app, mailbox, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://portal.example")
    result = _run(app, "--agency", "Quiet Clinics")
    assert result.exit_code == 0
    assert "/set-password/" in result.output
    assert "Emailed" not in result.output
    assert mailbox.messages() == []
