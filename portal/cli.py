"""`flask --app wsgi <command>`: seeding and housekeeping."""

from __future__ import annotations

import click
from flask import Flask, current_app

from .extensions import db


def optimize_database() -> None:
    """SQLite plans well only with statistics (ANALYZE); PostgreSQL's autovacuum keeps its own,
    and an explicit ANALYZE there is harmless."""
    db.session.execute(db.text("ANALYZE"))
    db.session.commit()


def create_admin(email: str, name: str, agency_name: str, base_url: str) -> None:
    """`flask create-admin`: see its help."""
    from .services import DomainError
    from .services.mail import mail_configured
    from .services.onboarding.agencies import create_first_admin
    from .services.onboarding.credentials import password_link, send_setup_link
    from .services.onboarding.links import Purpose, lifetime_words

    try:
        made = create_first_admin(agency_name, email, name)
        link = "" if made.user.has_password else password_link(made.user, Purpose.SETUP, base_url)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    agency, user = made.agency, made.user
    verb = "Created" if made.agency_created else "Found"
    click.echo(f"{verb} the agency {agency.name} (/a/{agency.slug}/).")
    click.echo(f"{user.email} is an admin of it.")
    if not link:
        click.echo("They already have a password: they sign in with it (or reset it).")
        return
    life = lifetime_words(Purpose.SETUP)
    click.echo(f"Their link to set a password (works once, for {life}):\n{link}")
    if mail_configured():
        try:
            send_setup_link(user, agency, link)
        except DomainError as error:
            click.echo(f"The email could not be sent ({error}); give them the link yourself.")
        else:
            click.echo(f"Emailed to {user.email}.")


