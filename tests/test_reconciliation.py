"""Reading exports as clinics make them: values, encodings, columns, bad rows, the upload page."""

from __future__ import annotations

import io
import os
import tempfile
from datetime import date
from pathlib import Path

import pytest

# Hypothesis keeps caches in ./.hypothesis by default, which pytest would then try to collect.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "hyp"))
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models.reconciliation import (
    ExportColumnMapping,
    ReconciliationBatch,
    ReconciliationRow,
    RowClass,
)
from portal.services.reconciliation.export_reader import (
    ExportError,
    guess_mapping,
    iter_rows,
    missing_fields,
    sniff_export,
)
from portal.services.reconciliation.plan import USE_ORDER
from portal.services.reconciliation.rows import ReadStats, VoucherIndex, triage
from portal.services.reconciliation.values import BadValue, clean_code, parse_cents, parse_date

HEADER = "Invoice Number,Issue Date,Item,Item Code,Quantity,Total,Invoice Item ID"
ROWS = [
    '1001,27/05/2026,Gift voucher,ab c1 ,1,"-$1,250.00",11',
    "1002,2026-05-28,Massage,MS,1.5,90,12",
]


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("$1,250.00", 125000),
        ("-250.00", -25000),
        ("(250.00)", -25000),
        ("250.00-", -25000),
        ("AUD 12.5", 1250),
        ("\u2212$3.10", -310),
        ("0", 0),
        ("-$50.00", -5000),
        ("$-50.00", -5000),
        ("A$ 1,500.00", 150000),
        ("12.50 NZD", 1250),
        ("(£20)", -2000),
    ],
)
def test_amounts_as_exports_write_them(text, cents):
    assert parse_cents(text) == cents


@pytest.mark.parametrize(
    "text",
    ["", "abc", "1.2.3", "--", "123456789012", "-1O.00", "1O0", "10.0O", "5 bucks", "1,2,3", "1e3"],
)
def test_bad_amounts_say_why(text):
    with pytest.raises(BadValue):
        parse_cents(text)


def test_a_typo_in_an_amount_is_an_invalid_row_not_another_amount(tmp_path):
    bad = _triage("1001,27/05/2026,Gift voucher,ABC1,1,-1O.00,11", tmp_path)
    assert bad["classification"] == RowClass.INVALID
    assert "'-1O.00' is not a number" in bad["reason"]


def test_dates_codes():
    assert parse_date("27/05/2026") == date(2026, 5, 27)
    assert parse_date("2026-05-27T10:00:00Z") == date(2026, 5, 27)
    assert parse_date("27/05/2026 10:15") == date(2026, 5, 27)
    assert parse_date("") is None
    with pytest.raises(BadValue):
        parse_date("05/27/2026")
    assert clean_code(" ab c1 ") == "ABC1"


def _file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "delimiter"),
    [
        ("\n".join([HEADER, *ROWS]).encode("utf-8"), ","),
        (("\ufeff" + "\n".join([HEADER, *ROWS])).encode("utf-8"), ","),
        ("\r\n".join([HEADER, *ROWS]).replace(",", "\t").encode("utf-16"), "\t"),
        (
            "\n".join(
                [HEADER.replace(",", ";"), "1003;01/06/2026;Caf\u00e9 \u00a3;X;1;5;13"]
            ).encode("cp1252"),
            ";",
        ),
    ],
    ids=["utf8", "utf8-bom", "utf16-excel", "cp1252-semicolon"],
)
def test_encodings_and_delimiters(tmp_path, data, delimiter):
    fmt = sniff_export(_file(tmp_path, data))
    assert fmt.delimiter == delimiter
    assert fmt.headers[0] == "Invoice Number"
    mapping = guess_mapping(fmt.headers)
    assert missing_fields(mapping) == []
    rows = list(iter_rows(tmp_path / "export.csv", fmt, mapping))
    assert rows[0].cells["invoice_number"] in ("1001", "1003")


