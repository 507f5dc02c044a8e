"""Query typos and pinyin → the words the index holds: ``综合交通投姿`` → ``综合交通投资``, ``zhichao`` → ``治超``.

A :class:`Speller` works from an index's vocabulary (word → document frequency, from
:meth:`kb.engine.textindex.TextIndex.vocabulary`); only its *frequent* words (``MIN_DF`` passages or more)
are ever offered, so a typo that happens to occur once in the corpus is not "corrected" into, and
the user dictionary's terms (``一超四罚``), however rare.

- :meth:`Speller.correct`: one character replaced, so that a frequent word appears over it. Only
  characters of the words the vocabulary lacks are tried (jieba's unknown or rare words, and single
  characters, which only a same-sounding character replaces); a replacement that sounds the same
  (toneless pinyin, any reading) beats any other, then the longer word, then the more frequent.
  It is meant for text the index holds no trace of: ``交通运输局`` (交通运输 + 局) would become
  ``交通运输车`` (车 is also read jū), which is why the search code asks only about missing terms.
- :meth:`Speller.from_pinyin`: an all-Latin query read as toneless pinyin, syllable by syllable,
  every reading of every character counting (``yinhang`` finds 银行 though 行 is mostly ``xing``).

Pinyin comes from pypinyin's table of character readings, read as data (``pinyin_dict.json``):
importing pypinyin itself loads its phrase dictionary and segmenter, ~0.4 s, none of which is needed
here. The tables are built on the first call, under a lock, then only read, so one speller serves
every thread. On lawtext-gov (141,690 words, 69,383 of them frequent) they take ~0.13 s and ~17 MB
(the vocabulary itself ~0.1 s and ~15 MB); a call then takes ~0.2 ms (``correct``) or ~1 ms
(``from_pinyin``), at most a few ms whatever the input: text over ``MAX_CHARS`` characters or
``MAX_LATIN`` letters is refused, and the pinyin search stops after ``MAX_STEPS`` prefixes.

>>> s = Speller({"综合": 120, "交通": 900, "投资": 400, "投姿": 1, "治超": 30, "治理": 500,
...              "四好农村路": 12, "农村": 300, "银行": 8, "姿态": 5})
>>> s.correct("综合交通投姿"), s.correct("治钞"), s.correct("四好农村陆")
('综合交通投资', '治超', '四好农村路')
>>> s.correct("综合交通投资") is None, s.correct("asdkjhqwe") is None
(True, True)
>>> s.from_pinyin("zhichao"), s.from_pinyin("Si Hao Nong Cun Lu"), s.from_pinyin("yinhang")
(['治超'], ['四好农村路'], ['银行'])
>>> s.from_pinyin("asdkjhqwe" * 55), s.from_pinyin("治超")
([], [])
"""

from __future__ import annotations

import importlib.util
import json
import re
import threading
import unicodedata
from bisect import bisect_left
from collections.abc import Mapping
from pathlib import Path

from kb.text import analysis

MIN_DF = 3  # a word is offered only when this many passages hold it …
RATIO = 10  # … and this many times as many as hold the words it replaces
MAX_CHARS = 24  # longer text is not corrected (a query term is a few words)
MAX_LATIN = 60  # letters of pinyin read at most
MAX_RESULTS = 3
MAX_CANDIDATES = 6
MAX_PINYIN_WORDS = 2  # pinyin typed without breaks may spell two words: liangshanyinhang → 两山 银行
MAX_STEPS = 4000  # pinyin: prefixes tried at most, whatever the input
_MAX_WORD = 8  # words of the vocabulary are 2–8 characters (user terms aside)
_CJK_CHAR = re.compile(r"[\u3007\u3400-\u9fff\uf900-\ufaff]")
_CJK_WORD = re.compile(r"[\u3007\u3400-\u9fff\uf900-\ufaff]{2,8}")
_LATIN = re.compile(r"[a-z]+")
_SEPARATORS = str.maketrans("", "", " '’-_·\t")


