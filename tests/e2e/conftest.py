"""Browser tests: Debian's Chromium driven by Playwright against a live portal and a real worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
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


# ---- accessibility: axe-core on every portal page a browser test visits ---------------------
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()
SKIPPED_PATHS = (".csv", "/logout", "/hooks/")


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (every WCAG rule axe knows)."""
    return list(Axe().run(page).response["violations"])


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  {v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in violations
    )


@pytest.fixture(autouse=True)
def _axe_on_every_page(request: pytest.FixtureRequest) -> Any:
    """Every page of the portal a test's browser showed is checked with axe-core when the test
    has passed (as the person signed in at the end, at the size the test used): any violation
    fails the test."""
    if "page" not in request.fixturenames:
        yield
        return
    page: Page = request.getfixturevalue("page")
    origin = request.getfixturevalue("live_server")
    seen: list[str] = []

    def note(frame: Any) -> None:
        url = frame.url.split("#")[0]
        ours = frame == page.main_frame and url.startswith(origin)
        if ours and url not in seen and not any(part in url for part in SKIPPED_PATHS):
            seen.append(url)

    page.on("framenavigated", note)
    yield
    page.remove_listener("framenavigated", note)
    if request.node.stash.get(_FAILED, True):
        return
    found = {}
    for url in seen:
        answer = page.goto(url)
        if answer is None or answer.status >= 400 or not page.url.startswith(origin):
            continue
        page.wait_for_load_state()
        if violations := axe_violations(page):
            found[url] = describe(violations)
    assert not found, "axe-core found violations:\n" + "\n".join(
        f"{url}\n{text}" for url, text in found.items()
    )
