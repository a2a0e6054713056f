"""Forms of the accounting area: mapping settings, schedules, starting syncs and reports."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, NumberRange, Optional, Regexp

from portal.forms.dates import SaneDate
from portal.services.accounting.schedule import (
    CONTINUOUS,
    KINDS,
    MAX_MINUTES,
    MIN_MINUTES,
    SYNC,
    WEEKDAYS,
)
from portal.services.accounting.setup import NAMING, SCOPES


class SettingsForm(FlaskForm):
    """Choices are filled from the Reckon book, so only codes and accounts it has can be picked."""

    tax_service = SelectField("Tax code for services", validators=[DataRequired()])
    tax_product = SelectField("Tax code for products", validators=[DataRequired()])
    tax_voucher = SelectField("Tax code for voucher items", validators=[DataRequired()])
    tax_overrides = TextAreaField(
        "Tax code per item (one per line, e.g. bi-123 = GST; bi- billable item, pr- product)"
    )
    account_service = SelectField("Income account for services", validators=[DataRequired()])
    account_product = SelectField("Income account for products", validators=[DataRequired()])
    account_voucher = SelectField("Account for voucher items", validators=[DataRequired()])
    clearing_account = SelectField("Clearing account for payments", validators=[DataRequired()])
    voucher_clearing_account = SelectField(
        "Clearing account for VaocherApp voucher sales", validators=[DataRequired()]
    )
    bad_debt_account = SelectField("Bad-debt account for write-offs", validators=[DataRequired()])
    breakage_account = SelectField(
        "Income account for expired vouchers (breakage)", validators=[DataRequired()]
    )
    payment_terms = SelectField("Payment terms on invoices", validate_choice=False)
    customer_scope = SelectField(
        "Which patients become Reckon customers",
        choices=[SelectChoice(k, v) for k, v in SCOPES.items()],
        validators=[DataRequired()],
    )
    payment_method = SelectField("Payment method for payments", validators=[DataRequired()])
    customer_naming = SelectField(
        "When two patients share a name",
        choices=[SelectChoice(k, v) for k, v in NAMING.items()],
        validators=[DataRequired()],
    )
    sync_from = DateField("Sync invoices issued from", validators=[Optional(), SaneDate()])
    sync_items = BooleanField("Items (products and billable items)")
    sync_customers = BooleanField("Customers (patients with invoices)")
    sync_invoices = BooleanField("Invoices")
    sync_payments = BooleanField("Payments (incl. paid from account credit)")
    sync_vouchers = BooleanField("Voucher sales (VaocherApp → voucher liability)")
    breakage = BooleanField("Recognise breakage: move an expired voucher's balance to income")


class ScheduleForm(FlaskForm):
    kind = HiddenField(validators=[DataRequired()])
    frequency = SelectField(
        "How often",
        choices=[
            SelectChoice("daily", "Daily"),
            SelectChoice("weekly", "Weekly"),
            SelectChoice(CONTINUOUS, "Keep in sync (every N minutes)"),
        ],
    )
    every_minutes = IntegerField(
        "N (minutes)",
        default=5,
        validators=[Optional(), NumberRange(MIN_MINUTES, MAX_MINUTES)],
    )
    weekday = SelectField(
        "Day (weekly)", choices=[SelectChoice(i, d) for i, d in enumerate(WEEKDAYS)], coerce=int
    )
    local_time = StringField(
        "Local time (HH:MM)",
        default="02:00",
        validators=[DataRequired(), Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", message="Use HH:MM.")],
    )
    enabled = BooleanField("On", default=True)

    def kind_title(self) -> str:
        return KINDS.get(self.kind.data or "", "")

    def can_keep_in_sync(self) -> bool:
        return self.kind.data == SYNC


class SyncForm(FlaskForm):
    full = BooleanField("Full sync (re-read everything, not just changes)")


class TimeZoneForm(FlaskForm):
    timezone = StringField(
        "Clinic time zone (IANA name, e.g. Australia/Perth)", validators=[DataRequired()]
    )


class ReportForm(FlaskForm):
    start = DateField("From", validators=[DataRequired(), SaneDate()])
    end = DateField("To", validators=[DataRequired(), SaneDate()])
