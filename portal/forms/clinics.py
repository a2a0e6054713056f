"""An agency admin adds a clinic."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

# Format, uniqueness and the zone are checked by services/onboarding/agencies.py.


class NewClinicForm(FlaskForm):
    name = StringField("Clinic name", validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        "Address in the portal: /c/…/ (lower-case letters, digits, hyphens)",
        validators=[DataRequired(), Length(max=80)],
    )
    timezone = StringField(
        "Time zone (the clinic's books are dated in it)",
        default="Australia/Sydney",
        validators=[DataRequired(), Length(max=64)],
    )
