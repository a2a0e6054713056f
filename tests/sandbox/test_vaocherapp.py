"""VaocherApp API emulator (vaocherapp.md §2-§6, §12); assumed parts say so."""

from __future__ import annotations

import threading

import requests

from tests.fixtures.sandbox import SandboxHandle


def _vouchers(sandbox: SandboxHandle, index: int = 0) -> list[dict]:
    base, session = sandbox.vaocherapp(index)
    return session.get(f"{base}/vouchers", params={"per_page": 100}, timeout=10).json()["data"]


def _by_status(sandbox: SandboxHandle, status: str, partly: bool = False) -> dict:
    return next(
        v
        for v in _vouchers(sandbox)
        if v["status"] == status and (not partly or 0 < v["remain_balance"] < v["amount"])
    )


def test_bearer_key_required(sandbox: SandboxHandle) -> None:
    """vaocherapp.md §2: Authorization: Bearer <key>; otherwise 401."""
    base, _ = sandbox.vaocherapp()
    assert requests.get(f"{base}/accounts/my-account", timeout=10).status_code == 401
    bad = requests.get(
        f"{base}/accounts/my-account", headers={"Authorization": "Bearer nope"}, timeout=10
    )
    assert bad.status_code == 401


def test_my_account(sandbox: SandboxHandle) -> None:
    """vaocherapp.md §4: GET /accounts/my-account → {"account": {"id" (uuid), "name", …}}."""
    base, session = sandbox.vaocherapp(1)
    account = session.get(f"{base}/accounts/my-account", timeout=10).json()["account"]
    assert len(account["id"]) == 36
    assert account["name"] == sandbox.clinic(1)["name"]
    assert account["currency"] == "AUD"


def test_voucher_at_top_level_with_documented_fields(sandbox: SandboxHandle) -> None:
    """vaocherapp.md §4-§5: GET /vouchers/{code} returns the voucher object at the top level."""
    base, session = sandbox.vaocherapp()
    code = _by_status(sandbox, "active")["code"]
    voucher = session.get(f"{base}/vouchers/{code}", timeout=10).json()
    assert {"id", "code", "remain_balance", "expiry", "status", "created_at", "updated_at"} <= set(
        voucher
    )
    assert isinstance(voucher["remain_balance"], int)
    assert voucher["code"] == code


def test_unknown_code_is_404(sandbox: SandboxHandle) -> None:
    """vaocherapp.md §12: unknown code → 404."""
    base, session = sandbox.vaocherapp()
    assert session.get(f"{base}/vouchers/NOPE999", timeout=10).status_code == 404
    redeem = session.post(f"{base}/vouchers/NOPE999/redeem", json={"amount": 1}, timeout=10)
    assert redeem.status_code == 404


def test_seed_has_vouchers_in_every_state(sandbox: SandboxHandle) -> None:
    """vaocherapp.md §5: active (full, partly used), redeemed, voided, expired, never-expiring."""
    vouchers = _vouchers(sandbox)
    assert {v["status"] for v in vouchers} == {"active", "redeemed", "voided", "expired"}
    assert any(v["expiry"] is None for v in vouchers)
    assert any(v["status"] == "active" and v["remain_balance"] < v["amount"] for v in vouchers)
    assert any(v["status"] == "active" and v["remain_balance"] == v["amount"] for v in vouchers)


def test_test_mode_selects_separate_data(sandbox: SandboxHandle) -> None:
    """vaocherapp.md §2: x-vaocherapp-test-mode: 1 switches to the account's test data."""
    base, live = sandbox.vaocherapp()
    _, test = sandbox.vaocherapp(test_mode=True)
    live_codes = {v["code"] for v in live.get(f"{base}/vouchers", timeout=10).json()["data"]}
    test_codes = {v["code"] for v in test.get(f"{base}/vouchers", timeout=10).json()["data"]}
    assert test_codes
    assert not live_codes & test_codes
    code = next(iter(test_codes))
    assert live.get(f"{base}/vouchers/{code}", timeout=10).status_code == 404


