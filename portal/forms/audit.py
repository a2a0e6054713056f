"""Filters of the audit log (a GET form: no CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import Optional

from portal.forms.dates import SaneDate


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    person = SelectField("Person", choices=[], validate_choice=False)
    clinic = SelectField("Clinic", choices=[], validate_choice=False)
    action = SelectField("What", choices=[], validate_choice=False)
    date_from = DateField("From", validators=[Optional(), SaneDate()])
    date_to = DateField("To", validators=[Optional(), SaneDate()])
