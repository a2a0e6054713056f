from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Email, Length
from wtforms.widgets import CheckboxInput, ListWidget

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
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    password = PasswordField(
        "Initial password (share it privately; existing accounts keep theirs)",
        validators=[DataRequired(), Length(max=1024)],  # the rules: services/passwords.py
    )