def test_partial_redeem_takes_amount_and_records_transaction(sandbox: SandboxHandle) -> None:
    """vaocherapp.md §6/§12: partial redemption; each redeem appends a ledger entry."""
    base, session = sandbox.vaocherapp()
    voucher = _by_status(sandbox, "active")
    response = session.post(
        f"{base}/vouchers/{voucher['code']}/redeem",
        json={"amount": 1000, "reason": "Cliniko invoice #1001"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["remain_balance"] == voucher["remain_balance"] - 1000
    ledger = session.get(f"{base}/vouchers/{voucher['code']}/transactions", timeout=10).json()
    assert ledger["data"][-1]["amount"] == 1000
    assert ledger["data"][-1]["reason"] == "Cliniko invoice #1001"


def test_redeem_over_balance_is_422_and_takes_nothing(sandbox: SandboxHandle) -> None:
    """vaocherapp.md §12: amount above the balance → 422, no partial take."""
    base, session = sandbox.vaocherapp()
    voucher = _by_status(sandbox, "active", partly=True)
    response = session.post(
        f"{base}/vouchers/{voucher['code']}/redeem",
        json={"amount": voucher["remain_balance"] + 1},
        timeout=10,
    )
    assert response.status_code == 422
    assert "message" in response.json()
    after = session.get(f"{base}/vouchers/{voucher['code']}", timeout=10).json()
    assert after["remain_balance"] == voucher["remain_balance"]


def test_full_redeem_makes_status_redeemed(sandbox: SandboxHandle) -> None:
    """vaocherapp.md §5 [INFERRED]: a balance of 0 reads as "redeemed"."""
    base, session = sandbox.vaocherapp()
    voucher = _by_status(sandbox, "active")
    body = session.post(
        f"{base}/vouchers/{voucher['code']}/redeem",
        json={"amount": voucher["remain_balance"]},
        timeout=10,
    ).json()
    assert body["remain_balance"] == 0
    assert body["status"] == "redeemed"


def test_voided_and_expired_cannot_be_redeemed(sandbox: SandboxHandle) -> None:
    """vaocherapp.md §12: expired or voided voucher → 422."""
    base, session = sandbox.vaocherapp()
    for status in ("voided", "expired"):
        code = _by_status(sandbox, status)["code"]
        response = session.post(f"{base}/vouchers/{code}/redeem", json={"amount": 1}, timeout=10)
        assert response.status_code == 422


def test_amount_must_be_positive_integer_cents(sandbox: SandboxHandle) -> None:
    """vaocherapp.md §3/§12: amounts are integer cents > 0."""
    base, session = sandbox.vaocherapp()
    code = _by_status(sandbox, "active")["code"]
    for amount in (0, -5, 10.5, "100", None):
        response = session.post(
            f"{base}/vouchers/{code}/redeem", json={"amount": amount}, timeout=10
        )
        assert response.status_code == 422, amount


def test_concurrent_redeems_never_overdraw(sandbox: SandboxHandle) -> None:
    """vaocherapp.md §12: check-and-decrement is atomic; the balance never goes negative."""
    base, _ = sandbox.vaocherapp()
    voucher = _by_status(sandbox, "active")
    slices = voucher["remain_balance"] // 1000
    statuses: list[int] = []

    def hit() -> None:
        _, session = sandbox.vaocherapp()
        url = f"{base}/vouchers/{voucher['code']}/redeem"
        statuses.append(session.post(url, json={"amount": 1000}, timeout=10).status_code)

    threads = [threading.Thread(target=hit) for _ in range(slices + 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(200) == slices
    assert statuses.count(422) == 5
    _, session = sandbox.vaocherapp()
    after = session.get(f"{base}/vouchers/{voucher['code']}", timeout=10).json()
    assert after["remain_balance"] == voucher["remain_balance"] - 1000 * slices >= 0


def test_expiry_follows_the_clock(sandbox: SandboxHandle) -> None:
    """vaocherapp.md §5: a voucher is expired when expiry <= now (clock moved via control plane)."""
    base, session = sandbox.vaocherapp()
    voucher = next(v for v in _vouchers(sandbox) if v["status"] == "active" and v["expiry"])
    requests.post(
        f"{sandbox.url}/_sandbox/clock", json={"advance_seconds": 400 * 86400}, timeout=10
    )
    after = session.get(f"{base}/vouchers/{voucher['code']}", timeout=10).json()
    assert after["status"] == "expired"


def test_list_endpoint_pages_and_filters_updated_since(sandbox: SandboxHandle) -> None:
    """vaocherapp.md §12 [INFERRED list endpoint]: ?page=&per_page=&updated_since= with meta."""
    base, session = sandbox.vaocherapp()
    first = session.get(f"{base}/vouchers", params={"per_page": 4}, timeout=10).json()
    assert first["meta"]["total"] == 10
    assert len(first["data"]) == 4
    assert first["links"]["next"]
    second = session.get(first["links"]["next"], timeout=10).json()
    assert not {v["id"] for v in first["data"]} & {v["id"] for v in second["data"]}
    cutoff = sorted(v["updated_at"] for v in _vouchers(sandbox))[5]
    newer = session.get(f"{base}/vouchers", params={"updated_since": cutoff}, timeout=10).json()
    assert all(v["updated_at"] > cutoff for v in newer["data"])
    assert newer["meta"]["total"] == 4
