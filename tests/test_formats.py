"""Money as stored messages write it: the pages' en_AU format, the same however often asked."""

from __future__ import annotations

from decimal import Decimal

from portal.services.formats import dollars_text, money_text


def test_money_text_in_the_pages_format():
    assert money_text(150000) == "$1,500.00"
    assert money_text(-5000) == "-$50.00"
    assert money_text(0) == "$0.00"
    assert money_text(7) == "$0.07"


def test_money_text_is_the_same_for_an_amount_asked_again_in_any_int_form():
    first = [money_text(c) for c in (12345, -12345, 12345)]
    assert first == ["$123.45", "-$123.45", "$123.45"]
    assert money_text(12345.0) == "$123.45"  # type: ignore[arg-type]


def test_dollars_text():
    assert dollars_text("12.5") == "$12.50"
    assert dollars_text(Decimal("-0.5")) == "-$0.50"