def test_the_encoding_holds_for_the_whole_file_not_its_first_part(tmp_path):
    # Plain ASCII for well over the first 64 KB, then a Windows-1252 accent: not UTF-8.
    filler = [f"{2000 + i},01/06/2026,Massage,MS,1,90,{100 + i}" for i in range(3000)]
    late = "9999;01/06/2026;Ren\u00e9e's voucher;X;1;5;99".replace(";", ",")
    data = "\n".join([HEADER, *filler, late]).encode("cp1252")
    assert data.index(b"\xe9") > 64 * 1024
    fmt = sniff_export(_file(tmp_path, data))
    assert fmt.encoding == "cp1252"
    mapping = guess_mapping(fmt.headers) | {"item_name": 2}
    rows = list(iter_rows(tmp_path / "export.csv", fmt, mapping))
    assert rows[-1].cells["item_name"] == "Ren\u00e9e's voucher"
    assert all("\ufffd" not in cell for row in rows for cell in row.cells.values())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"PK\x03\x04rest", "Excel workbook"),
        (b"%PDF-1.7", "PDF"),
        (b"\xd0\xcf\x11\xe0", "old Excel"),
    ],
)
def test_other_files_get_a_clear_message(tmp_path, data, message):
    with pytest.raises(ExportError, match=message):
        sniff_export(_file(tmp_path, data))


def test_headers_in_any_order_with_aliases_and_remembered_names():
    headers = ["Extra", "LINE TOTAL", "invoice_no", "Voucher code", "Date"]
    mapping = guess_mapping(headers)
    assert mapping == {"amount": 1, "invoice_number": 2, "code": 3, "issue_date": 4}
    odd = ["Ref", "Thing", "Money"]
    assert missing_fields(guess_mapping(odd)) == ["invoice_number", "code", "amount"]
    remembered = {"invoice_number": "Ref", "code": "Thing", "amount": "Money"}
    assert missing_fields(guess_mapping(odd, remembered)) == []


class _Batch:
    id, clinic_id = 1, 1


def _triage(line: str, tmp_path: Path, codes: dict[str, int] | None = None):
    path = _file(tmp_path, f"{HEADER}\n{line}\n".encode())
    fmt = sniff_export(path)
    raw = next(iter_rows(path, fmt, guess_mapping(fmt.headers)))
    index = VoucherIndex(codes if codes is not None else {"ABC1": 7}, {})
    return triage(_Batch(), raw, index, ReadStats())  # type: ignore[arg-type]


def test_blank_lines_are_skipped_and_short_rows_kept_with_empty_cells(tmp_path):
    lines = [
        "1001,27/05/2026,Gift voucher,ABC1,1,-50,11",
        ",,,,,,",  # blank: every cell empty
        "   ,  ,,,,,",  # blank: only spaces
        ",27/05/2026,Gift voucher,ABC1,1,-50,12",  # no invoice number: still a row
        "1003,27/05/2026,Gift voucher",  # short: the rest are empty
    ]
    path = _file(tmp_path, (HEADER + "\n" + "\n".join(lines) + "\n").encode())
    fmt = sniff_export(path)
    rows = list(iter_rows(path, fmt, guess_mapping(fmt.headers)))
    assert [r.number for r in rows] == [2, 5, 6]
    assert rows[1].cells["invoice_number"] == ""
    assert rows[1].cells["invoice_item_id"] == "12"
    assert not rows[1].short
    assert rows[2].short
    assert rows[2].cells["item_name"] == "Gift voucher"
    assert rows[2].cells["code"] == rows[2].cells["amount"] == ""


def test_rows_are_triaged_with_their_row_number_and_reason(tmp_path):
    voucher = _triage(ROWS[0], tmp_path)
    assert (voucher["voucher_id"], voucher["amount_cents"], voucher["ref"]) == (
        7,
        125000,
        "item:11",
    )
    assert _triage(ROWS[1], tmp_path) is None  # not a voucher row: counted only
    bad = _triage("1001,27/05/2026,Gift voucher,ABC1,1,lots,11", tmp_path)
    assert bad["classification"] == RowClass.INVALID
    assert bad["row_number"] == 2
    assert "not a number" in bad["reason"]
    positive = _triage("1001,27/05/2026,Gift voucher,ABC1,1,50,11", tmp_path)
    assert positive["classification"] == RowClass.AMBIGUOUS
    unknown = _triage("1001,27/05/2026,Gift,ZZZ9,1,-50,11", tmp_path)
    assert unknown["voucher_id"] is None
    assert unknown["classification"] == RowClass.PENDING  # VaocherApp is asked in the plan


