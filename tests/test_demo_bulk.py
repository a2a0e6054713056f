"""`flask seed-vouchers` (and `DEMO_VOUCHERS` for ./run.sh): many load-test vouchers in a demo
clinic that the portal's pages, search, figures and problems all see."""

from __future__ import annotations

from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Voucher
from portal.models.problem import Problem
from portal.services.vouchers.figures import voucher_figures


def _bulk_count(clinic_id: int) -> int:
    stmt = select(func.count(Voucher.id)).where(
        Voucher.clinic_id == clinic_id, Voucher.code.startswith("GV-")
    )
    return db.session.scalar(stmt) or 0


def test_seed_vouchers_adds_what_is_missing_once(app, demo):
    bondi = demo["clinics"]["bondi-physio"]
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-vouchers", "--count", "120"])
    assert first.exit_code == 0, first.output
    assert "120 voucher(s) added, 120 load-test vouchers in all" in first.output
    assert _bulk_count(bondi.id) == 120
    again = runner.invoke(args=["seed-vouchers", "--count", "150"])
    assert "30 voucher(s) added, 150 load-test vouchers in all" in again.output
    assert runner.invoke(args=["seed-vouchers", "--count", "150"]).output.startswith(
        "Bondi Physio: 0 voucher(s) added"
    )
    assert _bulk_count(bondi.id) == 150
    others = {c.id for slug, c in demo["clinics"].items() if slug != "bondi-physio"}
    assert not any(_bulk_count(c) for c in others)


def test_seeded_vouchers_are_searchable_counted_and_reported(app, demo, login, client):
    bondi = demo["clinics"]["bondi-physio"]
    before = voucher_figures(bondi)  # cached now: the command must make it stale
    result = app.test_cli_runner().invoke(args=["seed-vouchers", "--count", "90"])
    assert result.exit_code == 0, result.output
    added = db.session.scalars(
        select(Voucher).where(Voucher.clinic_id == bondi.id, Voucher.code.startswith("GV-"))
    ).all()
    owed = sum(v.balance_cents for v in added if not v.test_mode)
    assert owed > 0
    after = voucher_figures(bondi)
    assert after != before
    assert after["liability_cents"] == before["liability_cents"] + owed
    login("manager@example.com")
    page = client.get("/c/bondi-physio/vouchers/?q=buyer+42").get_data(as_text=True)
    assert "GV-000042" in page
    assert "GV-000043" not in page
    kind = Problem.kind == "voucher_not_provisioned"  # a third are not in Cliniko yet
    unprovisioned = db.session.scalar(select(Problem).where(Problem.clinic_id == bondi.id, kind))
    assert unprovisioned is not None
    assert unprovisioned.resolved_at is None


def test_seed_vouchers_is_refused_outside_demo_mode(app, demo, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_MODE", False)
    result = app.test_cli_runner().invoke(args=["seed-vouchers", "--count", "5"])
    assert result.exit_code != 0
    assert "only in demo mode" in result.output
    assert _bulk_count(demo["clinics"]["bondi-physio"].id) == 0


def test_seed_vouchers_names_a_missing_clinic(app, demo):
    result = app.test_cli_runner().invoke(args=["seed-vouchers", "--clinic", "nowhere"])
    assert result.exit_code != 0
    assert "No clinic 'nowhere'" in result.output
