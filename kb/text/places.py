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


# province-level names: a provincial report says "我代表省人民政府" and "全省" but names itself only in passing
_PROVINCES = {
    "北京": "北京市", "天津": "天津市", "河北": "河北省", "山西": "山西省", "内蒙古": "内蒙古自治区", "辽宁": "辽宁省",
    "吉林": "吉林省", "黑龙江": "黑龙江省", "上海": "上海市", "江苏": "江苏省", "浙江": "浙江省", "安徽": "安徽省",
    "福建": "福建省", "江西": "江西省", "山东": "山东省", "河南": "河南省", "湖北": "湖北省", "湖南": "湖南省",
    "广东": "广东省", "广西": "广西壮族自治区", "海南": "海南省", "重庆": "重庆市", "四川": "四川省", "贵州": "贵州省",
    "云南": "云南省", "西藏": "西藏自治区", "陕西": "陕西省", "甘肃": "甘肃省", "青海": "青海省",
    "宁夏": "宁夏回族自治区", "新疆": "新疆维吾尔自治区",
}
_PROVINCIAL = re.compile(r"代表(?:省|自治区)人民政府|全省|全区")


def _dominant_province(text: str) -> str:
    """The province a provincial report is about: the one it names most, and far more than any other."""
    if not _PROVINCIAL.search(text):
        return ""
    counts = sorted(((text.count(short), full) for short, full in _PROVINCES.items()), reverse=True)
    (top, full), (second, _) = counts[0], counts[1]
    return full if top >= 5 and top >= 2 * second else ""
