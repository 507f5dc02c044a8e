"""A document's place → the words a query may use for it, and a query's words → the places they name.

Shared by the build (filed as title words of every passage) and the query path (a place the query
names prefers that place's documents), so it imports nothing of either.

>>> short_place("内蒙古自治区"), short_place("黔南布依族苗族自治州"), short_place("成都市"), short_place("国务院")
('内蒙古', '黔南', '成都', '')
>>> place_words("山东省"), place_words("国家统计局"), place_words("")
(('山东省', '山东'), ('国家统计局', '全国', '中国'), ())
"""

from __future__ import annotations

import re

_ETHNIC = ("蒙古|回|藏|维吾尔|苗|彝|壮|布依|朝鲜|满|侗|瑶|白|土家|哈尼|哈萨克|傣|黎|傈僳|佤|畲|拉祜|水|东乡|纳西|景颇"
           "|柯尔克孜|土|达斡尔|仫佬|羌|布朗|撒拉|毛南|仡佬|锡伯|阿昌|普米|塔吉克|怒|乌孜别克|俄罗斯|鄂温克|德昂|保安"
           "|裕固|京|塔塔尔|独龙|鄂伦春|赫哲|门巴|珞巴|基诺")
_SHORT = re.compile(rf"^(.{{2,}}?)(?:(?:(?:{_ETHNIC})族?)*自治(?:区|州|县|旗)|特别行政区|地区|省|市|盟|州|县|区|旗)$")

NATIONAL = ("国务院", "国家统计局")  # issuers whose documents are about the whole country
NATIONAL_WORDS = ("全国", "中国")  # how a query names the country: "2022年 全国粮食产量"


def short_place(place: str) -> str:
    """A place without its level and peoples: what people type (``山东`` for ``山东省``); ``""`` for an issuer."""
    m = _SHORT.match(place)
    return m.group(1) if m and not place.startswith(("国务院", "国家")) else ""


def place_words(place: str) -> tuple[str, ...]:
    """The place itself and what a query may call it: the short form (``山东`` for ``山东省``), or
    ``全国``/``中国`` for a national issuer, whose reports and communiqués rarely say so."""
    if not place:
        return ()
    if place in NATIONAL:
        return (place, *NATIONAL_WORDS)
    short = short_place(place)
    return (place, short) if short else (place,)
