"""The agency's audit log: every recorded action in words, filters (person, clinic, action or
area, dates), times in the clinic's (or agency's) zone with the zone shown, pages, CSV."""

from __future__ import annotations

import ast
import csv
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from portal.extensions import db
from portal.models import AuditEvent, User
from portal.services.audit.wording import ACTIONS, describe

ROOT = Path(__file__).resolve().parents[1]
AUDIT = "/a/harbour/audit/"
RECORDERS = {
    "record_event",
    "record_event_in_own_transaction",
    "record_event_for_each_agency",
    "_audit",  # the problems' and TOTP's own wrappers
    "_set_password",  # the password lifecycle's
}
ACTION = re.compile(r"^[a-z]+\.[a-z_]+$")


def _recorded_actions() -> set[str]:
    """Every action string passed to a recorder anywhere in the portal's source."""
    found: set[str] = set()
    for path in (ROOT / "portal").rglob("*.py"):
        if "migrations" in path.parts or "sandbox" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in RECORDERS:
                continue
            for arg in node.args:
                found |= {
                    leaf.value
                    for leaf in ast.walk(arg)
                    if isinstance(leaf, ast.Constant)
                    and isinstance(leaf.value, str)
                    and ACTION.match(leaf.value)
                }
    return found


def test_every_recorded_action_has_words():
    recorded = _recorded_actions()
    assert len(recorded) > 30  # the scan really found them
    for prefix in ("problem.", "alerts.", "clinic.", "reconciliation.", "user.", "connection."):
        assert any(a.startswith(prefix) for a in recorded), prefix
    assert {"webhook.bad_signature", "job.start", "clinic.expiry_window"} <= recorded
    missing = sorted(recorded - set(ACTIONS))
    assert missing == [], f"add these to services/audit/wording.py: {missing}"


def _event(action: str, actor: User | None = None, **kw) -> AuditEvent:
    return AuditEvent(action=action, actor_id=actor.id if actor else None, **kw)


@pytest.mark.parametrize(
    ("action", "target", "detail", "sentence"),
    [
        ("user.sign_in", "", {}, "Dana Admin signed in"),
        (
            "user.invite",
            "a@b.example",
            {"role": "viewer", "clinics": ["Bondi Physio"]},
            "Dana Admin invited a@b.example as viewer (Bondi Physio)",
        ),
        (
            "user.set_access",
            "a@b.example",
            {"role": "agency_admin", "clinics": []},
            "Dana Admin made a@b.example agency admin (all clinics)",
        ),
        (
            "problem.resolve",
            "problem #3",
            {"title": "Sync failed", "automatic": True},
            "“Sync failed” resolved itself (the work succeeded later)",
        ),
        ("connection.link", "vaocherapp", {}, "Dana Admin linked VaocherApp for Bondi Physio"),
        (
            "job.start",
            "run #9",
            {"kind": "connections.check"},
            "Dana Admin started Check connections (run #9)",
        ),
        (
            "voucher.mark_redeemed",
            "GIFT-1",
            {"amount_cents": 5000},
            "Dana Admin marked voucher GIFT-1 redeemed in VaocherApp ($50.00)",
        ),
        ("someone.new_thing", "x", {}, "Dana Admin: someone.new_thing (x)"),
    ],
)
def test_sentences(action, target, detail, sentence):
    event = AuditEvent(action=action, target=target, detail=detail)
    titles = {"connections.check": "Check connections"}
    assert describe(event, "Dana Admin", "Bondi Physio", titles) == sentence


@pytest.fixture
def events(demo):
    """A few events of Harbour's at known times, and one of Northside's."""
    harbour, northside = demo["agencies"]["harbour"], demo["agencies"]["northside"]
    bondi, manly = demo["clinics"]["bondi-physio"], demo["clinics"]["manly-allied"]
    manly.timezone = "Australia/Perth"
    dana = db.session.scalar(db.select(User).where(User.email == "demo@example.com"))
    morgan = db.session.scalar(db.select(User).where(User.email == "manager@example.com"))
    winter = datetime(2026, 7, 1, 2, 30, tzinfo=UTC)  # AEST (+10), AWST (+8)
    rows = [
        _event("user.sign_in", dana, agency_id=harbour.id, at=winter),
        _event(
            "connection.link",
            morgan,
            agency_id=harbour.id,
            clinic_id=bondi.id,
            target="cliniko",
            at=datetime(2026, 7, 2, 1, 0, tzinfo=UTC),
        ),
        _event(
            "connection.unlink",
            morgan,
            agency_id=harbour.id,
            clinic_id=manly.id,
            target='=HYPERLINK("x")',
            at=datetime(2026, 7, 3, 1, 0, tzinfo=UTC),
        ),
        _event(
            "problem.open",
            None,
            agency_id=harbour.id,
            clinic_id=manly.id,
            target="problem #1",
            detail={"title": "Reckon is down"},
            at=datetime(2026, 7, 3, 20, 0, tzinfo=UTC),
        ),  # 4 July in Perth
        _event("user.sign_in", None, agency_id=northside.id, at=winter),
    ]
    db.session.add_all(rows)
    db.session.commit()
    return {"dana": dana, "morgan": morgan, "bondi": bondi, "manly": manly}