class Speller:
    """Corrections from one vocabulary (word → df); built lazily, safe to share between threads."""

    def __init__(self, vocabulary: Mapping[str, int], min_df: int = MIN_DF) -> None:
        self.vocabulary = vocabulary
        self.min_df = max(1, int(min_df))
        self._lock = threading.Lock()
        self._tables: _Tables | None = None

    def tables(self) -> _Tables:
        """The lookup tables, built on first use."""
        tables = self._tables
        if tables is None:
            with self._lock:
                tables = self._tables
                if tables is None:
                    tables = self._tables = _Tables(self.vocabulary, self.min_df)
        return tables

    def correct(self, text: str) -> str | None:
        """``text`` (folded) with one character replaced so that a frequent word covers it, or ``None``.
        The first of :meth:`candidates`."""
        found = self.candidates(text, limit=1)
        return found[0] if found else None

    def candidates(self, text: str, limit: int = MAX_CANDIDATES, rare: bool = False) -> list[str]:
        """``text`` (folded) with one character replaced so that a frequent word covers it, best first
        (at most ``limit``); ``rare``: words held by fewer than ``MIN_DF`` passages are offered too,
        when they sound the same, after the frequent ones (at most ``limit`` more), for the caller to
        check against the other words of the query: ``渠宁铁路`` → ``衢宁铁路``, a name one passage holds.

        >>> Speller({"改革": 90, "改造": 40, "住房": 50}).candidates("住房改照")
        ['住房改革', '住房改造']

        Only characters of the words jieba finds that the vocabulary does not hold (or holds rarely)
        are replaced, and a character jieba leaves as a word of its own (``四好农村陆`` → ``陆``) only
        by a same-sounding one. The new word must be held by ``MIN_DF`` passages (or be a user
        dictionary term), and ``RATIO`` times as many as the text it replaces. A same-sounding
        replacement is preferred, then the longer word (``千再难逢`` → ``千载难逢``, not ``千灾难逢``),
        then the more frequent.
        """
        if not text or len(text) > MAX_CHARS or not _CJK_CHAR.search(text):
            return []
        t = self.tables()
        vocab = self.vocabulary
        suspects = [(i, len(tok.text) == 1) for tok in analysis.words(text, folded=True)
                    if _CJK_CHAR.search(tok.text) and (len(tok.text) == 1 or not t.frequent(tok.text))
                    for i in range(tok.start, tok.end) if _CJK_CHAR.fullmatch(text[i])]
        ranked: dict[str, tuple[bool, bool, int, int]] = {}
        for i, alone in suspects:
            sounds = t.readings(text[i])
            for a in range(max(0, i - _MAX_WORD + 1), i + 1):
                for b in range(max(i + 1, a + 2), min(len(text), a + _MAX_WORD) + 1):
                    window = text[a:b]
                    if not _CJK_WORD.fullmatch(window):
                        break  # a longer window holds the same non-CJK character
                    floor = max(1, RATIO * vocab.get(window, 0))
                    j = i - a
                    for word in t.matches(window, j, rare):
                        same = not sounds.isdisjoint(t.readings(word[j]))
                        if alone and not same:
                            continue
                        df = t.df[word]
                        frequent = df >= floor and t.frequent(word)
                        if not frequent and not (rare and same and df > vocab.get(window, 0)):
                            continue
                        rank = (frequent, same, b - a, df)
                        fixed = text[:i] + word[j] + text[i + 1:]
                        if rank > ranked.get(fixed, (False, False, 0, 0)):
                            ranked[fixed] = rank
        best = sorted(ranked, key=lambda f: ranked[f], reverse=True)
        return [f for f in best if ranked[f][0]][:limit] + [f for f in best if not ranked[f][0]][:limit]

    def from_pinyin(self, latin: str) -> list[str]:
        """Frequent words whose toneless pinyin, syllables joined, is ``latin`` (spaces, apostrophes
        and case ignored; ``v`` or ``u`` for ``ü``), most frequent first, at most ``MAX_RESULTS``;
        when no one word spells it, two words (space-separated) that do.

        >>> Speller({"两山": 9, "银行": 30, "山银": 3}).from_pinyin("liangshanyinhang")
        ['两山 银行']
        """
        s = latin.lower().translate(_SEPARATORS)
        if not s or len(s) > MAX_LATIN or not _LATIN.fullmatch(s):
            return []
        t = self.tables()
        words, n = t.words, len(s)
        found: dict[str, tuple[int, int]] = {}  # words joined by spaces → (how many, least df)
        steps = 0
        stack: list[tuple[int, str, tuple[str, ...]]] = [(0, "", ())]
        while stack and steps < MAX_STEPS:
            pos, prefix, done = stack.pop()
            if pos == n:
                if len(prefix) > 1 and t.frequent(prefix):
                    key = " ".join((*done, prefix))
                    found[key] = (len(done) + 1, min(t.df[w] for w in (*done, prefix)))
                continue
            if len(prefix) > 1 and len(done) < MAX_PINYIN_WORDS - 1 and t.frequent(prefix):
                stack.append((pos, "", (*done, prefix)))  # a word ends here; another may follow
            for end in range(pos + 1, min(n, pos + _MAX_SYLLABLE) + 1):
                chars = t.by_syllable.get(s[pos:end])
                if not chars:
                    continue
                for ch in chars:
                    steps += 1
                    candidate = prefix + ch
                    k = bisect_left(words, candidate)
                    if k < len(words) and words[k].startswith(candidate):
                        stack.append((end, candidate, done))
        return sorted(found, key=lambda w: (found[w][0], -found[w][1], w))[:MAX_RESULTS]


_MAX_SYLLABLE = 6  # zhuang, shuang, chuang


