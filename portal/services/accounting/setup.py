"""Accounting settings per clinic, validated against the Reckon book, and opening a sync run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from portal.clients.cliniko import ClinikoClient
from portal.clients.errors import UpstreamError
from portal.clients.reckon import ReckonClient
from portal.extensions import db
from portal.models import AccountingSettings, Clinic, Connection, CustomerScope, Provider, User
from portal.models.types import utcnow
from portal.services import DomainError, UpstreamFailed
from portal.services.accounting.push import TRANSIENT, Breaker, ReckonDown
from portal.services.accounting.source import tax_rates
from portal.services.accounting.sync import SyncEnv
from portal.services.audit import record_event
from portal.services.connections.cliniko import cliniko_client
from portal.services.connections.reckon import reckon_client
from portal.services.connections.records import (
    connection_or_none,
    linked_connection,
    record_check_in_own_transaction,
)
from portal.tenancy import owned

TAX_FIELDS = ("tax_service", "tax_product", "tax_voucher")
ACCOUNT_FIELDS = (
    *("account_service", "account_product", "account_voucher", "clearing_account"),
    *("voucher_clearing_account", "bad_debt_account", "breakage_account"),
)
NAMING = {"patient_id": "Add the Cliniko patient id", "date_of_birth": "Add the date of birth"}
SCOPES = {
    CustomerScope.INVOICED: "Patients with invoices",
    CustomerScope.ALL: "Every patient",
}


@dataclass(frozen=True)
class BookOptions:
    """What the book offers: sales tax codes, ledger accounts, payment methods (names)."""

    book_id: str
    tax_codes: list[str]
    accounts: list[str]
    methods: list[str]
    terms: list[str] = field(default_factory=list)


def settings_for(clinic: Clinic) -> AccountingSettings:
    """The clinic's settings row, made with the documented defaults on first use."""
    row = db.session.scalar(owned(AccountingSettings, clinic))
    if row is None:
        row = AccountingSettings(clinic_id=clinic.id, tax_overrides={})
        db.session.add(row)
        db.session.flush()
    return row


def settings_to_show(clinic: Clinic) -> AccountingSettings:
    """The clinic's settings row, or (not stored, so reading a page writes nothing) the
    documented defaults it would be made with."""
    row = db.session.scalar(owned(AccountingSettings, clinic))
    if row is not None:
        return row
    defaults = {
        column.key: column.default.arg
        for column in AccountingSettings.__table__.columns
        if column.default is not None and column.default.is_scalar
    }
    return AccountingSettings(**defaults, clinic_id=clinic.id, tax_overrides={})


def linked_pair(clinic: Clinic) -> tuple[Connection, Connection]:
    """Both connections, or a message saying which to link first."""
    cliniko = linked_connection(clinic, Provider.CLINIKO)
    reckon = connection_or_none(clinic, Provider.RECKON)
    if not (reckon and reckon.sealed_secrets and reckon.detail("book_id")):
        raise DomainError("Link Reckon One and choose its book on the Connections page first.")
    return cliniko, reckon


def book_options(clinic: Clinic) -> BookOptions:
    """Fetch the book's tax codes, accounts and payment methods from Reckon."""
    _, conn = linked_pair(clinic)
    book_id, client = conn.detail("book_id"), reckon_client(conn)
    try:
        codes = sorted(tax_rates(client, book_id, utcnow().date()))
        accounts = sorted(a.name for a in client.list_ledger_accounts(book_id))
        methods = sorted(p.name for p in client.list_payment_methods(book_id))
        terms = [t.name for t in client.list_terms(book_id)]
    except UpstreamError as exc:
        record_check_in_own_transaction(conn, exc)
        raise UpstreamFailed(f"Could not read the Reckon book: {exc}") from exc
    finally:
        client.close()
    return BookOptions(book_id, codes, accounts, methods, terms)


def parse_overrides(text: str) -> dict[str, str]:
    """`bi-123 = GST` lines → {"bi-123": "GST"} (Cliniko item key → tax code)."""
    out: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        key, sep, code = line.partition("=")
        if not sep or not key.strip() or not code.strip():
            raise DomainError(f"Override line {number}: write it as 'bi-123 = GST'.")
        out[key.strip()] = code.strip()
    return out