def _rows(client, **query) -> list[str]:
    html = client.get(AUDIT, query_string=query).get_data(as_text=True)
    return re.findall(r'<tr data-action="([a-z_.]+)">', html)


def test_the_log_speaks_in_words_at_local_times(events, login, client):
    login("demo@example.com")
    html = client.get(AUDIT).get_data(as_text=True)
    assert "Dana Admin signed in" in html
    assert "Morgan Manager linked Cliniko for Bondi Physio" in html
    assert "Problem opened: “Reckon is down”" in html
    assert "user.sign_in</td>" not in html
    # Bondi and the agency in Sydney (AEST in July), Manly's events in Perth (AWST).
    assert "01/07/2026 12:30:00" in html  # 02:30 UTC in Sydney
    assert "AEST · Australia/Sydney" in html
    assert "04/07/2026 04:00:00" in html  # 20:00 UTC on the 3rd, in Perth
    assert "AWST · Australia/Perth" in html


def test_filters_by_person_clinic_action_area_and_local_dates(events, login, client):
    login("demo@example.com")
    everything = _rows(client)
    assert everything.count("problem.open") == 1
    assert len([a for a in everything if a == "user.sign_in"]) == 2  # Dana's and this one's
    assert set(_rows(client, person=events["morgan"].id)) == {
        "connection.link",
        "connection.unlink",
    }
    assert _rows(client, clinic="bondi-physio") == ["connection.link"]
    assert _rows(client, action="connection.unlink") == ["connection.unlink"]
    assert _rows(client, action="connections") == ["connection.unlink", "connection.link"]
    # Dates are the agency's local dates (Sydney): the 4th there holds the Perth problem.
    assert _rows(client, date_from="2026-07-04", date_to="2026-07-04") == ["problem.open"]
    assert _rows(client, date_from="2026-07-02", date_to="2026-07-03") == [
        "connection.unlink",
        "connection.link",
    ]


def test_hostile_filters_are_ignored_or_explained_never_a_500(events, login, client):
    login("demo@example.com")
    for query in (
        {"date_from": "9999-12-31"},
        {"date_to": "not a date"},
        {"person": "99999999999999999999", "clinic": "chatswood-physio", "action": "x%"},
    ):
        response = client.get(AUDIT, query_string=query)
        assert response.status_code == 200
    far = client.get(AUDIT, query_string={"date_from": "9999-12-31"}).get_data(as_text=True)
    assert "Choose a date between" in far
    assert "Dana Admin signed in" in far  # the bad date is not applied


def test_another_agencys_events_never_show(events, login, client):
    login("other@example.com")
    html = client.get("/a/northside/audit/").get_data(as_text=True)
    assert "Morgan Manager" not in html
    assert client.get(AUDIT).status_code == 404


def test_pages(demo, login, client):
    harbour = demo["agencies"]["harbour"]
    db.session.add_all(AuditEvent(action="user.sign_out", agency_id=harbour.id) for _ in range(30))
    db.session.commit()
    login("demo@example.com")
    first = client.get(AUDIT).get_data(as_text=True)
    assert "page 1 of 2" in first
    second = client.get(AUDIT, query_string={"page": 2}).get_data(as_text=True)
    assert len(re.findall(r"<tr data-action=", second)) == 6  # 30, and this sign-in: 31


def test_csv_export_follows_the_filters_and_is_spreadsheet_safe(events, login, client):
    login("demo@example.com")
    response = client.get(f"{AUDIT}export.csv", query_string={"clinic": "manly-allied"})
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["action"] for r in rows] == ["problem.open", "connection.unlink"]
    problem, unlink = rows
    assert problem["local_time"] == "2026-07-04 04:00:00"
    assert problem["time_zone"] == "Australia/Perth"
    assert problem["who"] == "The portal"
    assert problem["what"] == "Problem opened: “Reckon is down”"
    assert unlink["target"].startswith("'=")  # a formula is not run by the spreadsheet
    assert unlink["who_email"] == "manager@example.com"
