"""A person's alert settings."""

from __future__ import annotations

from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import AnyOf, InputRequired, Regexp

MODES = [("immediate", "Immediately"), ("digest", "In the daily digest"), ("off", "Off")]
CHOICES = [SelectChoice(value, label) for value, label in MODES]


class AlertSettingsForm(FlaskForm):
    timezone = StringField(
        "Your time zone",
        validators=[InputRequired(), AnyOf(sorted(available_timezones()), "Choose a time zone.")],
    )
    digest_time = StringField(
        "Daily digest at (your local time)",
        validators=[InputRequired(), Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", message="Use HH:MM.")],
    )
    critical_mode = SelectField("Critical problems", choices=CHOICES)
    warning_mode = SelectField("Warnings", choices=CHOICES)
    info_mode = SelectField("For information", choices=CHOICES)