def save_settings(
    clinic: Clinic, actor: User, values: dict[str, Any], options: BookOptions
) -> AccountingSettings:
    """Validate against the book (codes and accounts must exist), store, audit. A setting not
    given keeps its stored (or default) value."""
    row = settings_for(clinic)
    values = {**{f: getattr(row, f) for f in (*ACCOUNT_FIELDS, *TAX_FIELDS)}, **values}
    problems = [
        f"Tax code {values[f]} is not a sales tax code in the book."
        for f in TAX_FIELDS
        if values[f] not in options.tax_codes
    ]
    problems += [
        f"Tax code {code} (for {key}) is not a sales tax code in the book."
        for key, code in values["tax_overrides"].items()
        if code not in options.tax_codes
    ]
    problems += [
        f"Account {values[f]} is not in the book."
        for f in ACCOUNT_FIELDS
        if values[f] not in options.accounts
    ]
    if values["payment_method"] not in options.methods:
        problems.append(f"Payment method {values['payment_method']} is not in the book.")
    if values.get("payment_terms") and values["payment_terms"] not in options.terms:
        problems.append(f"Payment terms {values['payment_terms']} are not in the book.")
    if values.get("customer_scope", CustomerScope.INVOICED) not in SCOPES:
        problems.append("Choose which patients become customers.")
    if problems:
        raise DomainError(" ".join(problems))
    for name, value in values.items():
        setattr(row, name, value)
    row.book_id = options.book_id
    db.session.flush()
    record_event("accounting.settings", actor, clinic=clinic, target=options.book_id)
    return row


def set_clinic_timezone(clinic: Clinic, actor: User | None, zone: str) -> None:
    """The clinic's time zone (read from Cliniko when linking, editable): every accounting date
    (payments, credit notes, voucher sales, schedules) is a local date in it."""
    zone = zone.strip()
    if not valid_zone(zone):
        raise DomainError(f"{zone or 'That'} is not a time zone (use a name like Australia/Perth).")
    if clinic.timezone != zone:
        clinic.timezone = zone
        db.session.flush()
        record_event("clinic.timezone", actor, clinic=clinic, target=zone)


def first_sync_approved(settings: AccountingSettings) -> bool:
    """Whether anything may be written to Reckon for the clinic (a preview was approved)."""
    return settings.approved_preview_id is not None


def open_sync(
    clinic: Clinic,
    checkpoint: Callable[[], None],
    dry: bool = False,
    writes: bool = True,
    lazy: bool = False,
) -> tuple[SyncEnv, ClinikoClient]:
    """Clients and settings for a run; refuses if the book changed since settings were saved,
    and refuses a run that writes before the clinic's first preview is approved.

    Reckon's tax rates are read now (so an unreachable Reckon is known before any record), or,
    `lazy`, when a record first needs them: a frequent run with nothing to send never asks."""
    cliniko_conn, reckon_conn = linked_pair(clinic)
    settings = settings_for(clinic)
    book_id = reckon_conn.detail("book_id")
    if settings.book_id != book_id:
        raise DomainError("Save the accounting settings for this Reckon book before syncing.")
    if writes and not dry and not first_sync_approved(settings):
        raise DomainError(
            "Nothing is written to Reckon before a preview is approved: run Preview, review "
            "it and approve it first."
        )
    reckon = reckon_client(reckon_conn)
    rates = LazyRates(lambda: _rates(reckon, book_id))
    if not lazy:
        try:
            rates.load()
        except (ReckonDown, UpstreamError):
            reckon.close()
            raise
    env = SyncEnv(clinic, settings, reckon, book_id, rates, checkpoint, Breaker(), dry=dry)
    cliniko = cliniko_client(cliniko_conn)
    try:
        env.business_zones = business_zones(cliniko)
    except UpstreamError:
        reckon.close()
        cliniko.close()
        raise
    return env, cliniko


def _rates(reckon: ReckonClient, book_id: str) -> dict[str, Decimal]:
    try:
        return tax_rates(reckon, book_id, utcnow().date())
    except TRANSIENT as exc:
        raise ReckonDown(str(exc)) from exc  # worth retrying later, like a record kept pending


class LazyRates(dict[str, Decimal]):
    """Reckon's sales tax rates by code, read from Reckon the first time they are needed."""

    def __init__(self, read: Callable[[], dict[str, Decimal]]) -> None:
        super().__init__()
        self._read: Callable[[], dict[str, Decimal]] | None = read

    def load(self) -> None:
        if self._read is not None:
            self.update(self._read())
            self._read = None

    def __getitem__(self, code: str) -> Decimal:
        self.load()
        return super().__getitem__(code)

    def __contains__(self, code: object) -> bool:
        self.load()
        return super().__contains__(code)

    def __iter__(self) -> Iterator[str]:
        self.load()
        return super().__iter__()

    def __len__(self) -> int:
        self.load()
        return super().__len__()

    def get(self, code: str, default: Any = None) -> Any:
        self.load()
        return super().get(code, default)

    def items(self) -> Any:
        self.load()
        return super().items()


def business_zones(cliniko: ClinikoClient) -> dict[str, str]:
    """Each Cliniko business's IANA time zone (an account's businesses may be in several)."""
    out = {}
    for row in cliniko.iter_records("businesses", []):
        zone = str(row.get("time_zone_identifier") or "")
        if valid_zone(zone):
            out[str(row["id"])] = zone
    return out


def valid_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError):
        return False
    return bool(name)
