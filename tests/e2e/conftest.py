"""Browser tests: Debian's Chromium driven by Playwright against a live portal and a real worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any], chromium_path: str):
    """Playwright cannot download browsers here: use Debian's, with its network chatter off."""
    return {
        **browser_type_launch_args,
        "executable_path": chromium_path,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


@pytest.fixture
def portal(live_server: str, demo: dict[str, Any], worker_process: Callable[[], Any]) -> str:
    """A seeded portal with one worker process running."""
    worker_process()
    return live_server


@pytest.fixture
def sign_in(page: Page, portal: str) -> Callable[[str], Page]:
    def _sign_in(email: str) -> Page:
        page.goto(f"{portal}/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill("demo")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_load_state()
        return page

    return _sign_in