def register_commands(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Create the demo agencies, clinics and logins (demo mode only; idempotent)."""
        if not current_app.config["DEMO_MODE"]:
            raise click.ClickException("seed-demo runs only in demo mode (PORTAL_MODE=demo).")
        from .demo.seed import seed_demo

        seed_demo()
        db.session.commit()
        click.echo("Demo data ready.")
        if current_app.config["SANDBOX_URL"]:
            from .demo.links import link_demo_clinics

            portal_url = current_app.config["PUBLIC_BASE_URL"] or "http://127.0.0.1:5000"
            linked = link_demo_clinics(portal_url)
            db.session.commit()
            click.echo(f"Linked to the sandbox: {', '.join(linked)}.")

    @app.cli.command("seed-vouchers")
    @click.option("--count", type=click.IntRange(min=0), default=100_000, show_default=True)
    @click.option("--clinic", "slug", default="bondi-physio", show_default=True)
    def seed_vouchers_command(count: int, slug: str) -> None:
        """Give a demo clinic COUNT load-test vouchers in all (demo mode only; a second run adds
        nothing). The sandbox's upstreams do not know these codes."""
        if not current_app.config["DEMO_MODE"]:
            raise click.ClickException("seed-vouchers runs only in demo mode (PORTAL_MODE=demo).")
        from .demo.bulk import seed_bulk_vouchers
        from .models import Clinic
        from .services.problems.state import refresh_state_problems
        from .services.vouchers.figures import forget_figures

        clinic = db.session.scalar(db.select(Clinic).where(Clinic.slug == slug))
        if clinic is None:
            raise click.ClickException(f"No clinic {slug!r}: run `flask seed-demo` first.")
        added = seed_bulk_vouchers(clinic, count)
        refresh_state_problems([clinic])  # e.g. "not in Cliniko" now counts these too
        db.session.commit()
        forget_figures({clinic.id})  # after the commit: the next page view sums the new rows
        optimize_database()  # planner statistics for the bigger tables
        click.echo(f"{clinic.name}: {added} voucher(s) added, {count} load-test vouchers in all.")

    @app.cli.command("create-admin")
    @click.option("--email", required=True, help="The admin's email (they sign in with it).")
    @click.option("--name", required=True, help="The admin's name.")
    @click.option("--agency", "agency_name", required=True, help="The agency (made if new).")
    @click.option("--base-url", default="", help="The portal's address (default PUBLIC_BASE_URL).")
    def create_admin_command(email: str, name: str, agency_name: str, base_url: str) -> None:
        """Make an agency (if new) and its admin, and print a single-use link that sets the
        admin's password (emailed too when MAIL_SERVER is set). Nobody else needs a terminal."""
        create_admin(email, name, agency_name, base_url)

    @app.cli.command("reset-two-step")
    @click.option("--email", required=True, help="The person who lost their authenticator.")
    def reset_two_step_command(email: str) -> None:
        """Turn off a person's two-step sign-in (their device is lost); audited."""
        from .models import User
        from .services.accounts import normalise_email
        from .services.onboarding.totp import reset_totp

        user = db.session.scalar(db.select(User).where(User.email == normalise_email(email)))
        if user is None or not user.uses_totp:
            raise click.ClickException(f"{email} has no two-step sign-in to turn off.")
        reset_totp(user)
        db.session.commit()
        click.echo(f"Two-step sign-in is off for {user.email}; they can turn it on again.")

    @app.cli.command("rotate-encryption-key")
    def rotate_encryption_key_command() -> None:
        """Re-encrypt every stored credential with the first key in ENCRYPTION_KEYS."""
        from .crypto import secret_box
        from .models import Connection, User

        rows = db.session.scalars(
            db.select(Connection).where(Connection.sealed_secrets.is_not(None))
        )
        count = 0
        for conn in rows:
            conn.sealed_secrets = secret_box().rotate(conn.sealed_secrets)
            count += 1
        people = 0
        for user in db.session.scalars(db.select(User).where(User.totp_sealed_secret.is_not(None))):
            user.totp_sealed_secret = secret_box().rotate(user.totp_sealed_secret or "")
            people += 1
        db.session.commit()
        click.echo(f"{count} connection(s) re-encrypted, and {people} two-step secret(s).")

    @app.cli.command("check-connections")
    def check_connections_command() -> None:
        """Queue a connection check for every clinic with linked accounts now (the worker's tick
        also does it, every CONNECTION_CHECK_MINUTES)."""
        from .jobs.connection_checks import CHECK_KIND
        from .jobs.start import start_follow_up
        from .services.connections.records import clinics_with_linked_connections

        clinics = clinics_with_linked_connections()
        for clinic in clinics:
            start_follow_up(clinic, CHECK_KIND.name)  # None: one is going already
        click.echo(f"Queued checks for {len(clinics)} clinic(s).")

    @app.cli.command("optimize-db")
    def optimize_db_command() -> None:
        """Refresh the query planner's statistics (run after big imports, or daily from cron)."""
        optimize_database()
        click.echo("Planner statistics refreshed.")

    @app.cli.command("sweep-runs")
    def sweep_runs_command() -> None:
        """Mark runs whose worker died as interrupted."""
        from .jobs.runs import sweep_stale_runs

        count = sweep_stale_runs()
        db.session.commit()
        click.echo(f"{count} run(s) marked interrupted.")

    @app.cli.command("send-digests")
    def send_digests_command() -> None:
        """Send the alert digests that are due now (and any immediate alerts waiting)."""
        from .services.problems.alerts import send_due_alerts

        if not current_app.config.get("MAIL_SERVER"):
            raise click.ClickException("MAIL_SERVER is not set: nothing can be sent.")
        sent = send_due_alerts()
        click.echo(f"{sent.digests} digest(s) and {sent.immediate} immediate alert(s) sent.")

    @app.cli.command("refresh-problems")
    def refresh_problems_command() -> None:
        """Raise and resolve every clinic's state problems now (the worker does it hourly)."""
        from .models import Clinic
        from .services.problems.state import refresh_state_problems

        clinics = list(db.session.scalars(db.select(Clinic)))
        refresh_state_problems(clinics)
        db.session.commit()
        click.echo(f"State problems refreshed for {len(clinics)} clinic(s).")
