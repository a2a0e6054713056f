from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

# The rules themselves (length, guessability) are services/passwords.py's; forms only bound input.
NEW_PASSWORD = [DataRequired(), Length(max=1024)]
SAME = EqualTo("password", message="The two passwords differ.")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


class CodeForm(FlaskForm):
    code = StringField("6-digit code", validators=[DataRequired(), Length(max=20)])


def stripped(value: str | None) -> str | None:
    """Pasted emails often carry a space at either end."""
    return value.strip() if value else value


class ForgotPasswordForm(FlaskForm):
    email = EmailField(
        "Email", filters=[stripped], validators=[DataRequired(), Email(), Length(max=254)]
    )


class NewPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=NEW_PASSWORD)
    confirm = PasswordField("New password again", validators=[DataRequired(), SAME])


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])


class AcceptInvitationForm(NewPasswordForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=200)])
    password = PasswordField("Choose a password", validators=NEW_PASSWORD)
    confirm = PasswordField("The password again", validators=[DataRequired(), SAME])
