"""A figure with a Chinese unit → the same figure in the other units, as documents write it.

One report says ``4368万元``, the next year's says ``0.4368亿元``; a provincial one writes ``1.2万亿元``
where a city's writes ``12000亿元``. :func:`equivalents` gives the other written forms of one figure,
so a search for one can also find the others:

>>> equivalents("4368万")
('0.4368亿',)
>>> equivalents("0.4368亿元")
('4368万元',)
>>> equivalents("1.2万亿")
('12000亿',)
>>> equivalents("43.68亿元")
('436800万元',)
>>> equivalents("5000亿元")
('0.5万亿元',)
>>> equivalents("1,234.5万吨"), equivalents("４３６８萬人")
(('0.12345亿吨',), ('0.4368亿人',))

A plain count of at least 10,000 with what it counts is also written in 万, and a figure in 万 below
1,000,000 as a plain count (older reports: ``科技成果17900项``, later ones ``1.79万项``):

>>> equivalents("17900项"), equivalents("1.79万项"), equivalents("309800人"), equivalents("1.5万元")
(('1.79万项',), ('17900项',), ('30.98万人',), ('15000元',))

Bare numbers, percentages, years, dates and codes have no other unit:

>>> equivalents("4368"), equivalents("59.5%"), equivalents("2023年"), equivalents("G228"), equivalents("万元")
((), (), (), (), ())
>>> equivalents("20230101日"), equivalents("12345"), equivalents("1234项")
((), (), ())

Arithmetic is exact (:class:`decimal.Decimal`: no ``0.43679999``), trailing zeros are trimmed, and
only forms a document would write are given: a larger unit when the figure is at least 0.1 of it
(``500万`` is not written ``0.05亿``), a smaller one below 1,000,000 of it (``1.2万亿`` is not
written ``120000000万``). The units are 万, 亿 and 万亿 (萬 and 億 read as 万 and 亿); what follows
the unit (元, 美元, 吨, 人次, 千瓦时 …, up to four characters) is kept as it is.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

# unit → its power of ten; longest first, so 万亿 is not read as 万 followed by 亿
UNITS: dict[str, int] = {"万亿": 12, "亿": 8, "万": 4}
_FIGURE = re.compile(r"((?:\d{1,3}(?:,\d{3})+|\d{1,16})(?:\.\d{1,12})?)(万亿|亿|万)([^\W\d_]{0,4})")
# a plain count: at least five digits, then what it counts (not a date, an age, a percentage or a unit word)
_COUNT = re.compile(r"((?:\d{1,3}(?:,\d{3})+|\d{5,16}))((?![年月日号时分秒岁度])[^\W\d_a-zA-Z]{1,4})")
_SMALLEST_LARGER = Decimal("0.1")  # 4368万 → 0.4368亿, but 500万 is not written 0.05亿
_LARGEST_SMALLER = Decimal(10) ** 6  # 43.68亿 → 436800万, but 1.2万亿 is not written 120000000万


def _number(value: Decimal) -> str:
    """``Decimal`` → plain digits: no exponent, no trailing zeros (``1.2E+4`` → ``12000``)."""
    return format(value.normalize(), "f")


def equivalents(text: str) -> tuple[str, ...]:
    """The other written forms of one figure with a 万/亿/万亿 unit; ``()`` for anything else."""
    if not text or len(text) > 48:
        return ()
    normal = unicodedata.normalize("NFKC", text.strip()).replace("萬", "万").replace("億", "亿")
    m = _FIGURE.fullmatch(normal)
    if not m:
        count = _COUNT.fullmatch(normal)
        if not count:
            return ()
        value = Decimal(count.group(1).replace(",", ""))
        if value < 10000 or count.group(2).startswith(tuple(UNITS)):
            return ()
        return (f"{_number(value.scaleb(-4))}万{count.group(2)}",)
    digits, unit, rest = m.groups()
    try:
        value = Decimal(digits.replace(",", ""))
    except InvalidOperation:  # (the pattern admits only numbers; kept for safety)
        return ()
    if not value:
        return ()
    power = UNITS[unit]
    out: list[str] = []
    for other, other_power in UNITS.items():
        if other == unit:
            continue
        converted = value.scaleb(power - other_power)
        if other_power > power and converted < _SMALLEST_LARGER:
            continue
        if other_power < power and converted >= _LARGEST_SMALLER:
            continue
        out.append(f"{_number(converted)}{other}{rest}")
    if unit == "万" and rest:  # 1.79万项 → 17900项, 1.5万元 → 15000元 (with what it counts: never a bare number)
        plain = value.scaleb(4)
        if plain == plain.to_integral_value() and 10000 <= plain < _LARGEST_SMALLER:
            out.append(f"{_number(plain)}{rest}")
    return tuple(out)
