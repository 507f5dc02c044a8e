"""kb/text/figures.py: one figure with a Chinese unit in the other units documents write it in."""

from __future__ import annotations

import doctest
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kb.text.figures
from kb.text.figures import UNITS, equivalents


def test_doctests() -> None:
    result = doctest.testmod(kb.text.figures)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(("text", "forms"), [
    ("4368万", ("0.4368亿",)),
    ("0.4368亿元", ("4368万元",)),
    ("1.2万亿", ("12000亿",)),
    ("43.68亿元", ("436800万元",)),
    ("12000亿元", ("1.2万亿元",)),
    ("5000亿元", ("0.5万亿元",)),
    ("1亿美元", ("10000万美元",)),
    ("3.2亿千瓦时", ("32000万千瓦时",)),
    ("4368.00万元", ("0.4368亿元",)),  # trailing zeros trimmed
    ("1,234.5万吨", ("0.12345亿吨",)),  # thousands separators read
    ("４３６８萬人", ("0.4368亿人",)),  # full-width digits, Traditional unit
    ("43.68億元", ("436800万元",)),
    ("1000万", ("0.1亿",)),  # the smallest figure written in the larger unit
    ("0.05万亿", ("500亿",)),  # not 5000000万
])
def test_equivalents(text: str, forms: tuple[str, ...]) -> None:
    assert equivalents(text) == forms


@pytest.mark.parametrize("text", [
    "4368", "43.68", "59.5%", "3.2‰", "2023年", "2023", "G228", "S1线", "万元", "亿", "",
    "999万",  # not written 0.0999亿
    "0万", "二万", "三千万元", "-5万", "1e5万", "4368,000万", "约4368万",
    "4368万元投资的项目",  # more than a figure and its unit
    "100万亿",  # 1000000亿 is not how documents write it
])
def test_nothing_for_other_text(text: str) -> None:
    assert equivalents(text) == ()


def test_exact_decimal_arithmetic() -> None:
    """No float noise: 0.1 + 0.2-style digits never appear."""
    assert equivalents("0.3亿") == ("3000万",)
    assert equivalents("1.1万") == ()  # below 0.1亿
    assert equivalents("1234.5678万") == ("0.12345678亿",)
    assert equivalents("0.000123万亿") == ("1.23亿", "12300万")


@settings(max_examples=300, deadline=None)
@given(st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("99999"), places=4),
       st.sampled_from(list(UNITS)), st.sampled_from(["", "元", "美元", "吨", "人次"]))
def test_round_trip(value: Decimal, unit: str, suffix: str) -> None:
    """Every form given is the same amount (exactly), in another unit, with no exponent or trailing zero."""
    text = f"{format(value.normalize(), 'f')}{unit}{suffix}"
    amount = value.scaleb(UNITS[unit])
    for form in equivalents(text):
        assert form != text and form.endswith(suffix)
        other = next((u for u in UNITS if form[: len(form) - len(suffix)].endswith(u)), "")  # "": a plain count
        assert other or (suffix and 10000 <= amount < 10 ** 6)
        number = Decimal(form[: len(form) - len(suffix) - len(other)])
        assert number.scaleb(UNITS.get(other, 0)) == amount
        assert "e" not in str(number).lower() and not (("." in str(number)) and str(number).endswith("0"))
        if Decimal("0.1") <= value < Decimal(10) ** 6:  # written either way: the way back is given too
            assert text in equivalents(form)


@pytest.mark.parametrize("text, forms", [
    ("17900项", ("1.79万项",)),
    ("1.79万项", ("17900项",)),
    ("120000人次", ("12万人次",)),
    ("2,500,000吨", ("250万吨",)),
    ("12万元", ("120000元",)),
])
def test_a_plain_count_and_its_form_in_wan(text: str, forms: tuple[str, ...]) -> None:
    assert set(equivalents(text)) >= set(forms)


@pytest.mark.parametrize("text", ["20230101日", "12345", "9999项", "10000年", "50000%", "0.5万项", "1.23456万项"])
def test_no_plain_form_for_dates_bare_numbers_or_small_counts(text: str) -> None:
    assert not any(not any(u in f for u in UNITS) for f in equivalents(text))
