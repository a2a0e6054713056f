"""Flow (b) of the agency command centre, in the browser against a live portal: an agency admin
invites a person → the person accepts from the email (read from the test SMTP server) and chooses
a password → signs in → changes the password on their account page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.onboarding_helpers import GOOD_PASSWORD, OTHER_PASSWORD, link_in_mail

pytestmark = pytest.mark.e2e
EMAIL = "casey@clinic.example"


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()


def _sign_in(page: Page, portal: str, email: str, password: str) -> None:
    page.goto(f"{portal}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_invite_accept_from_the_email_sign_in_and_change_the_password(
    page: Page, portal, sign_in, mailbox
):
    # The admin invites Casey as Coogee's manager: no password is asked for.
    sign_in("demo@example.com")
    page.goto(f"{portal}/a/harbour/users")
    page.get_by_role("link", name="Add a person").click()
    expect(page.get_by_label("Password")).to_have_count(0)
    page.get_by_label("Name").fill("Casey New")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Role").select_option("clinic_manager")
    page.get_by_label("Coogee Podiatry").check()
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text(f"Invitation sent to {EMAIL}.")).to_be_visible()
    expect(page.locator("#invitations + table")).to_contain_text(EMAIL)
    _sign_out(page)

    # Casey opens the link in the email and chooses a password: signed in at once.
    link = link_in_mail(mailbox, EMAIL)
    assert link.startswith(portal)  # the address the admin used
    page.goto(link)
    expect(page.get_by_role("heading", name="Join Harbour Health Partners")).to_be_visible()
    expect(page.get_by_label("Your name")).to_have_value("Casey New")
    page.get_by_label("Choose a password").fill("password123")
    page.get_by_label("The password again").fill("password123")
    page.get_by_role("button", name="Join Harbour Health Partners").click()
    expect(page.get_by_text("Use at least 12 characters")).to_be_visible()
    page.get_by_label("Choose a password").fill(GOOD_PASSWORD)
    page.get_by_label("The password again").fill(GOOD_PASSWORD)
    page.get_by_role("button", name="Join Harbour Health Partners").click()
    expect(page.get_by_text("Welcome to Harbour Health Partners, Casey New.")).to_be_visible()
    expect(page).to_have_url(f"{portal}/c/coogee-podiatry/")
    _sign_out(page)

    # The link worked once.
    page.goto(link)
    expect(page.get_by_text("already accepted")).to_be_visible()

    # Casey signs in with that password, then changes it on the account page.
    _sign_in(page, portal, EMAIL, GOOD_PASSWORD)
    expect(page).to_have_url(f"{portal}/c/coogee-podiatry/")
    page.get_by_role("link", name="Casey New").click()
    page.get_by_label("Current password").fill(GOOD_PASSWORD)
    page.get_by_label("New password", exact=True).fill(OTHER_PASSWORD)
    page.get_by_label("New password again").fill(OTHER_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password is changed.")).to_be_visible()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()  # still signed in
    _sign_out(page)

    _sign_in(page, portal, EMAIL, GOOD_PASSWORD)
    expect(page.get_by_text("do not match an active account")).to_be_visible()
    _sign_in(page, portal, EMAIL, OTHER_PASSWORD)
    expect(page).to_have_url(f"{portal}/c/coogee-podiatry/")
