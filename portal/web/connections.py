"""A clinic's connections: link Cliniko, VaocherApp and Reckon One, check them, unlink them."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from portal.demo.links import sandbox_keys
from portal.forms.connections import BookForm, ClinikoForm, VaocherAppForm
from portal.forms.jobs import ConfirmForm
from portal.models import Connection, ConnectionStatus, Provider
from portal.services import DomainError
from portal.services.connections.cliniko import link_cliniko
from portal.services.connections.providers import check_connection
from portal.services.connections.reckon import begin_authorization, choose_book, reachable_books
from portal.services.connections.records import clinic_connections, connection_or_none, unlink
from portal.services.connections.vaocherapp import (
    link_vaocherapp,
    rotate_webhook_secret,
    webhook_path,
    webhook_secret_hint,
)
from portal.tenancy import Capability, current_clinic, require, scope_to_clinic

from .confirm import Confirmation, ask, confirmed
from .htmx import done
from .runs import start_or_show
from .transaction import failed, failed_page, form_again

bp = scope_to_clinic(Blueprint("connections", __name__))

OAUTH_SESSION_KEY = "reckon_oauth"
# A webhook secret made by linking, kept in the session until the next page shows it once.
NEW_SECRET_KEY = "new_webhook_secret"  # noqa: S105 — the session key's name, not a secret


def _provider(name: str) -> Provider:
    try:
        return Provider(name)
    except ValueError:
        abort(404)


def _page(status: int = 200, **extra: object) -> tuple[str, int]:
    clinic = current_clinic()
    connections = clinic_connections(clinic)
    vaocher = connections[Provider.VAOCHERAPP]
    context = {
        "connections": connections,
        "providers": list(Provider),
        "cliniko_form": ClinikoForm(),
        "vaocherapp_form": VaocherAppForm(),
        "confirm_form": ConfirmForm(),
        "webhook_url": _webhook_url(vaocher) if vaocher and vaocher.webhook_token else "",
        "webhook_hint": webhook_secret_hint(vaocher) if vaocher else "",
        "patient_button_url": _public_url(url_for("patient_button.patient")),
        "rotate": ROTATE,
        "unlink_confirmations": {p.value: unlink_confirmation(p) for p in Provider},
        "sandbox_keys": sandbox_keys(clinic) if current_app.config["DEMO_MODE"] else None,
        **extra,
    }
    return render_template("connections/index.html", **context), status


def _public_url(path: str) -> str:
    base = current_app.config["PUBLIC_BASE_URL"] or request.host_url
    return base.rstrip("/") + path


def _webhook_url(conn: Connection) -> str:
    return _public_url(webhook_path(conn))


@bp.get("/")
def index() -> tuple[str, int]:
    require(Capability.VIEW)
    made = session.pop(NEW_SECRET_KEY, None)
    if isinstance(made, dict) and made.get("clinic") == current_clinic().slug:
        return _page(new_webhook_secret=made.get("secret", ""))
    return _page()


@bp.post("/cliniko")
def link_cliniko_view() -> Response | tuple[str, int]:
    require(Capability.MANAGE_CONNECTIONS)
    form = ClinikoForm()
    if not form.validate_on_submit():
        return _page(400, cliniko_error="Paste the Cliniko API key.")
    try:
        conn = link_cliniko(current_clinic(), current_user, form.api_key.data or "")
    except DomainError as error:  # nothing is saved: the page says why next to the form
        message = str(error)
        return failed_page(lambda: _page(400, cliniko_error=message))
    return _linked(conn, f"Cliniko linked: {conn.detail('account_name', '')}")


@bp.post("/vaocherapp")
def link_vaocherapp_view() -> Response | tuple[str, int]:
    require(Capability.MANAGE_CONNECTIONS)
    form = VaocherAppForm()
    if not form.validate_on_submit():
        return _page(400, vaocherapp_error="Paste the VaocherApp API key.")
    try:
        linked = link_vaocherapp(
            current_clinic(), current_user, form.api_key.data or "", bool(form.test_mode.data)
        )
    except DomainError as error:
        message = str(error)
        return failed_page(lambda: _page(400, vaocherapp_error=message))
    conn = linked.conn
    if linked.new_webhook_secret:
        # Shown once, on the page this redirects to (the session lives server-side in Redis).
        session[NEW_SECRET_KEY] = {
            "clinic": current_clinic().slug,
            "secret": linked.new_webhook_secret,
        }
    return _linked(conn, f"VaocherApp linked: {conn.detail('account_name', '')}")


def _linked(conn: Connection, success: str) -> Response:
    back = url_for("connections.index")
    if conn.status == ConnectionStatus.OK:
        return done(success, back)
    return done(f"Saved, but the check failed: {conn.last_error}", back, "warning")


ROTATE = Confirmation(
    title="Make a new webhook secret?",
    body="The current secret stops working at once: VaocherApp's webhook deliveries are refused "
    "until you paste the new secret into VaocherApp (Settings → Integrations → Webhooks). The new "
    "secret is shown once, on the next page.",
    yes="Yes, make a new secret",
)


def unlink_confirmation(provider: Provider) -> Confirmation:
    label = provider.label
    return Confirmation(
        title=f"Unlink {label}?",
        body=f"The portal forgets this clinic's {label} credentials. Jobs that need {label} "
        "stop working until it is linked again; nothing is deleted in "
        f"{label} itself, and the records already synced stay here.",
        yes=f"Yes, unlink {label}",
    )


@bp.route("/vaocherapp/rotate-secret", methods=["GET", "POST"])
def rotate_secret() -> Response | tuple[str, int]:
    require(Capability.MANAGE_CONNECTIONS)
    if not confirmed():
        return ask(ROTATE, url_for("connections.index"))
    try:
        secret = rotate_webhook_secret(current_clinic(), current_user)
    except DomainError as error:
        return failed(str(error), url_for("connections.index"))
    # Shown once, in this response only, so it can be pasted into VaocherApp's webhook settings.
    return _page(new_webhook_secret=secret)


@bp.post("/<provider>/check")
def check(provider: str) -> Response:
    require(Capability.MANAGE_CONNECTIONS)
    conn = connection_or_none(current_clinic(), _provider(provider))
    if conn is None or not conn.sealed_secrets:
        abort(404)
    status = check_connection(conn)  # the health is recorded either way, and committed
    label, back = Provider(conn.provider).label, url_for("connections.index")
    if status == ConnectionStatus.OK:
        return done(f"{label} answered: the connection works.", back)
    return done(f"{label}: {conn.last_error}", back, "error")


@bp.post("/check-all")
def check_all() -> Response:
    require(Capability.MANAGE_CONNECTIONS)
    return start_or_show("connections.check")


@bp.route("/<provider>/unlink", methods=["GET", "POST"])
def unlink_view(provider: str) -> Response | tuple[str, int]:
    require(Capability.MANAGE_CONNECTIONS)
    chosen = _provider(provider)
    if not confirmed():
        return ask(unlink_confirmation(chosen), url_for("connections.index"))
    unlink(current_clinic(), current_user, chosen)
    message = f"{Provider(provider).label} unlinked; its credentials are forgotten."
    return done(message, url_for("connections.index"), "info")


@bp.post("/reckon/connect")
def reckon_connect() -> Response:
    require(Capability.MANAGE_CONNECTIONS)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    url, pending = begin_authorization(url_for("oauth.reckon_callback", _external=True))
    session[OAUTH_SESSION_KEY] = {**pending, "clinic": current_clinic().slug}
    return redirect(url, code=303)


@bp.route("/reckon/book", methods=["GET", "POST"])
def reckon_book() -> Response | str | tuple[str, int]:
    require(Capability.MANAGE_CONNECTIONS)
    conn = connection_or_none(current_clinic(), Provider.RECKON)
    if conn is None or not conn.sealed_secrets:
        flash("Connect Reckon first.", "info")
        return redirect(url_for("connections.index"))
    try:
        books = reachable_books(conn)  # a token refresh on the way is saved in its own transaction
    except DomainError as error:
        flash(str(error), "error")
        return redirect(url_for("connections.index"))
    form = BookForm()
    form.book_id.choices = [SelectChoice(b.id, b.name) for b in books]
    if form.validate_on_submit():
        try:
            choose_book(current_clinic(), current_user, conn, form.book_id.data or "")
        except DomainError as error:
            page = "connections/reckon_book.html"
            return form_again(str(error), page, form=form, books=books)
        book = conn.detail("book_name")
        return done(f"Reckon linked to the book “{book}”.", url_for("connections.index"))
    return render_template("connections/reckon_book.html", form=form, books=books)
