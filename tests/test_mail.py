"""Mail through a real SMTP server (aiosmtpd on a free port), and the demo's "Sent emails" page."""

from __future__ import annotations

import pytest

from portal.services.mail import MailNotConfigured, send_message


def test_send_message_delivers_text_and_html(app, mailbox):
    send_message("dana@example.com", "Hello", "Plain words", html="<p>Rich words</p>")
    [message] = mailbox.wait_for(1)
    assert message.to == ["dana@example.com"]
    assert message.subject == "Hello"
    assert message.text.strip() == "Plain words"
    assert "<p>Rich words</p>" in message.html
    assert "Clinic Portal" in message.sender


def test_without_a_mail_server_nothing_is_sent(app, mailbox, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    with pytest.raises(MailNotConfigured):
        send_message("dana@example.com", "Hello", "Plain words")
    assert mailbox.messages() == []


def test_sent_emails_page_shows_mail_to_you_and_your_agency(demo, login, client, post, mailbox):
    send_message("staff@example.com", "For the staff member", "Harbour business")
    send_message("other@example.com", "For Northside", "Northside business")
    mailbox.wait_for(2)
    login("demo@example.com")  # admin of Harbour: sees mail to Harbour's people
    page = client.get("/demo/sent-emails/").get_data(as_text=True)
    assert "For the staff member" in page
    assert "For Northside" not in page
    post("/logout")
    login("other@example.com")
    page = client.get("/demo/sent-emails/").get_data(as_text=True)
    assert "For Northside" in page
    assert "For the staff member" not in page


def test_sent_emails_page_is_demo_only(app, demo, login, client, monkeypatch):
    login("demo@example.com")
    monkeypatch.setitem(app.config, "DEMO_MODE", False)
    assert client.get("/demo/sent-emails/").status_code == 404


def test_sent_emails_page_shows_invitations_an_admin_sent(demo, login, client, post, mailbox):
    login("demo@example.com")
    coogee = demo["clinics"]["coogee-podiatry"]
    post(
        "/a/harbour/users/new",
        {
            "name": "Casey",
            "email": "casey@clinic.example",
            "role": "viewer",
            "clinics": [coogee.id],
        },
    )
    mailbox.wait_for(1)
    page = client.get("/demo/sent-emails/").get_data(as_text=True)
    assert "invited you to Harbour Health Partners" in page
