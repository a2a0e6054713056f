"""CSV downloads over real HTTP: the body streams after the view returns, so the rows must still
be readable then (the test client keeps the test's own app context open and cannot show this)."""

from __future__ import annotations

import re
from datetime import date

import requests

from portal.extensions import db
from portal.models import JobItem, JobRun, JobStatus, Voucher
from portal.models.accounting import MismatchLine, MismatchReport


def _signed_in(live_server: str, email: str) -> requests.Session:
    session = requests.Session()
    form = session.get(f"{live_server}/login", timeout=10).text
    match = re.search(r'"X-CSRFToken": "([^"]+)"', form)
    assert match is not None
    answer = session.post(
        f"{live_server}/login",
        data={"csrf_token": match.group(1), "email": email, "password": "demo"},
        timeout=10,
    )
    assert answer.ok
    return session


def test_streamed_csv_downloads_read_their_rows(live_server, demo):
    clinic = demo["clinics"]["bondi-physio"]
    voucher = Voucher(clinic_id=clinic.id, code="=STREAM1", value_cents=500, balance_cents=500)
    voucher.refresh_search_text()
    run = JobRun(clinic_id=clinic.id, kind="demo", status=JobStatus.SUCCEEDED, params={})
    period = date(2030, 1, 1)
    report = MismatchReport(clinic_id=clinic.id, period_start=period, period_end=period)
    db.session.add_all([voucher, run, report])
    db.session.flush()
    db.session.add(JobItem(run_id=run.id, ref="item-1", label="First", outcome="ok"))
    line = MismatchLine(clinic_id=clinic.id, report_id=report.id, kind="amount", reference="I-9")
    db.session.add(line)
    db.session.commit()

    session = _signed_in(live_server, "manager@example.com")
    base = f"{live_server}/c/bondi-physio"
    downloads = {
        f"{base}/vouchers/export.csv": "'=STREAM1",
        f"{base}/jobs/{run.id}/items.csv": "item-1,First,ok",
        f"{base}/accounting/reports/{report.id}.csv": "amount,I-9",
    }
    for url, expected in downloads.items():
        answer = session.get(url, timeout=10)
        assert answer.status_code == 200, url
        assert answer.headers["Content-Type"].startswith("text/csv")
        assert expected in answer.text, url