@settings(
    max_examples=150,
    deadline=None,
    database=None,  # no .hypothesis directory in the repository
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    data=st.one_of(
        st.binary(max_size=600),
        st.text(max_size=400).map(lambda t: (HEADER + "\n" + t).encode("utf-8", "surrogatepass")),
        st.lists(st.lists(st.text(max_size=12), max_size=8), max_size=6).map(
            lambda rows: (HEADER + "\n" + "\n".join(",".join(r) for r in rows)).encode()
        ),
    )
)
def test_any_bytes_give_rows_or_a_clear_error(tmp_path, data):
    path = _file(tmp_path, data)
    try:
        fmt = sniff_export(path)
    except ExportError as error:
        message = str(error)
        assert message, "an export error must say what to do"
        return
    mapping = guess_mapping(fmt.headers)
    if missing_fields(mapping):
        return  # the person maps the columns
    index, stats = VoucherIndex({"ABC1": 1}, {}), ReadStats()
    for raw in iter_rows(path, fmt, mapping):
        row = triage(_Batch(), raw, index, stats)  # type: ignore[arg-type]
        assert row is None or row["classification"] in set(RowClass)


# ---- the upload page ---------------------------------------------------------------------------
REC = "/c/bondi-physio/reconciliation"


@pytest.fixture
def manager(app, demo, login, tmp_path):
    app.config["RECONCILIATION_UPLOAD_DIR"] = str(tmp_path / "uploads")
    return login("manager@example.com")


def _upload(post, data: bytes, name: str = "export.csv"):
    return post(
        f"{REC}/upload", {"export": (io.BytesIO(data), name)}, content_type="multipart/form-data"
    )


def test_upload_refuses_other_files_with_a_message(manager, post):
    response = _upload(post, b"PK\x03\x04....", "export.xlsx")
    assert response.status_code == 400
    assert "Excel workbook" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(ReconciliationBatch)) is None


def test_upload_too_large_is_refused(manager, post, app):
    app.config["RECONCILIATION_MAX_UPLOAD_BYTES"] = 100
    response = _upload(post, b"Invoice Number,Item Code,Total\n" + b"1,A,2\n" * 50)
    app.config["RECONCILIATION_MAX_UPLOAD_BYTES"] = 200 * 1024 * 1024
    assert response.status_code == 400
    assert "larger than" in response.get_data(as_text=True)


def test_unrecognised_columns_are_mapped_once_and_remembered(manager, post, client):
    data = b"Ref,Thing,Money\n1,ABC,-5\n"
    response = _upload(post, data)
    batch = db.session.scalar(db.select(ReconciliationBatch))
    assert response.headers["Location"].endswith(f"/{batch.id}/columns")
    page = client.get(f"{REC}/{batch.id}/columns").get_data(as_text=True)
    assert "Which column is which?" in page
    chosen = {"invoice_number": "0", "code": "1", "amount": "2"}
    assert post(f"{REC}/{batch.id}/columns", chosen).status_code == 303
    saved = db.session.scalar(db.select(ExportColumnMapping))
    assert saved.columns == {"invoice_number": "Ref", "code": "Thing", "amount": "Money"}
    _upload(post, data)
    latest = db.session.scalars(
        db.select(ReconciliationBatch).order_by(ReconciliationBatch.id.desc())
    ).first()
    assert latest.status == "planning"  # no mapping step the second time


def test_viewer_cannot_upload(app, demo, login, post):
    login("viewer@example.com")
    assert _upload(post, b"a,b\n1,2\n").status_code == 403


# ---- the order of use ----------------------------------------------------------------------------
def test_rows_without_a_date_are_used_first_on_every_database(demo):
    """SQLite sorts NULL first and PostgreSQL last: the order of use says which, so one voucher's
    rows are redeemed in the same order (and the same rows redeemed) on both."""
    clinic = demo["clinics"]["bondi-physio"]
    batch = ReconciliationBatch(clinic_id=clinic.id)
    db.session.add(batch)
    db.session.flush()
    for number, invoice, day in [
        (2, "1002", date(2026, 5, 2)),
        (3, "1003", None),
        (4, "1001", date(2026, 5, 2)),
        (5, "1000", date(2026, 5, 1)),
    ]:
        db.session.add(
            ReconciliationRow(
                clinic_id=clinic.id,
                batch_id=batch.id,
                row_number=number,
                invoice_number=invoice,
                issue_date=day,
                code="ORDER1",
            )
        )
    db.session.flush()
    stmt = (
        db.select(ReconciliationRow.row_number)
        .where(ReconciliationRow.batch_id == batch.id)
        .order_by(*USE_ORDER, ReconciliationRow.row_number)
    )
    assert db.session.scalars(stmt).all() == [3, 5, 4, 2]
