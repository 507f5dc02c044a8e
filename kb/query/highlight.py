"""Passage text + matched terms → an HTML snippet with ``<mark>`` on exactly the matched text.

Matching is done on the folded text (:func:`kb.text.analysis.fold` keeps offsets), so a Traditional
query marks the Simplified passage and ``ＡＢＣ`` marks ``abc``. Everything else is HTML-escaped.

>>> spans = find_spans("全年完成综合交通投资43.68亿元，公路建设投资34.78亿元。", ["交通投资", "43.68", "投资"])
>>> spans
[(6, 15), (22, 24)]
>>> snippet_html("甲。<b>乙</b>交通投资。丙", ["交通投资"])
'甲。&lt;b&gt;乙&lt;/b&gt;<mark>交通投资</mark>。丙'
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape

from kb.text.analysis import fold
from kb.text.ngrams import see_through

SNIPPET_CHARS = 160
_SENTENCE = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+[”’」』)）]?|\n|$)")


def find_spans(text: str, terms: list[str], folded: str | None = None) -> list[tuple[int, int]]:
    """Character spans of every occurrence of every term, both folded, merged where they touch."""
    haystack = folded if folded is not None and len(folded) == len(text) else fold(text)
    spans: list[tuple[int, int]] = []
    for term in _folded_terms(tuple(terms)):
        if len(term) > 1:
            # also found through quotes, brackets or a line break (岭路先锋 in “岭”路先锋), as search finds it
            spans.extend(m.span() for m in see_through(term).finditer(haystack))
        start = haystack.find(term)
        while start != -1:
            spans.append((start, start + len(term)))
            start = haystack.find(term, start + 1)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


@lru_cache(maxsize=512)
def _folded_terms(terms: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(fold(t) for t in terms if t))


def mark_html(text: str, spans: list[tuple[int, int]], offset: int = 0) -> str:
    """Escape ``text`` (which starts at ``offset`` of the spanned string) and wrap the spans."""
    out: list[str] = []
    pos = 0
    for s, e in spans:
        s, e = max(s - offset, 0), min(e - offset, len(text))
        if e <= pos or s >= len(text):
            continue
        s = max(s, pos)
        out.append(escape(text[pos:s], quote=False))
        out.append(f"<mark>{escape(text[s:e], quote=False)}</mark>")
        pos = e
    out.append(escape(text[pos:], quote=False))
    return "".join(out)


def snippet_html(text: str, terms: list[str], limit: int = SNIPPET_CHARS, folded: str | None = None) -> str:
    """The best window of whole sentences (≤ ``limit`` chars) around the matches, marked and escaped;
    ``folded``: the text already folded (the index keeps it), to save folding it again."""
    spans = find_spans(text, terms, folded)
    if len(text) <= limit:
        return mark_html(text, spans)
    start, end = best_window(text, spans, limit)
    html = mark_html(text[start:end], spans, offset=start)
    return ("…" if start > 0 else "") + html + ("…" if end < len(text) else "")


def best_window(text: str, spans: list[tuple[int, int]], limit: int) -> tuple[int, int]:
    """Whole sentences covering the most distinct matches; a long sentence is cut around its first."""
    sentences = [(m.start(), m.end()) for m in _SENTENCE.finditer(text) if m.end() > m.start()]
    if not sentences:
        return 0, min(len(text), limit)
    best, best_score = (sentences[0][0], sentences[0][1]), (-1, 0)
    for i in range(len(sentences)):
        start = sentences[i][0]
        end = sentences[i][1]
        j = i
        while j + 1 < len(sentences) and sentences[j + 1][1] - start <= limit:
            j += 1
            end = sentences[j][1]
        inside = {text[s:e] for s, e in spans if s >= start and e <= end}
        # distinct matched strings, longer ones (the whole term) above their parts, then repeats
        # (ties go to the earlier window)
        score = (sum(len(t) for t in inside) * 10 + sum(1 for s, e in spans if s >= start and e <= end), -i)
        if score > best_score:
            best, best_score = (start, end), score
    start, end = best
    if end - start > limit:  # one sentence longer than the limit: centre on its first match
        first = next((s for s, e in spans if start <= s < end), start)
        start = max(start, min(first - limit // 3, end - limit))
        end = min(end, start + limit)
        # never cut through a mark
        for s, e in spans:
            if s < start < e:
                start = s
            if s < end < e:
                end = e
    return start, end
