from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectChoice, SelectField
from wtforms.validators import NumberRange, Optional

from portal.forms.dates import SaneDate


class ConfirmForm(FlaskForm):
    """An empty form whose only job is carrying the CSRF token of a button."""


class DemoJobForm(FlaskForm):
    items = IntegerField("Number of items", default=40, validators=[NumberRange(min=1, max=2000)])


class RunFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    status = SelectField("Status", choices=[SelectChoice("", "Any status")], validate_choice=False)
    kind = SelectField("Kind", choices=[SelectChoice("", "Any kind")], validate_choice=False)
    date_from = DateField("From", validators=[Optional(), SaneDate()])
    date_to = DateField("To", validators=[Optional(), SaneDate()])
