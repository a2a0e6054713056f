from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Email, Length
from wtforms.widgets import CheckboxInput, ListWidget

from portal.forms.auth import stripped
from portal.models.user import ROLE_LABELS


class ClinicChoices(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class AccessForm(FlaskForm):
    role = SelectField(
        "Role", choices=[SelectChoice(str(r), label) for r, label in ROLE_LABELS.items()]
    )
    clinics = ClinicChoices("Clinics (not needed for agency admins)", coerce=int)


class NewUserForm(AccessForm):
    """An invitation: the person chooses their own password when they accept it."""

    email = EmailField(
        "Email", filters=[stripped], validators=[DataRequired(), Email(), Length(max=254)]
    )
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
