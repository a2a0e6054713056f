from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField
from wtforms.validators import DataRequired, Length


class ClinikoForm(FlaskForm):
    api_key = PasswordField(
        "Cliniko API key",
        validators=[DataRequired(), Length(max=300)],
        render_kw={"autocomplete": "off"},
    )


class VaocherAppForm(FlaskForm):
    api_key = PasswordField(
        "VaocherApp API key",
        validators=[DataRequired(), Length(max=300)],
        render_kw={"autocomplete": "off"},
    )
    test_mode = BooleanField("Use VaocherApp's test data (test mode)")


class BookForm(FlaskForm):
    book_id = RadioField("Reckon book", validators=[DataRequired()], validate_choice=False)
