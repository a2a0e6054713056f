from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SearchField, SelectChoice, SelectField
from wtforms.validators import NumberRange, Optional

from portal.services.vouchers.browser import STATUSES


class VoucherFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    q = SearchField("Search code, purchaser, patient name or email")
    status = SelectField(
        "Status",
        choices=[SelectChoice("", "Any status")]
        + [SelectChoice(s, s.capitalize()) for s in STATUSES],
        validate_choice=False,
    )
    expiring_days = IntegerField(
        "Expiring within (days)", validators=[Optional(), NumberRange(min=0, max=3650)]
    )
    provisioned = SelectField(
        "In Cliniko",
        choices=[
            SelectChoice("", "Either"),
            SelectChoice("yes", "Provisioned"),
            SelectChoice("no", "Not provisioned"),
        ],
        validate_choice=False,
    )
    unredeemed_use = BooleanField("Used in Cliniko, not redeemed in VaocherApp")
    patient_id = HiddenField()
    sort = SelectField(
        "Sort by",
        choices=[
            SelectChoice("-purchased", "Newest first"),
            SelectChoice("purchased", "Oldest first"),
            SelectChoice("code", "Code"),
            SelectChoice("expiry", "Expiry (soonest)"),
            SelectChoice("-balance", "Balance (largest)"),
            SelectChoice("purchaser", "Purchaser"),
        ],
        validate_choice=False,
    )


class RedeemForm(FlaskForm):
    expected_cents = HiddenField()
