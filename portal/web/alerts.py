"""Each person's alert settings: how each severity (and, if they like, each kind) reaches them,
and the local time of their daily digest."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from portal.forms.alerts import MODES, AlertSettingsForm
from portal.services.problems.alerts import preference_for, save_alert_settings
from portal.services.problems.kinds import ProblemKind

from .htmx import done

bp = Blueprint("alerts", __name__)


@bp.route("/", methods=["GET", "POST"])
@login_required
def settings() -> str | Response:
    pref = preference_for(current_user)
    form = AlertSettingsForm(obj=pref)
    if form.validate_on_submit():
        kinds = {
            k.value: request.form.get(f"kind-{k.value}", "")
            for k in ProblemKind
            if request.form.get(f"kind-{k.value}", "") in {m for m, _ in MODES}
        }
        save_alert_settings(
            current_user,
            timezone=form.timezone.data or "",
            digest_time=form.digest_time.data or "",
            modes=(form.critical_mode.data, form.warning_mode.data, form.info_mode.data),
            kind_modes=kinds,
        )
        return done("Alert settings saved.", url_for("alerts.settings"))
    return render_template(
        "alerts/settings.html", form=form, pref=pref, kinds=list(ProblemKind), modes=MODES
    )
