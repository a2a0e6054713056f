"""The VaocherApp client against the sandbox, including redeems that must never repeat."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from portal.clients.errors import AuthError, NotFound, OutcomeUnknown, ValidationError
from portal.clients.vaocherapp import VaocherAppClient, voucher_url
from tests.clients.conftest import FAST


@pytest.fixture
def make_client(sandbox, clinic, closing):
    def make(**kw) -> VaocherAppClient:
        key = kw.pop("api_key", clinic["vaocherapp"]["api_key"])
        url = f"{sandbox.url}/vaocherapp/v1"
        return closing(VaocherAppClient(key, base_url=url, **{"options": FAST, **kw}))

    return make


@pytest.fixture
def vaocher(make_client):
    return make_client()


@pytest.fixture
def buy(control, clinic):
    """Sell a voucher through the sandbox's shop; returns its code."""

    def purchase(value: int = 10000, **extra) -> str:
        body = {
            "api_key": clinic["vaocherapp"]["api_key"],
            "value": value,
            "purchaser_name": "Pat Buyer",
            "purchaser_email": "pat@example.com",
            **extra,
        }
        return str(control.post("vaocherapp/purchase", body)["code"])

    return purchase


def redeem_posts(control) -> list[dict]:
    return [r for r in control.requests("vaocherapp") if r["path"].endswith("/redeem")]


def test_deep_link_encodes_the_code():
    assert voucher_url("FTF365") == "https://vaocher.app/o?c=FTF365"
    assert voucher_url(" A/B C&D ") == "https://vaocher.app/o?c=A%2FB%20C%26D"


def test_account(vaocher, clinic):
    account = vaocher.get_account()
    assert account.name == clinic["name"]
    assert len(account.id) == 36
    assert account.currency


def test_a_bad_key_is_an_auth_error_without_the_key(make_client):
    with pytest.raises(AuthError) as info:
        make_client(api_key="va_wrong").get_account()
    assert info.value.status == 401
    assert "va_wrong" not in str(info.value)


def test_get_voucher_reads_cents_and_dates(vaocher, buy):
    code = buy(12345)
    voucher = vaocher.get_voucher(code)
    assert voucher.code == code
    assert voucher.remain_balance == 12345
    assert voucher.original_value == 12345
    assert voucher.purchaser_email == "pat@example.com"
    assert voucher.is_redeemable(datetime.now(UTC))
    with pytest.raises(NotFound):
        vaocher.get_voucher("NO-SUCH-CODE")


def test_partial_redeem_then_over_balance_is_refused(vaocher, buy):
    code = buy(5000)
    done = vaocher.redeem_voucher(code, 2000, "Cliniko invoice #1001 item 7")
    assert done.remain_balance == 3000
    assert vaocher.get_voucher(code).remain_balance == 3000
    with pytest.raises(ValidationError) as info:
        vaocher.redeem_voucher(code, 3001, "too much")
    assert "amount" in info.value.fields
    assert vaocher.get_voucher(code).remain_balance == 3000


@pytest.mark.parametrize("amount", [0, -5, 12.5, True])
def test_redeem_refuses_non_cent_amounts_before_calling(vaocher, amount, control):
    with pytest.raises(ValueError, match="cents"):
        vaocher.redeem_voucher("ANY", amount, "x")
    assert redeem_posts(control) == []


def test_test_mode_is_a_separate_world(make_client, buy):
    code = buy(1000, test_mode=True)
    with pytest.raises(NotFound):
        make_client().get_voucher(code)
    assert make_client(test_mode=True).get_voucher(code).remain_balance == 1000


def test_iter_vouchers_pages_and_filters_by_update(make_client, big_world, buy, control):
    vaocher = make_client(api_key=big_world["vaocherapp"]["api_key"])
    everything = list(vaocher.iter_vouchers())
    assert len(everything) == len({v.id for v in everything}) > 100
    pages = [r for r in control.requests("vaocherapp") if r["path"].endswith("/vouchers")]
    assert len(pages) == -(-len(everything) // 100)
    since = max(v.updated_at for v in everything if v.updated_at) + timedelta(milliseconds=1)
    code = buy(700)
    assert [v.code for v in vaocher.iter_vouchers(updated_since=since)] == [code]


def test_codes_with_odd_characters_stay_one_path_segment(vaocher, buy):
    code = buy(900, code="GIFT 25/A?")
    assert vaocher.get_voucher(code).code == code


# ---- a redeem is never repeated ----------------------------------------------------------------


def test_a_5xx_on_redeem_is_outcome_unknown_and_not_repeated(vaocher, buy, control):
    code = buy(5000)
    control.faults("vaocherapp", error_rate=1.0, error_statuses=[502])
    with pytest.raises(OutcomeUnknown) as info:
        vaocher.redeem_voucher(code, 1000, "invoice 1")
    assert "balance" in str(info.value)
    assert [r["status"] for r in redeem_posts(control)] == [502]


def test_a_timeout_on_redeem_is_outcome_unknown_even_though_it_landed(make_client, buy, control):
    code = buy(5000)
    control.faults("vaocherapp", hang_rate=1.0, hang_seconds=0.5)
    client = make_client(options=replace(FAST, read_timeout=0.2))
    with pytest.raises(OutcomeUnknown):
        client.redeem_voucher(code, 1000, "invoice 2")
    time.sleep(0.7)  # the hung request finishes server-side after we gave up
    control.clear_faults()
    assert len(redeem_posts(control)) == 1
    # Exactly why the caller must look before retrying: the redeem happened.
    assert client.get_voucher(code).remain_balance == 4000


def test_a_dropped_connection_on_redeem_is_outcome_unknown(vaocher, buy, control):
    code = buy(5000)
    control.faults("vaocherapp", drop_rate=1.0)
    with pytest.raises(OutcomeUnknown):
        vaocher.redeem_voucher(code, 1000, "invoice 3")
    assert len(redeem_posts(control)) == 1


def test_a_429_on_redeem_is_retried_because_nothing_happened(vaocher, buy, control):
    """429 is the one failure that proves the redeem was not applied, so waiting and resending
    is safe; the balance drops exactly once."""
    code = buy(5000)
    control.faults("vaocherapp", burst_429=1)
    done = vaocher.redeem_voucher(code, 1000, "invoice 4")
    assert [r["status"] for r in redeem_posts(control)] == [429, 200]
    assert done.remain_balance == 4000
    assert vaocher.get_voucher(code).remain_balance == 4000


def test_reads_are_retried_through_faults(make_client, buy, control):
    code = buy(5000)
    control.faults("vaocherapp", error_rate=0.5, drop_rate=0.2)
    client = make_client(options=replace(FAST, retries=6))
    for _ in range(3):
        assert client.get_voucher(code).remain_balance == 5000
