"""`flask --app wsgi <command>`: seeding and housekeeping."""

from __future__ import annotations

import click
from flask import Flask, current_app

from .extensions import db


def register_commands(app: Flask) -> None:
    @app.cli.command("seed-demo")
    def seed_demo_command() -> None:
        """Create the demo agencies, clinics and logins (demo mode only; idempotent)."""
        if not current_app.config["DEMO_MODE"]:
            raise click.ClickException("seed-demo runs only in demo mode (PORTAL_MODE=demo).")
        from .services.demo import seed_demo

        seed_demo()
        db.session.commit()
        click.echo("Demo data ready.")

    @app.cli.command("sweep-runs")
    def sweep_runs_command() -> None:
        """Mark runs whose worker died as interrupted."""
        from .services.runs import sweep_stale_runs

        count = sweep_stale_runs()
        db.session.commit()
        click.echo(f"{count} run(s) marked interrupted.")