class _Tables:
    """What the speller looks up, over the frequent words only (2–8 characters, ``min_df`` passages):

    - ``df``: word → document frequency;
    - ``forward[n]``, ``backward[n]``: the words of ``n`` characters sorted, and sorted reversed
      (the words one character away from a window share its start or its end);
    - ``words``: all of them sorted (a prefix search, for pinyin);
    - ``by_syllable``: toneless syllable → the characters of frequent words read so.
    """

    def __init__(self, vocabulary: Mapping[str, int], min_df: int) -> None:
        # (a vocabulary's words are CJK but for user-dictionary terms, which no CJK window matches);
        # a user-dictionary term is offered however rare: staff listed it
        self.user = user = analysis.user_words()
        self.df = {w: df for w, df in vocabulary.items() if 1 < len(w) <= _MAX_WORD}
        self.words = sorted(w for w, df in self.df.items() if df >= min_df or w in user)
        self.min_df = min_df
        self.forward: list[list[str]] = [[] for _ in range(_MAX_WORD + 1)]
        self.forward_all: list[list[str]] = [[] for _ in range(_MAX_WORD + 1)]
        for word in sorted(self.df):
            self.forward_all[len(word)].append(word)
        for word in self.words:
            self.forward[len(word)].append(word)
        self.backward = [sorted(w[::-1] for w in words) for words in self.forward]
        self.backward_all = [sorted(w[::-1] for w in words) for words in self.forward_all]
        self._readings = _pinyin_table()
        self._cache: dict[str, frozenset[str]] = {}
        by_syllable: dict[str, list[str]] = {}
        for ch in dict.fromkeys("".join(self.words)):
            for syllable in self.readings(ch):
                by_syllable.setdefault(syllable, []).append(ch)
        self.by_syllable = by_syllable

    def frequent(self, word: str) -> bool:
        """Held by ``min_df`` passages or more, or a user-dictionary term."""
        return self.df.get(word, 0) >= self.min_df or (word in self.user and word in self.df)

    def matches(self, window: str, j: int, rare: bool = False) -> list[str]:
        """Frequent words (``rare``: any words) of ``len(window)`` characters that differ from
        ``window`` at ``j`` only."""
        n = len(window)
        if n > _MAX_WORD:
            return []
        head, tail = window[:j], window[j + 1:]
        if len(head) >= len(tail):
            found = _starting((self.forward_all if rare else self.forward)[n], head)
            return [w for w in found if w.endswith(tail) and w[j] != window[j]]
        found = _starting((self.backward_all if rare else self.backward)[n], tail[::-1])
        return [w[::-1] for w in found if w.endswith(head[::-1]) and w[n - 1 - j] != window[j]]

    def readings(self, ch: str) -> frozenset[str]:
        """Toneless readings of one character (``绿`` → ``lv``, ``lu``); empty when pypinyin has none."""
        cached = self._cache.get(ch)
        if cached is None:
            raw = self._readings.get(str(ord(ch)), "") if len(ch) == 1 else ""
            cached = frozenset(r for reading in raw.split(",") if reading for r in _toneless(reading))
            if len(self._cache) < 65536:
                self._cache[ch] = cached
        return cached


def _starting(words: list[str], prefix: str) -> list[str]:
    """The words of a sorted list that start with ``prefix``."""
    lo = bisect_left(words, prefix)
    return words[lo:bisect_left(words, prefix + "\U0010ffff", lo)]


_TONE_MARKS = str.maketrans({**{c: "a" for c in "āáǎà"}, **{c: "e" for c in "ēéěèê"}, **{c: "i" for c in "īíǐì"},
                             **{c: "o" for c in "ōóǒò"}, **{c: "u" for c in "ūúǔù"}, **{c: "v" for c in "üǖǘǚǜ"},
                             **{c: "n" for c in "ńňǹ"}, "ḿ": "m"})


def _toneless(reading: str) -> tuple[str, ...]:
    """``lǜ`` → ``('lv', 'lu')``; ``zhì`` → ``('zhi',)``."""
    plain = reading.translate(_TONE_MARKS).lower()
    if not _LATIN.fullmatch(plain):  # a rarer mark: decompose, drop the marks
        plain = unicodedata.normalize("NFD", reading).replace("u\u0308", "v")
        plain = "".join(c for c in plain if not unicodedata.combining(c)).lower()
    if not _LATIN.fullmatch(plain):
        return ()
    return (plain, plain.replace("v", "u")) if "v" in plain else (plain,)


_pinyin_lock = threading.Lock()
_pinyin: dict[str, str] | None = None


def _pinyin_table() -> dict[str, str]:
    """pypinyin's readings, code point (decimal, as text) → ``"zhì,shì"``, read once per process."""
    global _pinyin
    with _pinyin_lock:
        if _pinyin is None:
            _pinyin = _load_pinyin()
        return _pinyin


def _load_pinyin() -> dict[str, str]:
    spec = importlib.util.find_spec("pypinyin")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "pinyin_dict.json"
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8"))
    from pypinyin.pinyin_dict import pinyin_dict  # another layout: the module (slower to import)

    return {str(k): v for k, v in pinyin_dict.items()}
