"""Asking before a destructive or irreversible action, with or without JavaScript.

One pattern, in two halves:

- the template macro `confirm_button` (templates/macros/confirm.html) draws the action's button.
  With JavaScript, htmx asks in a dialog (`hx-confirm`, drawn by static/js/app.js) and posts
  `confirmed=1` only after "Yes"; refusing sends nothing. Without JavaScript the button opens the
  action's URL with GET, which answers with a confirmation page whose form posts `confirmed=1`.
- the view builds one `Confirmation` (what exactly will happen), gives it to the page that draws
  the button, and starts with `if not confirmed(): return ask(confirmation, back)`.

A POST without `confirmed=1` (an old form, a script) only shows the question: nothing happens
until someone says yes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask import render_template, request
from flask_wtf import FlaskForm

from portal.forms.jobs import ConfirmForm


@dataclass(frozen=True)
class Confirmation:
    title: str  # the question: "Unlink Cliniko?"
    body: str  # exactly what will happen, in a sentence or two
    yes: str  # the button that does it: "Yes, unlink Cliniko"
    no: str = "No, go back"
    danger: bool = True  # destructive (red) rather than merely irreversible
    details: tuple[str, ...] = field(default_factory=tuple)  # a short list under the body

    @property
    def question(self) -> str:
        """The whole question as one text (the dialog's fallback, window.confirm)."""
        return " ".join((self.title, self.body, *self.details))


def confirmed(form: FlaskForm | None = None) -> bool:
    """Whether this request is the "yes": a POST with `confirmed=1` and a valid form (CSRF)."""
    if request.method != "POST" or request.form.get("confirmed") != "1":
        return False
    return (form or ConfirmForm()).validate_on_submit()


def ask(
    confirmation: Confirmation,
    back: str,
    fields: Mapping[str, object] | None = None,
    status: int = 200,
    form: FlaskForm | None = None,
) -> tuple[str, int]:
    """The confirmation page: the question, what happens, "yes" (posting here) and "no" (back)."""
    page = render_template(
        "confirm.html",
        confirmation=confirmation,
        action=request.path,
        back=back,
        fields=dict(fields or {}),
        form=form or ConfirmForm(),
    )
    return page, status


def confirm_button_values(fields: Mapping[str, object] | None = None) -> str:
    """The JSON htmx posts with the "yes" (hx-vals): confirmed=1 and the button's own fields."""
    return json.dumps({"confirmed": "1", **{k: str(v) for k, v in (fields or {}).items()}})
