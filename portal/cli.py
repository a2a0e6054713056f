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

    @app.cli.command("rotate-encryption-key")
    def rotate_encryption_key_command() -> None:
        """Re-encrypt every stored credential with the first key in ENCRYPTION_KEYS."""
        from .crypto import secret_box
        from .models import Connection

        rows = db.session.scalars(
            db.select(Connection).where(Connection.sealed_secrets.is_not(None))
        )
        count = 0
        for conn in rows:
            conn.sealed_secrets = secret_box().rotate(conn.sealed_secrets)
            count += 1
        db.session.commit()
        click.echo(f"{count} connection(s) re-encrypted with the newest key.")

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
